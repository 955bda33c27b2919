// Veil audit review page. Talks only to /ui/api on this origin; renders with DOM APIs
// (textContent, never innerHTML) and hand-written SVG charts. No libraries.
"use strict";

(function () {
  const API = "/ui/api";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#2f5fd0", "#d0632f", "#1f8a4c", "#8e44ad", "#c0392b", "#16a085", "#b7791f", "#7f8c8d",
    "#2c3e50", "#e84393", "#00a8ff", "#6ab04c", "#a0522d", "#5f27cd", "#ff9f43", "#10ac84", "#576574"];
  const OUTCOME_COLORS = { ok: "#1f8a4c", upstream_error: "#d0632f", refused: "#c0392b", blocked: "#8e44ad",
    cancelled: "#b7791f", error: "#2c3e50" };

  const state = { filters: {}, offset: 0, limit: 50, total: 0, labels: [] };
  const $ = (sel) => document.querySelector(sel);

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  async function api(path, options) {
    const resp = await fetch(API + path, Object.assign({ credentials: "same-origin", cache: "no-store" }, options || {}));
    let body = null;
    try { body = await resp.json(); } catch (_) { body = null; }
    if (!resp.ok) {
      const msg = body && body.error ? body.error.message : "HTTP " + resp.status;
      throw new Error(msg);
    }
    return body;
  }

  function params(extra) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(state.filters)) if (v) p.append(k, v);
    for (const [k, v] of Object.entries(extra || {})) p.append(k, String(v));
    return p.toString();
  }

  function labelColor(label) {
    const i = state.labels.indexOf(label);
    return PALETTE[(i < 0 ? label.length : i) % PALETTE.length];
  }

  function fmtMs(v) {
    if (v === null || v === undefined) return "-";
    return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  function showError(msg) {
    const e = $("#filter-error");
    e.textContent = msg || "";
    e.hidden = !msg;
  }

  // ---- filters -----------------------------------------------------------------------

  function fillSelect(name, values) {
    const sel = document.querySelector(`#filters select[name=${name}]`);
    const keep = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const v of values) sel.append(el("option", { value: v }, v));
    sel.value = keep;
  }

  async function loadMeta() {
    const m = await api("/meta");
    state.labels = m.labels;
    fillSelect("label", m.labels);
    fillSelect("outcome", m.outcomes);
    fillSelect("provider", m.providers);
    fillSelect("model", m.models);
    fillSelect("key", m.keys);
    $("#log-info").textContent = `${m.audit_path} · ${m.records} records in ${m.files} file${m.files === 1 ? "" : "s"}`;
  }

  function readFilters() {
    const f = {};
    for (const input of document.querySelectorAll("#filters input, #filters select")) {
      if (input.name && input.value.trim()) f[input.name] = input.value.trim();
    }
    return f;
  }

  // ---- table -------------------------------------------------------------------------

  function entityChips(entities) {
    const td = el("td", { class: "entities" });
    const labels = Object.keys(entities || {});
    if (!labels.length) td.append("-");
    for (const label of labels) {
      const actions = Object.entries(entities[label]).filter(([, n]) => n > 0).map(([a, n]) => `${a} ${n}`);
      if (actions.length) td.append(el("span", { class: "chip", title: `${label}: ${actions.join(", ")}` }, `${label} ${actions.join("/")}`));
    }
    return td;
  }

  async function loadRecords() {
    const page = await api("/records?" + params({ offset: state.offset, limit: state.limit }));
    state.total = page.total;
    const body = $("#records tbody");
    body.replaceChildren();
    for (const r of page.records) {
      const l = r.latency_ms;
      const open = el("button", { type: "button", class: "open-detail", "data-seq": r.seq }, "details");
      open.addEventListener("click", () => showDetail(r.seq));
      const tr = el("tr", { class: "record outcome-" + r.outcome, "data-seq": r.seq },
        el("td", { class: "num" }, r.seq),
        el("td", {}, r.time),
        el("td", {}, r.key_id || "-"),
        el("td", {}, r.provider || "-"),
        el("td", {}, r.model || "-"),
        el("td", {}, r.route),
        el("td", {}, r.stream ? "yes" : "no"),
        el("td", { class: "outcome" }, r.outcome + (r.error_kind ? ` (${r.error_kind})` : "")),
        el("td", { class: "num" }, r.status),
        entityChips(r.entities),
        el("td", { class: "num" }, `${fmtMs(l.mask)} · ${fmtMs(l.upstream)} · ${fmtMs(l.restore)} · ${fmtMs(l.total)}`),
        el("td", {}, open));
      body.append(tr);
    }
    if (!page.records.length) body.append(el("tr", { class: "empty" }, el("td", { colSpan: 12 }, "no records match")));
    const first = page.records.length ? state.offset + 1 : 0;
    $("#page-info").textContent = `${first}–${state.offset + page.records.length} of ${page.total}`;
    $("#prev").disabled = state.offset === 0;
    $("#next").disabled = state.offset + page.records.length >= page.total;
  }

  // ---- detail ------------------------------------------------------------------------

  function fillDl(dl, pairs) {
    dl.replaceChildren();
    for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", {}, v === null || v === undefined || v === "" ? "-" : v));
  }

  async function showDetail(seq) {
    const d = await api("/records/" + encodeURIComponent(seq));
    const r = d.record;
    for (const tr of document.querySelectorAll("#records tr.selected")) tr.classList.remove("selected");
    const row = document.querySelector(`#records tr[data-seq="${seq}"]`);
    if (row) row.classList.add("selected");
    $("#detail-seq").textContent = "#" + d.seq;
    fillDl($("#detail-fields"), [
      ["time", r.time], ["request id", r.request_id], ["key", r.key_id], ["route", r.route], ["client api", r.client_api],
      ["provider", r.provider], ["model", r.model], ["stream", r.stream ? "yes" : "no"], ["outcome", r.outcome],
      ["status", r.status], ["upstream status", r.upstream_status], ["error kind", r.error_kind],
      ["detectors", (r.detectors || []).join(", ")],
      ["latency ms", `mask ${fmtMs(r.latency_ms.mask)} · upstream ${fmtMs(r.latency_ms.upstream)} · restore ${fmtMs(r.latency_ms.restore)} · total ${fmtMs(r.latency_ms.total)}`],
      ["usage", r.usage ? `${r.usage.input_tokens} in · ${r.usage.output_tokens} out` : null],
      ["placeholders", `${r.placeholders.restored} restored · ${r.placeholders.mutated} mutated · ${r.placeholders.unrestored} unrestored`],
    ]);
    const body = $("#detail-findings tbody");
    body.replaceChildren();
    for (const f of r.findings) {
      body.append(el("tr", { class: "finding" }, el("td", {}, f.label), el("td", {}, f.kind || "-"), el("td", {}, f.action),
        el("td", {}, f.detector), el("td", {}, f.placeholder || "-"), el("td", { class: "hmac" }, f.hmac)));
    }
    if (!r.findings.length) body.append(el("tr", {}, el("td", { colSpan: 6 }, "no values found in this request")));
    fillDl($("#detail-chain"), [["prev_hash", d.chain.prev_hash], ["hash", d.chain.hash], ["mac", d.chain.mac]]);
    $("#detail").hidden = false;
  }

  async function loadVerify() {
    const badge = $("#chain-status");
    badge.dataset.state = "unknown";
    badge.textContent = "chain: checking…";
    try {
      const v = await api("/verify");
      badge.dataset.state = v.intact ? "intact" : "broken";
      badge.textContent = v.intact ? `chain intact: ${v.records} records${v.mac_checked ? ", macs checked" : ", macs not checked"}` : "chain BROKEN";
      badge.title = v.intact ? v.summary : v.problem;
    } catch (e) {
      badge.dataset.state = "broken";
      badge.textContent = "chain: " + e.message;
    }
  }

  // ---- charts ------------------------------------------------------------------------

  const W = 480, H = 220, M = { l: 44, r: 10, t: 10, b: 30 };

  function frame(node, maxY, buckets, yLabel, log) {
    node.replaceChildren();
    const ih = H - M.t - M.b;
    const y = (v) => {
      const f = log ? Math.log10(1 + v) / Math.log10(1 + maxY) : v / maxY;
      return M.t + ih - (maxY > 0 ? f : 0) * ih;
    };
    const ticks = log ? [0, 1, 10, 100, 1000, 10000, 100000].filter((t) => t <= maxY * 1.0001) : [0, maxY / 2, maxY];
    for (const t of ticks) {
      node.append(svg("line", { class: "grid-line", x1: M.l, x2: W - M.r, y1: y(t), y2: y(t) }));
      const lab = svg("text", { x: M.l - 4, y: y(t) + 3, "text-anchor": "end" });
      lab.textContent = t >= 100 || t === 0 ? Math.round(t) : t.toFixed(1);
      node.append(lab);
    }
    node.append(svg("line", { class: "axis", x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }));
    node.append(svg("line", { class: "axis", x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
    if (yLabel) {
      const t = svg("text", { x: 4, y: M.t + 8 });
      t.textContent = yLabel;
      node.append(t);
    }
    const n = buckets.length;
    const step = (W - M.l - M.r) / Math.max(n, 1);
    const labelEvery = Math.max(1, Math.ceil(n / 4));
    buckets.forEach((b, i) => {
      if (i % labelEvery === 0) {
        const t = svg("text", { x: M.l + i * step + 2, y: H - M.b + 14 });
        t.textContent = b.start.slice(5, 16).replace("T", " ");
        node.append(t);
      }
    });
    return { y, step, x: (i) => M.l + i * step + step / 2 };
  }

  function empty(node, text) {
    node.replaceChildren();
    const t = svg("text", { class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle" });
    t.textContent = text || "no data";
    node.append(t);
  }

  function legend(id, items) {
    const box = document.getElementById(id);
    if (!box) return;
    box.replaceChildren();
    for (const [name, color] of items) {
      const sw = el("span", { class: "swatch" });
      sw.style.background = color;
      box.append(el("span", {}, sw, name));
    }
  }

  function title(node, text) {
    const t = svg("title", {});
    t.textContent = text;
    node.append(t);
    return node;
  }

  function stackedBars(node, buckets, keysOf, colorOf, legendId) {
    const keys = [...new Set(buckets.flatMap((b) => Object.keys(keysOf(b))))];
    const totals = buckets.map((b) => Object.values(keysOf(b)).reduce((a, n) => a + n, 0));
    const max = Math.max(0, ...totals);
    if (!max) { empty(node); legend(legendId, []); return; }
    const f = frame(node, max, buckets, "count");
    buckets.forEach((b, i) => {
      let acc = 0;
      for (const k of keys) {
        const v = keysOf(b)[k] || 0;
        if (!v) continue;
        const y0 = f.y(acc), y1 = f.y(acc + v);
        node.append(title(svg("rect", { class: "bar", x: M.l + i * f.step + 1, width: Math.max(1, f.step - 2), y: y1,
          height: Math.max(1, y0 - y1), fill: colorOf(k), "data-key": k, "data-value": v }), `${b.start} ${k}: ${v}`));
        acc += v;
      }
    });
    legend(legendId, keys.map((k) => [k, colorOf(k)]));
  }

  function lines(node, buckets, series, yLabel, legendId, log) {
    const vals = series.flatMap((s) => buckets.map(s.get)).filter((v) => v !== null && v !== undefined);
    const max = Math.max(0, ...vals);
    if (!vals.length) { empty(node); legend(legendId, []); return; }
    const f = frame(node, max || 1, buckets, yLabel, log);
    for (const s of series) {
      const pts = [];
      buckets.forEach((b, i) => { const v = s.get(b); if (v !== null && v !== undefined) pts.push([f.x(i), f.y(v), v, b.start]); });
      if (pts.length > 1) node.append(svg("polyline", { class: "line", stroke: s.color, points: pts.map((p) => `${p[0]},${p[1]}`).join(" ") }));
      for (const p of pts) {
        node.append(title(svg("circle", { class: "pt", cx: p[0], cy: p[1], r: 3, fill: s.color, "data-series": s.name, "data-value": p[2] }),
          `${p[3]} ${s.name}: ${fmtMs(p[2])} ms`));
      }
    }
    legend(legendId, series.map((s) => [s.name, s.color]));
  }

  function outcomeBars(node, totals) {
    node.replaceChildren();
    const entries = Object.entries(totals).filter(([, n]) => n > 0);
    if (!entries.length) { empty(node); return; }
    const max = Math.max(...entries.map(([, n]) => n));
    const rowH = Math.min(32, (H - 20) / entries.length);
    entries.forEach(([name, n], i) => {
      const y = 10 + i * rowH;
      const w = ((W - 140) * n) / max;
      const lab = svg("text", { x: 96, y: y + rowH / 2 + 3, "text-anchor": "end" });
      lab.textContent = name;
      node.append(lab);
      node.append(title(svg("rect", { class: "bar", x: 100, y: y + 2, width: Math.max(2, w), height: rowH - 6,
        fill: OUTCOME_COLORS[name] || "#7f8c8d", "data-key": name, "data-value": n }), `${name}: ${n}`));
      const v = svg("text", { x: 104 + w, y: y + rowH / 2 + 3 });
      v.textContent = String(n);
      node.append(v);
    });
  }

  async function loadCharts() {
    const s = await api("/series?" + params({ buckets: 30 }));
    const b = s.buckets;
    $("#bucket-info").textContent = b.length ? `${s.totals.requests} requests, ${s.bucket_seconds} s per bucket` : "";
    stackedBars($("#chart-entities"), b, (x) => x.entities, labelColor, "legend-entities");
    stackedBars($("#chart-requests"), b, (x) => (x.requests ? { requests: x.requests } : {}), () => "#2f5fd0", null);
    lines($("#chart-latency"), b, [
      { name: "p50", color: "#2f5fd0", get: (x) => x.p50_ms },
      { name: "p95", color: "#c0392b", get: (x) => x.p95_ms },
    ], "ms", "legend-latency", false);
    lines($("#chart-split"), b, [
      { name: "masking", color: "#8e44ad", get: (x) => x.mask_ms },
      { name: "upstream", color: "#d0632f", get: (x) => x.upstream_ms },
    ], "ms", "legend-split", true);
    outcomeBars($("#chart-outcomes"), s.totals.outcomes);
  }

  // ---- try it ------------------------------------------------------------------------

  async function runTry() {
    const status = $("#try-status");
    status.textContent = "masking…";
    try {
      const r = await api("/try", { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: $("#try-text").value }) });
      $("#try-output").textContent = r.masked;
      const list = $("#try-findings");
      list.replaceChildren();
      for (const f of r.findings) {
        list.append(el("li", {}, `${f.label}${f.kind ? "." + f.kind : ""} → ${f.action}${f.placeholder ? " " + f.placeholder : ""} (${f.detector})`));
      }
      status.textContent = r.blocked.length
        ? `the gateway would refuse this request: the policy blocks ${r.blocked.join(", ")}`
        : `${r.findings.length} value${r.findings.length === 1 ? "" : "s"} found`;
    } catch (e) {
      status.textContent = e.message;
    }
  }

  // ---- wiring ------------------------------------------------------------------------

  async function refresh() {
    showError("");
    try {
      await Promise.all([loadRecords(), loadCharts()]);
      document.body.dataset.loaded = "true";
    } catch (e) {
      showError(e.message);
      document.body.dataset.loaded = "error";
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    $("#filters").addEventListener("submit", (ev) => {
      ev.preventDefault();
      state.filters = readFilters();
      state.offset = 0;
      refresh();
    });
    $("#reset-filters").addEventListener("click", () => {
      $("#filters").reset();
      state.filters = {};
      state.offset = 0;
      refresh();
    });
    $("#prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); loadRecords().catch((e) => showError(e.message)); });
    $("#next").addEventListener("click", () => { state.offset += state.limit; loadRecords().catch((e) => showError(e.message)); });
    $("#page-size").addEventListener("change", (ev) => { state.limit = Number(ev.target.value); state.offset = 0; loadRecords().catch((e) => showError(e.message)); });
    $("#detail-close").addEventListener("click", () => { $("#detail").hidden = true; });
    $("#verify-again").addEventListener("click", loadVerify);
    $("#try-run").addEventListener("click", runTry);
    try { await loadMeta(); } catch (e) { showError(e.message); }
    loadVerify();
    await refresh();
  });
})();

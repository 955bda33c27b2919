// The browser half of scripts/check-ui.sh: drives headless Chromium over the review page
// of a running Veil and fails (exit 1) on the first broken expectation.
// Environment: VEIL_URL, UI_ADMIN_KEY, UI_SECRET_EMAIL, UI_SECRET_NAME, UI_EXPECT_RECORDS,
// UI_EXPECT_REFUSED, UI_EXPECT_PERSON,
// CHROMIUM, PUPPETEER (path to the puppeteer-core package), UI_SCREENSHOT.
"use strict";

const puppeteer = require(process.env.PUPPETEER);

const url = process.env.VEIL_URL;
const secrets = [process.env.UI_SECRET_EMAIL, process.env.UI_SECRET_NAME];
const expected = Number(process.env.UI_EXPECT_RECORDS);
const expectRefused = Number(process.env.UI_EXPECT_REFUSED);
const expectPerson = Number(process.env.UI_EXPECT_PERSON);
const TRY_EMAIL = "someone.else@example.net";

function check(ok, what) {
  if (!ok) throw new Error("check-ui: " + what);
  console.log("  ok: " + what);
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  let failed = false;
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1700 });
    const apiBodies = [];
    const offOrigin = [];
    const consoleErrors = [];
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
    page.on("request", (r) => { if (!r.url().startsWith(url)) offOrigin.push(r.url()); });
    page.on("response", async (r) => {
      if (r.url().includes("/ui/api/")) {
        try { apiBodies.push([r.url(), await r.text()]); } catch (_) { /* redirects have no body */ }
      }
    });

    // Without the admin key the page is refused (asked for outside the browser: headless
    // Chromium turns a Basic challenge without credentials into a navigation error).
    for (const path of ["/ui", "/ui/api/records"]) {
      const refused = await fetch(url + path);
      check(refused.status === 401 && (refused.headers.get("www-authenticate") || "").startsWith("Basic"),
        `${path} without the admin key answers 401 with a Basic challenge`);
    }

    // The admin key as the browser's Basic auth sends it, on every request from the start.
    const basic = Buffer.from("admin:" + process.env.UI_ADMIN_KEY).toString("base64");
    await page.setExtraHTTPHeaders({ authorization: "Basic " + basic });
    const resp = await page.goto(url + "/ui", { waitUntil: "networkidle0" });
    check(resp.status() === 200, "/ui with the admin key answers 200");
    check((resp.headers()["content-security-policy"] || "").includes("default-src 'none'"), "a strict Content-Security-Policy is set");
    await page.waitForFunction(() => document.body.dataset.loaded === "true", { timeout: 15000 });

    const rows = await page.$$eval("#records tbody tr.record", (trs) => trs.length);
    check(rows === expected, `the table shows all ${expected} records (got ${rows})`);
    const outcomes = await page.$$eval("#records tbody td.outcome", (tds) => tds.map((t) => t.textContent));
    check(outcomes.some((o) => o.startsWith("refused")), "the refused request is in the table");
    const entities = await page.$$eval("#records tbody td.entities", (tds) => tds.map((t) => t.textContent).join(" "));
    check(entities.includes("EMAIL") && entities.includes("PERSON"), "entities by label show in the table");

    for (const id of ["chart-entities", "chart-requests", "chart-latency", "chart-split", "chart-outcomes"]) {
      const points = await page.$$eval(`#${id} .pt, #${id} .bar`, (els) => els.length);
      check(points > 0, `chart ${id} renders ${points} data points`);
    }
    const outcomeBars = await page.$$eval("#chart-outcomes .bar", (bs) => bs.map((b) => b.dataset.key));
    check(outcomeBars.includes("ok") && outcomeBars.includes("refused"), "the outcomes chart has ok and refused");
    const labels = await page.$$eval("#chart-entities .bar", (bs) => [...new Set(bs.map((b) => b.dataset.key))]);
    check(labels.includes("EMAIL") && labels.includes("PERSON"), "the entities chart has EMAIL and PERSON");

    const chain = await page.waitForFunction(
      () => { const b = document.querySelector("#chain-status"); return b.dataset.state !== "unknown" && b.dataset.state; },
      { timeout: 10000 });
    check((await chain.jsonValue()) === "intact", "the chain status says intact");

    // A filter narrows the table.
    await page.select("#filters select[name=outcome]", "refused");
    await Promise.all([
      page.waitForResponse((r) => r.url().includes("/ui/api/records?") && r.url().includes("outcome=refused")),
      page.click("#apply"),
    ]);
    await page.waitForFunction((n) => document.querySelectorAll("#records tbody tr.record").length === n, { timeout: 10000 }, expectRefused);
    const filtered = await page.$$eval("#records tbody td.outcome", (tds) => tds.map((t) => t.textContent));
    check(filtered.length === expectRefused && filtered.every((o) => o.startsWith("refused")),
      `the outcome filter narrows the table to the ${expectRefused} refused requests`);
    await page.select("#filters select[name=outcome]", "");
    await page.select("#filters select[name=label]", "PERSON");
    await Promise.all([
      page.waitForResponse((r) => r.url().includes("label=PERSON")),
      page.click("#apply"),
    ]);
    await page.waitForFunction((n) => document.querySelectorAll("#records tbody tr.record").length === n, { timeout: 10000 }, expectPerson);
    check(expectPerson < expected, `the label filter narrows the table to the ${expectPerson} requests with a name`);

    // The detail view of a record with findings.
    await page.click("#records tbody tr.record button.open-detail");
    await page.waitForFunction(() => !document.querySelector("#detail").hidden
      && document.querySelectorAll("#detail-findings tr.finding").length > 0, { timeout: 10000 });
    const findings = await page.$$eval("#detail-findings tr.finding", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    check(findings.some((f) => f[0] === "PERSON" && /^\[PERSON_\d+\]$/.test(f[4]) && /^[0-9a-f]{64}$/.test(f[5])),
      "the detail view lists the finding with label, placeholder and HMAC");

    // Try it masks an e-mail address.
    await page.type("#try-text", `Please write to ${TRY_EMAIL} today`);
    await Promise.all([page.waitForResponse((r) => r.url().endsWith("/ui/api/try")), page.click("#try-run")]);
    await page.waitForFunction(() => document.querySelector("#try-output").textContent.length > 0, { timeout: 10000 });
    const masked = await page.$eval("#try-output", (e) => e.textContent);
    check(/^Please write to \[EMAIL_\d+\] today$/.test(masked), `"try it" masks the e-mail address: ${masked}`);

    // The screenshot shows every record again (filters reset), with the detail and try-it open.
    await page.click("#reset-filters");
    await page.waitForFunction((n) => document.querySelectorAll("#records tbody tr.record").length === n, { timeout: 10000 }, expected);
    await page.screenshot({ path: process.env.UI_SCREENSHOT, fullPage: true });
    check(true, "screenshot saved to " + process.env.UI_SCREENSHOT);

    // No raw value anywhere: the DOM (text and attributes) and every /ui/api answer.
    const dom = await page.evaluate(() => document.documentElement.outerHTML + "\n" + document.body.innerText);
    for (const s of secrets) {
      check(!dom.includes(s), `the page's DOM holds no ${JSON.stringify(s)}`);
      for (const [u, body] of apiBodies) {
        if (body.includes(s)) throw new Error(`check-ui: ${u} answered with ${JSON.stringify(s)}`);
      }
    }
    check(apiBodies.length >= 6, `no raw value in any of ${apiBodies.length} /ui/api answers`);
    check(!apiBodies.some(([, b]) => b.includes(TRY_EMAIL)), "the try-it answer does not echo the e-mail address");
    check(offOrigin.length === 0, "the page loads nothing from another origin" + (offOrigin.length ? ": " + offOrigin.join(", ") : ""));
    check(consoleErrors.length === 0, "no errors in the browser console" + (consoleErrors.length ? ": " + consoleErrors.join(" | ") : ""));
  } catch (e) {
    failed = true;
    console.error(e.message || e);
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();

#!/usr/bin/env bash
# Load test: latency and throughput of Veil against the mock provider, compared with
# sending the same requests straight to the mock, in the same run and on the same machine.
#
# Scenarios (each run twice: direct to veil-mock, and through veil):
#   (a) 1 KB prompt full of PII, non-streaming, 1 connection    -> p50/p99 latency
#   (b) the same, 16 connections on 2 wrk threads               -> requests/s
#   (c) streaming answer of 344 SSE content events, 1 connection -> p50/p99 latency
#   (d) peak resident memory (VmHWM) of the veil process after the runs
#   (e) Responses API stream (POST /v1/responses, 344 output_text deltas), 1 connection
#   (f) translated stream: a Chat Completions client -> a gemini-kind provider (direct:
#       the same answer from the mock's streamGenerateContent), 1 connection
#   (g) translated stream: a Chat Completions client -> a bedrock-kind provider (direct:
#       the mock's ConverseStream, unsigned, with the mock's SigV4 check off), 1 connection
#
# Usage: bench/load.sh
# Environment:
#   DURATION=10s        length of each wrk run
#   WARMUP=2s           warm-up run per target before measuring (0 to skip)
#   GATEWAY=1           0: measure only the direct-to-mock baseline (no veil needed)
#   SKIP_BUILD=0        1: use the binaries as they are
#   VEIL_BIN, MOCK_BIN  binaries (default: $CARGO_TARGET_DIR or target/ + release/...)
#   VEIL_MODEL=none     [detect] model for veil: "none" (patterns only) or a model folder,
#                       e.g. models/veil-pii (veil is measured once /readyz says the model is loaded)
#   VEIL_EXTRA_TOML     text appended to the generated veil config (start it with a [table])
#   VEIL_DETECT_TOML    extra lines for the generated [detect] table, e.g. "window_overlap = 16"
#   VEIL_START_TIMEOUT=30  seconds to wait for veil's /healthz
# Output: a Markdown table on stdout, also written to bench/results/load-<date>.md; raw wrk
# output, the config and the process logs stay in the printed work directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
GATEWAY="${GATEWAY:-1}"
SKIP_BUILD="${SKIP_BUILD:-0}"
VEIL_START_TIMEOUT="${VEIL_START_TIMEOUT:-30}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
VEIL_BIN="${VEIL_BIN:-$TARGET_DIR/release/veil}"
MOCK_BIN="${MOCK_BIN:-$TARGET_DIR/release/veil-mock}"
LUA="$ROOT/bench/post.lua"
VEIL_MODEL="${VEIL_MODEL:-none}"
if [ "$VEIL_MODEL" != "none" ] && [ -d "$VEIL_MODEL" ]; then VEIL_MODEL="$(cd "$VEIL_MODEL" && pwd)"; fi

log() { echo "[load] $*" >&2; }
die() {
    echo "[load] error: $*" >&2
    exit 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/veil-load.XXXXXX")"
PIDS=()
cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -------------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is required"
command -v curl >/dev/null || die "curl is required"
if ! command -v wrk >/dev/null; then
    command -v apt-get >/dev/null || die "wrk is missing and apt-get is not available"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    log "installing wrk with apt-get"
    $SUDO apt-get install -y wrk >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y wrk >&2; }
fi

if [ "$SKIP_BUILD" != "1" ]; then
    bins=(--bin veil-mock)
    if [ "$GATEWAY" = "1" ]; then bins+=(--bin veil); fi
    log "building ${bins[*]} (release)"
    (cd "$ROOT" && cargo build --release "${bins[@]}") >&2
fi
[ -x "$MOCK_BIN" ] || die "no mock binary at $MOCK_BIN"
if [ "$GATEWAY" = "1" ]; then [ -x "$VEIL_BIN" ] || die "no veil binary at $VEIL_BIN"; fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- the mock ------------------------------------------------------------------------------
"$MOCK_BIN" --listen 127.0.0.1:0 >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
MOCK_URL=""
for _ in $(seq 100); do
    MOCK_URL="$(sed -n 's/^listening on //p' "$WORK/mock.out")"
    [ -n "$MOCK_URL" ] && break
    kill -0 "$MOCK_PID" 2>/dev/null || die "veil-mock exited; see $WORK/mock.err: $(tail -5 "$WORK/mock.err")"
    sleep 0.1
done
[ -n "$MOCK_URL" ] || die "veil-mock did not print its address; see $WORK/mock.err"
MOCK_PORT="${MOCK_URL##*:}"
log "veil-mock pid $MOCK_PID at $MOCK_URL"

# --- veil ----------------------------------------------------------------------------------
VEIL_PID=""
VEIL_URL=""
if [ "$GATEWAY" = "1" ]; then
    VEIL_PORT="$(free_port)"
    VEIL_URL="http://127.0.0.1:$VEIL_PORT"
    cat >"$WORK/veil.toml" <<EOF
[server]
listen = "127.0.0.1:$VEIL_PORT"

[providers.mock]
kind = "openai"
base_url = "http://127.0.0.1:$MOCK_PORT/v1"

[providers.mocka]
kind = "anthropic"
base_url = "http://127.0.0.1:$MOCK_PORT"

[providers.gm]
kind = "gemini"
base_url = "http://127.0.0.1:$MOCK_PORT"
api_key_env = "VEIL_BENCH_KEY"

[providers.br]
kind = "bedrock"
region = "us-east-1"
base_url = "http://127.0.0.1:$MOCK_PORT"

[detect]
model = "$VEIL_MODEL"
${VEIL_DETECT_TOML:-}

[audit]
path = "$WORK/audit.jsonl"
EOF
    if [ -n "${VEIL_EXTRA_TOML:-}" ]; then printf '\n%s\n' "$VEIL_EXTRA_TOML" >>"$WORK/veil.toml"; fi
    # The Bedrock mock's test credentials (mock/src/bedrock.rs); the mock checks the signature.
    env -u AWS_SESSION_TOKEN VEIL_BENCH_KEY=test AWS_ACCESS_KEY_ID=AKIDVEILMOCK00EXAMPLE \
        AWS_SECRET_ACCESS_KEY=veil/mock/Secret+Access/KeyEXAMPLE00 "$VEIL_BIN" serve --config "$WORK/veil.toml" >"$WORK/veil.out" 2>"$WORK/veil.err" &
    VEIL_PID=$!
    PIDS+=("$VEIL_PID")
    ready=0
    for _ in $(seq $((VEIL_START_TIMEOUT * 10))); do
        if ! kill -0 "$VEIL_PID" 2>/dev/null; then
            echo "[load] veil exited during startup. stderr log: $WORK/veil.err (config $WORK/veil.toml)" >&2
            tail -20 "$WORK/veil.err" >&2 || true
            exit 1
        fi
        if curl -fsS --max-time 1 "$VEIL_URL/readyz" >/dev/null 2>&1; then
            ready=1
            break
        fi
        sleep 0.1
    done
    if [ "$ready" != "1" ]; then
        echo "[load] veil did not answer $VEIL_URL/healthz within ${VEIL_START_TIMEOUT}s. stderr log: $WORK/veil.err" >&2
        tail -20 "$WORK/veil.err" >&2 || true
        exit 1
    fi
    log "veil pid $VEIL_PID at $VEIL_URL"
fi

# --- request bodies ------------------------------------------------------------------------
python3 - "$WORK" <<'EOF'
import json, sys
work = sys.argv[1]
pii = (
    "Hi, this is Maria Schneider from the Berlin office. Please draft a short reply to "
    "John O'Connor (john.oconnor@example.org, +1 415 555 0132) about the invoice he sent "
    "last week. My own address is maria.schneider@example.com and my mobile is "
    "+49 151 23456789. For the refund, use my card 4111 1111 1111 1111 (expires 12/27) or "
    "transfer to IBAN DE89370400440532013000, account holder Maria Schneider. Also mention "
    "that our colleague Priya Natarajan (priya.n@example.net, 020 7946 0958) will join the "
    "call on Thursday, and that the VPN gateway at 192.168.10.42 will be down for "
    "maintenance on Friday, so he should use the backup server at 203.0.113.7 instead. "
)
filler = (
    "Keep the tone friendly but brief, thank him for his patience, and ask whether the "
    "new delivery schedule works for his team before the end of the quarter. "
)
text = pii
while len(text) < 1024:
    text += filler
text = text[:1024]
for name, model, stream in [
    ("plain_direct", "bench", False),
    ("plain_gateway", "mock/bench", False),
    ("stream_direct", "bench", True),
    ("stream_gateway", "mock/bench", True),
]:
    body = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": text},
        ],
    }
    if stream:
        body["stream"] = True
    with open(f"{work}/{name}.json", "w") as f:
        json.dump(body, f)
# (e) the Responses API, (f) Gemini's native format direct, a chat client through veil.
bodies = {
    "resp_direct": {"model": "bench", "input": text, "instructions": "You are a helpful assistant.", "stream": True},
    "resp_gateway": {"model": "mock/bench", "input": text, "instructions": "You are a helpful assistant.", "stream": True},
    "gemini_direct": {"contents": [{"role": "user", "parts": [{"text": text}]}],
                      "systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]}},
    "gemini_gateway": {"model": "gm/bench", "stream": True, "messages": [
        {"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": text}]},
    "bedrock_direct": {"messages": [{"role": "user", "content": [{"text": text}]}],
                       "system": [{"text": "You are a helpful assistant."}]},
    "bedrock_gateway": {"model": "br/bench", "stream": True, "messages": [
        {"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": text}]},
}
for name, body in bodies.items():
    with open(f"{work}/{name}.json", "w") as f:
        json.dump(body, f)
EOF

# --- sanity check of each target before measuring --------------------------------------------
check() { # url body-file streaming(0/1, or a grep pattern every stream of this kind holds) [header...]
    local url="$1" body="$2" streaming="$3" out="$WORK/check.out" code
    shift 3
    local hdrs=(-H 'Authorization: Bearer test')
    if [ "$#" -gt 0 ]; then hdrs=(); for h in "$@"; do [ "${h#*:}" = "" ] || hdrs+=(-H "$h"); done; fi
    code="$(curl -sS --max-time 30 -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' \
        "${hdrs[@]}" --data-binary "@$body" "$url")" || die "request to $url failed"
    [ "$code" = "200" ] || die "$url answered $code: $(head -c 500 "$out")"
    if [ "$streaming" != "0" ] && [ "$streaming" != "1" ]; then
        grep -q -- "$streaming" "$out" || die "$url: the stream has no $streaming: $(tail -c 300 "$out")"
    elif [ "$streaming" = "1" ]; then
        grep -q '^data: \[DONE\]' "$out" || die "$url: the stream did not end with [DONE]: $(tail -c 300 "$out")"
        local n
        n="$(grep -c '"content":"[^"]' "$out" || true)"
        [ "$n" = "344" ] || log "warning: $url streamed $n content events, expected 344"
    else
        grep -q '"choices"' "$out" || die "$url: not a chat completion: $(head -c 500 "$out")"
    fi
}

DIRECT="$MOCK_URL/v1/chat/completions"
GW="$VEIL_URL/v1/chat/completions"
check "$DIRECT" "$WORK/plain_direct.json" 0
check "$DIRECT" "$WORK/stream_direct.json" 1
if [ "$GATEWAY" = "1" ]; then
    check "$GW" "$WORK/plain_gateway.json" 0
    check "$GW" "$WORK/stream_gateway.json" 1
fi
RESP_DIRECT="$MOCK_URL/v1/responses"
GEMINI_DIRECT="$MOCK_URL/v1beta/models/bench:streamGenerateContent?alt=sse"
GEMINI_HDRS=("Authorization:" "x-goog-api-key: test")
BEDROCK_DIRECT="$MOCK_URL/model/bench/converse-stream"
# wrk cannot sign: the direct baseline sends one pre-signed request (the mock checks the
# signature on every request, and not the signing time).
BEDROCK_HDRS=("Authorization:")
while IFS= read -r line; do BEDROCK_HDRS+=("$line"); done < <("$MOCK_BIN" --sign-bedrock "$BEDROCK_DIRECT" --body "$WORK/bedrock_direct.json")
check "$RESP_DIRECT" "$WORK/resp_direct.json" "response.completed"
check "$BEDROCK_DIRECT" "$WORK/bedrock_direct.json" "messageStop" "${BEDROCK_HDRS[@]}"
check "$GEMINI_DIRECT" "$WORK/gemini_direct.json" '"finishReason"' "${GEMINI_HDRS[@]}"
if [ "$GATEWAY" = "1" ]; then
    check "$VEIL_URL/v1/responses" "$WORK/resp_gateway.json" "response.completed"
    check "$GW" "$WORK/gemini_gateway.json" 1
    check "$GW" "$WORK/bedrock_gateway.json" 1
fi

# --- wrk runs ---------------------------------------------------------------------------------
run_wrk() { # name threads connections duration url body-file [header...]
    local name="$1" threads="$2" conns="$3" duration="$4" url="$5" body="$6"
    shift 6
    log "wrk $name: -t$threads -c$conns -d$duration $url"
    wrk -t"$threads" -c"$conns" -d"$duration" --latency --timeout 10s -s "$LUA" "$url" -- "$body" "$@" \
        >"$WORK/$name.txt" 2>&1 || die "wrk failed for $name; see $WORK/$name.txt"
    grep -q '^VEIL_RESULT ' "$WORK/$name.txt" || die "no result line from wrk for $name; see $WORK/$name.txt"
}

targets=(direct)
if [ "$GATEWAY" = "1" ]; then targets+=(gateway); fi
url_of() { if [ "$1" = "direct" ]; then echo "$DIRECT"; else echo "$GW"; fi; }

if [ "$WARMUP" != "0" ]; then
    for t in "${targets[@]}"; do
        run_wrk "warmup_$t" 2 16 "$WARMUP" "$(url_of "$t")" "$WORK/plain_$t.json"
    done
fi
for t in "${targets[@]}"; do run_wrk "a_$t" 1 1 "$DURATION" "$(url_of "$t")" "$WORK/plain_$t.json"; done
for t in "${targets[@]}"; do run_wrk "b_$t" 2 16 "$DURATION" "$(url_of "$t")" "$WORK/plain_$t.json"; done
for t in "${targets[@]}"; do run_wrk "c_$t" 1 1 "$DURATION" "$(url_of "$t")" "$WORK/stream_$t.json"; done
run_wrk e_direct 1 1 "$DURATION" "$RESP_DIRECT" "$WORK/resp_direct.json"
run_wrk f_direct 1 1 "$DURATION" "$GEMINI_DIRECT" "$WORK/gemini_direct.json" "${GEMINI_HDRS[@]}"
run_wrk g_direct 1 1 "$DURATION" "$BEDROCK_DIRECT" "$WORK/bedrock_direct.json" "${BEDROCK_HDRS[@]}"
if [ "$GATEWAY" = "1" ]; then
    run_wrk e_gateway 1 1 "$DURATION" "$VEIL_URL/v1/responses" "$WORK/resp_gateway.json"
    run_wrk f_gateway 1 1 "$DURATION" "$GW" "$WORK/gemini_gateway.json"
    run_wrk g_gateway 1 1 "$DURATION" "$GW" "$WORK/bedrock_gateway.json"
fi

VEIL_HWM_KB=""
if [ -n "$VEIL_PID" ]; then
    VEIL_HWM_KB="$(awk '/^VmHWM:/ {print $2}' "/proc/$VEIL_PID/status" 2>/dev/null || true)"
fi

# --- report -----------------------------------------------------------------------------------
CPU_MODEL="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
STAMP="$(date -u +%Y-%m-%dT%H%M%SZ)"
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/load-$STAMP.md"
REPORT_NPROC="$(nproc)" \
    REPORT_CPU="${CPU_MODEL:-unknown}" \
    REPORT_KERNEL="$(uname -sr)" \
    REPORT_COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (dirty)')" \
    REPORT_WRK="$(wrk --version 2>&1 | head -1 | awk '{print $2}')" \
    REPORT_DURATION="$DURATION" \
    REPORT_DATE="$(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
    REPORT_WORK="$WORK" \
    REPORT_VEIL_HWM_KB="$VEIL_HWM_KB" \
    REPORT_VEIL_MODEL="$VEIL_MODEL" \
    python3 "$ROOT/bench/report.py" "$WORK" >"$OUT"
cat "$OUT"
log "report written to $OUT; raw output in $WORK"

#!/usr/bin/env bash
# The audit review page (/ui) in a real headless browser: starts veil-mock and `veil serve`
# on 127.0.0.1 with a temporary config and audit log, sends real traffic through the
# gateway (an e-mail address and a person's name, a refused request, an upstream error,
# a stream), then drives Debian's Chromium with puppeteer-core (scripts/check_ui.cjs):
# the table shows the records, a filter narrows them, every chart has data points, the
# detail view and every /ui/api answer hold no raw value, and "try it" masks an e-mail.
# Saves a screenshot to docs/ui.png (UI_SCREENSHOT=path to put it elsewhere).
#
# Installs what it needs, idempotently: `chromium` from Debian's registry if missing
# (apt-get, needs root), and puppeteer-core (pinned) from npm into .ui-check/ (ignored).
# VEIL_BIN / VEIL_MOCK_BIN use prebuilt binaries; else this builds them (debug).
set -euo pipefail
cd "$(dirname "$0")/.."

PUPPETEER_VERSION="24.43.1" # the last line that runs on Node 18/20 (25.x needs Node 22.12)
CACHE=".ui-check"

if ! command -v chromium >/dev/null 2>&1; then
  echo "check-ui: installing chromium (apt-get)"
  if [ "$(id -u)" != 0 ]; then
    echo "check-ui: chromium is missing and this is not root: apt-get install -y chromium" >&2
    exit 1
  fi
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
CHROMIUM="$(command -v chromium)"

if ! command -v node >/dev/null 2>&1; then
  echo "check-ui: node and npm are needed (apt-get install -y nodejs npm)" >&2
  exit 1
fi
installed="$(node -p "require('./$CACHE/node_modules/puppeteer-core/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "$PUPPETEER_VERSION" ]; then
  echo "check-ui: installing puppeteer-core $PUPPETEER_VERSION into $CACHE/"
  mkdir -p "$CACHE"
  printf '{"private":true,"dependencies":{"puppeteer-core":"%s"}}\n' "$PUPPETEER_VERSION" >"$CACHE/package.json"
  (cd "$CACHE" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)
fi

if [ -z "${VEIL_BIN:-}" ] || [ -z "${VEIL_MOCK_BIN:-}" ]; then
  cargo build --locked --bin veil --bin veil-mock
  VEIL_BIN="${VEIL_BIN:-target/debug/veil}"
  VEIL_MOCK_BIN="${VEIL_MOCK_BIN:-target/debug/veil-mock}"
fi

TMP="$(mktemp -d)"
MOCK_PID=""
VEIL_PID=""
cleanup() {
  for pid in "$VEIL_PID" "$MOCK_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

"$VEIL_MOCK_BIN" --listen 127.0.0.1:0 >"$TMP/mock.out" 2>"$TMP/mock.log" &
MOCK_PID=$!
for _ in $(seq 100); do
  grep -q "^listening on " "$TMP/mock.out" 2>/dev/null && break
  sleep 0.1
done
MOCK_URL="$(sed -n 's/^listening on //p' "$TMP/mock.out")"
[ -n "$MOCK_URL" ] || { echo "check-ui: veil-mock did not start" >&2; cat "$TMP/mock.log" >&2; exit 1; }

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
export UI_ADMIN_KEY="ui-check-admin-key"
export UI_CALLER_KEY="ui-check-caller-key"
cat >"$TMP/veil.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
log_format = "json"
[providers.mock]
kind = "openai"
base_url = "$MOCK_URL/v1"
[providers.mocka]
kind = "anthropic"
base_url = "$MOCK_URL"
[detect]
model = "none"
[detect.deny]
PERSON = ["Marta Kowalczyk"]
[audit]
path = "$TMP/audit.jsonl"
[[keys]]
id = "team-a"
sha256 = "$(sha "$UI_CALLER_KEY")"
[ui]
admin_sha256 = "$(sha "$UI_ADMIN_KEY")"
EOF

VEIL_AUDIT_KEY="ui-check-audit-key" "$VEIL_BIN" serve --config "$TMP/veil.toml" 2>"$TMP/veil.log" &
VEIL_PID=$!
export VEIL_URL="http://127.0.0.1:$PORT"
for _ in $(seq 300); do
  curl -fsS "$VEIL_URL/readyz" >/dev/null 2>&1 && break
  kill -0 "$VEIL_PID" 2>/dev/null || { echo "check-ui: veil serve exited" >&2; cat "$TMP/veil.log" >&2; exit 1; }
  sleep 0.1
done

# Real traffic through the gateway. The raw values must never reach the page.
export UI_SECRET_EMAIL="marta.kowalczyk@example.org"
export UI_SECRET_NAME="Marta Kowalczyk"
post() { # path body expected-status
  local code
  code="$(curl -sS -o "$TMP/resp.json" -w '%{http_code}' -H "authorization: Bearer $UI_CALLER_KEY" \
    -H 'content-type: application/json' --data "$2" "$VEIL_URL$1")"
  [ "$code" = "$3" ] || { echo "check-ui: POST $1 answered $code, expected $3" >&2; cat "$TMP/resp.json" >&2; exit 1; }
}
post /v1/chat/completions "{\"model\":\"mock/echo\",\"messages\":[{\"role\":\"user\",\"content\":\"Mail $UI_SECRET_EMAIL and tell $UI_SECRET_NAME the meeting moved.\"}]}" 200
post /v1/chat/completions '{"model":"mock/echo","messages":[{"role":"user","content":"What is the capital of France?"}]}' 200
post /v1/chat/completions "{\"model\":\"mock/echo+delta=2\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Call $UI_SECRET_NAME back.\"}]}" 200
post /v1/messages "{\"model\":\"mocka/echo\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"Forward to $UI_SECRET_EMAIL please\"}]}" 200
post /v1/chat/completions '{"model":"nosuch/model","messages":[{"role":"user","content":"hi"}]}' 404
post /v1/chat/completions '{"model":"mock/error=500","messages":[{"role":"user","content":"hi"}]}' 502
# A few more over some seconds, so the charts have more than one bucket.
for i in 1 2 3 4 5 6; do
  sleep 0.7
  post /v1/chat/completions "{\"model\":\"mock/echo\",\"messages\":[{\"role\":\"user\",\"content\":\"Note $i for $UI_SECRET_NAME: reply to $UI_SECRET_EMAIL\"}]}" 200
done
post /v1/chat/completions '{"model":"mock/echo","messages":"not a list"}' 400
export UI_EXPECT_RECORDS=13 UI_EXPECT_REFUSED=2 UI_EXPECT_PERSON=8
for _ in $(seq 50); do
  [ "$(wc -l <"$TMP/audit.jsonl")" -ge "$UI_EXPECT_RECORDS" ] && break
  sleep 0.1
done

UI_SCREENSHOT="${UI_SCREENSHOT:-docs/ui.png}" CHROMIUM="$CHROMIUM" PUPPETEER="$PWD/$CACHE/node_modules/puppeteer-core" \
  node scripts/check_ui.cjs

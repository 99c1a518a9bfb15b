#!/usr/bin/env bash
# Side-by-side load-generator comparison on this machine.
#
# Serves benches/scenarios/zero-latency.toml (a model with no service time,
# so every microsecond is server, platform engine and client) with
# `gameday serve` on loopback, then drives it at the same rates with
# gameday's open-loop generator and with oha (installed by this script;
# run with --latency-correction so both measure from intended send times).
# Prints achieved throughput and p50 for each, and their ratios, measured
# in one run. Also measures the server's ceiling with oha unthrottled and,
# if wrk can be installed, with wrk.
#
#   benches/compare-load.sh                 # the README's table: 5,000-60,000 req/s, 8 s each
#   RATES="2000 30000" DURATION=5 benches/compare-load.sh
#
# Traffic goes to 127.0.0.1 only; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"5000 10000 20000 30000 40000 50000 60000"}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-64}
OHA_VERSION=1.16.0

if ! command -v oha >/dev/null; then
    echo "== installing oha $OHA_VERSION (cargo install, a few minutes)" >&2
    cargo install oha --locked --version "$OHA_VERSION" >&2
fi
if ! command -v wrk >/dev/null; then
    { apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; } >/dev/null 2>&1 \
        || echo "(wrk not installable here; skipping it)" >&2
fi

echo "== building gameday (release)" >&2
cargo build --release --locked -p gameday-cli >&2
BIN="${CARGO_TARGET_DIR:-target}/release/gameday"

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

"$BIN" serve benches/scenarios/zero-latency.toml --bind 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -q "listening on" "$TMP/serve.out" 2>/dev/null && break
    sleep 0.1
done
URL=$(sed -n 's/^listening on //p' "$TMP/serve.out")
[ -n "$URL" ] || { echo "server did not start" >&2; cat "$TMP/serve.err" >&2; exit 3; }
INVOKE="$URL/endpoints/zero/invocations"
echo "== server at $URL ($(nproc) cores shared by server and client)" >&2

oha_run() { # args: extra oha flags...; prints "rps p50_ms"
    oha -z "${DURATION}s" -c "$CONNECTIONS" -m POST -d '{}' -T application/json \
        --no-tui --output-format json "$@" "$INVOKE" >"$TMP/oha.json"
    python3 - "$TMP/oha.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
codes = r.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if k.startswith("2"))
total = sum(codes.values()) or 1
print(f'{s["requestsPerSec"]:.0f} {r["latencyPercentiles"]["p50"] * 1e3:.3f} {ok / total:.4f}')
PY
}

gameday_run() { # args: rate; prints "rps p50_ms ok_share suspect lag_p99_ms"
    sed -e "s/rate = 5000/rate = $1/" -e "s/duration = \"10s\"/duration = \"${DURATION}s\"/" \
        benches/scenarios/zero-latency.toml >"$TMP/gd.toml"
    "$BIN" run "$TMP/gd.toml" --clock wall --target http --endpoint-url "$URL" \
        --out "$TMP/gd" -q || true
    python3 - "$TMP/gd/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = r["endpoints"][0]
lg = r["load_generator"]
# Achieved rate: requests over the time until the last answer (a
# generator that falls behind stretches the run past its duration).
span = max(r["drained_at_s"], r["scenario"]["duration_s"])
print(f'{e["requests"] / span:.0f} {e["latency_ms"]["p50"]:.3f} {e["ok"] / max(e["requests"], 1):.4f} {str(lg["suspect"]).lower()} {lg["lag_ms_p99"]:.3f}')
PY
}

echo
echo "### Server ceiling (zero-latency model, $CONNECTIONS connections, ${DURATION}s)"
echo
echo "| client | achieved req/s | p50 ms |"
echo "|---|---:|---:|"
read -r rps p50 _ < <(oha_run)
echo "| oha (unthrottled) | $rps | $p50 |"
CEILING=$rps
if command -v wrk >/dev/null; then
    cat >"$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
LUA
    wrk_rps=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$TMP/post.lua" "$INVOKE" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    echo "| wrk (unthrottled) | $wrk_rps | |"
fi

echo
echo "### Same rate, both open loop, latency from intended send time"
echo
echo "| target rate | gameday req/s | oha req/s | throughput ratio (gameday/oha) | gameday p50 ms | oha p50 ms | p50 ratio | gameday suspect | gameday lag p99 ms |"
echo "|---:|---:|---:|---:|---:|---:|---:|---|---:|"
for rate in $RATES; do
    read -r g_rps g_p50 _g_ok g_suspect g_lag < <(gameday_run "$rate")
    read -r o_rps o_p50 _o_ok < <(oha_run -q "$rate" --latency-correction)
    python3 - "$rate" "$g_rps" "$o_rps" "$g_p50" "$o_p50" "$g_suspect" "$g_lag" <<'PY'
import sys
rate, g, o, gp, op, sus, lag = sys.argv[1:]
g, o, gp, op = float(g), float(o), float(gp), float(op)
print(f"| {rate} | {g:.0f} | {o:.0f} | {g / o:.2f} | {gp:.3f} | {op:.3f} | {gp / op if op else float('nan'):.2f} | {sus} | {lag} |")
PY
done
echo
echo "Server ceiling measured with oha: $CEILING req/s (goal: >= 25000 on 2 cores)."

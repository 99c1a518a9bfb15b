#!/usr/bin/env bash
# Looks at report.html the way a person would, and reads junit.xml the
# way CI would: runs a few scenarios, opens each report.html in headless
# Chromium (installed with apt if missing), takes a screenshot and fails
# on a console message or a blank page; then parses each junit.xml with
# junitparser (installed with pip in a venv) and checks its failures
# against report.json. Screenshots stay in the output folder.
#
#   .ci/check-reports.sh [OUT]      (default target/report-check)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/report-check}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
GAMEDAY=${GAMEDAY:-target/release/gameday}
[ -x "$GAMEDAY" ] || cargo build --locked --release

if ! command -v chromium >/dev/null; then
    apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
fi
if [ ! -x "$OUT/venv/bin/python" ]; then
    python3 -m venv "$OUT/venv"
    "$OUT/venv/bin/pip" install -q junitparser pillow
fi
PY="$OUT/venv/bin/python"

status=0
for sc in quickstart autoscaling-diurnal flash-sale-brownout multi-model-thrash spot-training; do
    dir="$OUT/$sc"
    rm -rf "$dir"
    code=0
    "$GAMEDAY" run "scenarios/$sc.toml" --out "$dir" -q || code=$?
    if [ "$code" -gt 1 ]; then
        echo "FAIL $sc: gameday exited $code"; status=1; continue
    fi
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size=1100,3200 --enable-logging=stderr --v=0 \
        --screenshot="$OUT/$sc.png" "file://$dir/report.html" 2> "$OUT/$sc.chromium.log" || true
    if grep -E "CONSOLE|Uncaught" "$OUT/$sc.chromium.log"; then
        echo "FAIL $sc: console messages above"; status=1
    fi
    "$PY" - "$OUT/$sc.png" "$dir" <<'PYEOF' || status=1
import json, sys
from PIL import Image
from junitparser import JUnitXml, Failure
png, out = sys.argv[1], sys.argv[2]
img = Image.open(png).convert("RGB")
px = list(getattr(img, "get_flattened_data", img.getdata)())
ink = sum(1 for p in px if sum(p) < 600) / len(px)
colours = len(set(px[::7]))
name = png.rsplit("/", 1)[-1]
if ink < 0.01 or colours < 20:
    sys.exit(f"FAIL {name}: a blank page ({ink:.3%} ink, {colours} colours)")
report = json.load(open(f"{out}/report.json"))
missed = sum(1 for s in report["slos"] if not s["met"])
xml = JUnitXml.fromfile(f"{out}/junit.xml")
cases = [c for suite in xml for c in suite]
failed = sum(1 for c in cases if any(isinstance(r, Failure) for r in c.result))
if failed != missed or len(cases) < len(report["slos"]):
    sys.exit(f"FAIL {name}: junit.xml has {failed} failures of {len(cases)}, report.json {missed} missed of {len(report['slos'])}")
print(f"ok {name}: {ink:.1%} ink, {colours} colours; junit {len(cases)} cases, {failed} failed")
PYEOF
done
exit $status

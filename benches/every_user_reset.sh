#!/usr/bin/env bash
# Every listed user ends reset (issue #16): plans and applies each profile, and removing
# phones and Authenticator while keeping OATH tokens, on a fresh generated tenant of
# USERS users (10,000 by default, seed 7) served by `mfa-reset sim`, with every user of the
# tenant listed. Entra's rules on methods (the default method, mobile and alternate mobile)
# stay on; the emulator's throttling is off and the client's budgets raised, as only the
# outcome is measured. Prints, per policy: exit code, wall time, statuses, users whose plan
# re-points the default, and the blocked rows by reason.
#
# Usage: cargo build --release && benches/every_user_reset.sh [USERS]
set -euo pipefail
USERS=${1:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/target/release/mfa-reset
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"

"$BIN" sim --users "$USERS" --seed 7 --static-token bench --dump-tenant tenant.json > dump.url 2>/dev/null &
for _ in $(seq 100); do [ -s tenant.json ] && [ -s dump.url ] && break; sleep 0.2; done
kill %1 2>/dev/null || true; wait 2>/dev/null || true
python3 -c 'import json; print("\n".join(u["userPrincipalName"] for u in json.load(open("tenant.json"))["users"]))' > users.txt

for name in device-refresh incident offboard keep-oath; do
  case $name in
    keep-oath) flags=(--remove-methods phone,authenticator) ;;
    *) flags=(--profile "$name") ;;
  esac
  "$BIN" sim --users "$USERS" --seed 7 --no-throttle --static-token bench > "sim-$name.url" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do [ -s "sim-$name.url" ] && break; sleep 0.1; done
  url=$(head -1 "sim-$name.url")
  start=$(date +%s.%N)
  rc=0
  MFA_RESET_ACCESS_TOKEN=bench "$BIN" apply users.txt "${flags[@]}" --graph-url "$url" --login-url "$url" \
    --ru-budget 1000000/10s --write-budget 1000000/10s --yes --out "out-$name" >/dev/null 2>"apply-$name.err" || rc=$?
  end=$(date +%s.%N)
  kill "$pid" 2>/dev/null || true
  python3 - "$name" "$rc" "$start" "$end" "out-$name" <<'PY'
import collections, json, sys
name, rc, start, end, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
rows = [json.loads(line) for line in open(f"{out}/results.jsonl")]
entries = json.load(open(f"{out}/plan.json"))["entries"]
repointed = sum(any(s.get("action") == "setDefaultMethod" for s in e.get("steps", [])) for e in entries)
statuses = collections.Counter(r["status"] for r in rows)
blocked = collections.Counter((r.get("reason") or "").split(":")[0] for r in rows if r["status"] == "blocked")
by_default = sum(1 for r in rows if r["status"] == "blocked" and "default" in (r.get("reason") or ""))
print(f"{name}: exit {rc}, {end - start:.1f} s, {len(rows)} rows {dict(statuses)}; default re-pointed for "
      f"{repointed}; blocked for a default-method reason: {by_default}; blocked by reason: {dict(blocked)}")
PY
done

# Test tiers that all run: `tier NAME COMMAND...` runs one and records pass/fail and its duration
# without stopping; `summarise` prints one line per tier and returns non-zero if any failed.
# Sourced by .ci/run (and by tests/test_package.py).
TIER_SUMMARY=()
TIER_FAILED=0

tier() {
  local name=$1; shift
  echo; echo "=== $name"
  local t0=$SECONDS status=PASS
  "$@" || { status=FAIL; TIER_FAILED=1; }
  TIER_SUMMARY+=("$status $(printf '%5d' $((SECONDS - t0)))s  $name")
}

summarise() {
  printf '%s\n' "${TIER_SUMMARY[@]}"
  if [ "$TIER_FAILED" = 0 ]; then echo "all ${#TIER_SUMMARY[@]} tiers passed"; return 0; fi
  echo "some tiers FAILED"
  return 1
}

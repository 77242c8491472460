#!/usr/bin/env bash
# tests/e2e/run.sh [--install] [NAME...]
# Run the e2e tier: every tests/e2e/*.sh test script (not the installer, lib.sh or this file),
# or only the NAMEs given (e.g. `foundation`). Each script prints `N passed, M failed` last; this
# sums those lines and prints the same line, alone, as its last line.
#   A script that exits non-zero fails, even when its own line says 0 failed (then 1 failure is
#   added); one that prints no summary line (crash, timeout) counts 1 failure and 0 passes.
#   A script that exits 77 was SKIPPED (a missing prerequisite, outside CI only): reported
#   loudly, never counted as passed; under CI=true a skip is a failure.
# Exit 0 = every script ran and passed; 1 = something failed; 2 = nothing failed but some
# script was skipped (so the tier did NOT pass). --install runs install-clients.sh first.
# Env: passed through to the scripts (AIORCH_E2E_CACHE, AIORCH_BIN, KEEP, CLIENT_TIMEOUT, CI, ...),
# E2E_SCRIPT_TIMEOUT (s per script, default 1200).
set -euo pipefail
cd "$(dirname "$0")"
. ./lib.sh
INSTALL=0; names=()
for a in "$@"; do
  case $a in
    --install) INSTALL=1 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $a" >&2; exit 64 ;;
    *) names+=("${a%.sh}") ;;
  esac
done
[ "$INSTALL" = 1 ] && ./install-clients.sh

scripts=()
if [ ${#names[@]} -gt 0 ]; then
  for n in "${names[@]}"; do [ -f "$n.sh" ] || { echo "run.sh: no tests/e2e/$n.sh" >&2; exit 64; }; scripts+=("$n.sh"); done
else
  # services.sh first: it installs the local model stack the runtime scripts use too.
  [ -f services.sh ] && scripts+=(services.sh)
  for f in *.sh; do
    case $f in lib.sh|run.sh|install-*.sh|services.sh) continue ;; esac
    scripts+=("$f")
  done
fi

total_p=0; total_f=0; rows=(); skipped=()
for s in "${scripts[@]}"; do
  echo; echo "################ tests/e2e/$s"
  log=$(mktemp -t aiorch-e2e-run-XXXXXX)
  t=$(date +%s)
  set +e
  timeout -k 30 "${E2E_SCRIPT_TIMEOUT:-1200}" bash "./$s" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  secs=$(( $(date +%s) - t ))
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 || true)
  rm -f "$log"
  if [ "$rc" = "$E2E_SKIP" ] && ! e2e_ci; then
    skipped+=("$s")
    rows+=("$(printf '%-20s SKIPPED (not passed)  %5ss  missing prerequisite (see above)' "$s" "$secs")")
    continue
  fi
  if [ -n "$line" ]; then
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
  else
    p=0; f=1   # crashed or timed out before its summary
  fi
  [ "$rc" != 0 ] && [ "$f" = 0 ] && f=1   # non-zero exit with no counted failure still fails
  total_p=$((total_p + p)); total_f=$((total_f + f))
  case $rc in 0) st=PASSED ;; 124|137) st="TIMED OUT" ;; *) st=FAILED ;; esac
  rows+=("$(printf '%-20s %-9s exit %-3s %5ss  %s' "$s" "$st" "$rc" "$secs" "${line:-no summary line (crashed or timed out)}")")
done

echo; echo "################ e2e summary"
printf '  %s\n' "${rows[@]}"
if [ ${#skipped[@]} -gt 0 ]; then
  echo
  echo "!!!!!!!! ${#skipped[@]} script(s) SKIPPED, NOT PASSED: ${skipped[*]} (their checks did not run)"
fi
echo "$total_p passed, $total_f failed"
if [ "$total_f" -gt 0 ]; then exit 1; fi
if [ ${#skipped[@]} -gt 0 ]; then exit 2; fi
exit 0

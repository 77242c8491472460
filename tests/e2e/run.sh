#!/usr/bin/env bash
# tests/e2e/run.sh [--install] [NAME...]
# Run the e2e tier: every tests/e2e/*.sh test script (not the installers, lib.sh or this file),
# or only the NAMEs given (e.g. `foundation`). Each script prints `N passed, M failed` last; this
# sums them and prints the same line for the whole tier. Exit 1 when any script fails or
# crashes, 2 when the clients are not installed (--install runs install-clients.sh first).
# Env: passed through to the scripts (AIORCH_E2E_CACHE, AIORCH_BIN, KEEP, CLIENT_TIMEOUT, ...),
# E2E_SCRIPT_TIMEOUT (s per script, default 1200).
set -euo pipefail
cd "$(dirname "$0")"
INSTALL=0; names=()
for a in "$@"; do
  case $a in
    --install) INSTALL=1 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
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

total_p=0; total_f=0; rows=(); worst=0
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
  if [ -n "$line" ]; then
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
  else
    p=0; f=1   # crashed or timed out before its summary
  fi
  [ "$rc" != 0 ] && [ "$f" = 0 ] && f=1   # non-zero exit with no counted failure still fails
  total_p=$((total_p + p)); total_f=$((total_f + f))
  rows+=("$(printf '%-24s exit %-3s %4ss  %s' "$s" "$rc" "$secs" "${line:-no summary line (crashed or timed out)}")")
  if [ "$rc" = 2 ] && [ "$worst" = 0 ]; then worst=2; elif [ "$rc" != 0 ] && [ "$rc" != 2 ]; then worst=1; fi
done

echo; echo "################ e2e summary"
printf '  %s\n' "${rows[@]}"
echo "$total_p passed, $total_f failed"
if [ "$total_f" -gt 0 ] && [ "$worst" = 0 ]; then worst=1; fi
exit "$worst"

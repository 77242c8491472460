#!/usr/bin/env bash
# `task next` and `memory search` on 100,000 rows each (target: under 5 ms).
#
#   bench/work/run.sh [N]        N rows of each [default 100000]
#
# aiorch creates the database (its own schema), fill_and_time.py fills it and times the two
# queries in-process (the SQL is a copy of tasks.rs `next_in` and memory.rs `search`); then
# hyperfine times the whole commands, process start and database open included.
# Uses target/release/aiorch when built, else target/debug/aiorch (say which in the results).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-100000}
bin=$root/target/release/aiorch
[ -x "$bin" ] || bin=$root/target/debug/aiorch
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/project"
a=("$bin" --home "$T" --state-dir "$T/state" --config "$T/none.toml")
p=(--project "$T/project")
project=$(cd "$T/project" && pwd -P)
"${a[@]}" --json task add "seed" "${p[@]}" >/dev/null
python3 "$here/fill_and_time.py" "$T/state/runtime.db" "$project" "$n" 200
echo "binary: $bin"
hyperfine -N --warmup 5 --runs 50 --style basic \
  "${a[*]} task next ${p[*]}" \
  "${a[*]} memory search staging port ${p[*]}" 2>&1 | grep -E "Benchmark|Time"

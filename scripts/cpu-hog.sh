#!/usr/bin/env bash
# Run a command while busy loops keep every core (or -n N of them) at 100%.
#
#   bash scripts/cpu-hog.sh -- npm test
#   bash scripts/cpu-hog.sh -n 2 -t 1800 -- npx vitest run packages/cli/test/vault.e2e.test.ts
#
# The loops are bounded twice: each one ends by itself after -t seconds
# (default 3600), and all of them are killed when this script exits, however
# it exits. The exit status is the command's.
set -euo pipefail

loops="$(nproc 2>/dev/null || echo 2)"
limit=3600
usage() { echo "usage: bash scripts/cpu-hog.sh [-n LOOPS] [-t SECONDS] -- COMMAND [ARGS...]" >&2; exit 64; }
while [ $# -gt 0 ]; do
  case "$1" in
    -n) loops="${2:?}"; shift 2 ;;
    -t) limit="${2:?}"; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ $# -gt 0 ] || usage
case "$loops$limit" in *[!0-9]*) usage ;; esac

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 1 "$loops"); do
  timeout "$limit" bash -c 'while :; do :; done' &
  pids+=("$!")
done
echo "cpu-hog: $loops busy loop(s) for at most ${limit}s: ${pids[*]}" >&2

status=0
"$@" || status=$?
echo "cpu-hog: '$*' exited $status" >&2
exit "$status"

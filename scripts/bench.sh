#!/usr/bin/env bash
# Measures the README's two commands on this machine and prints the figures
# the README quotes:
#   scripts/bench.sh [-n RUNS] [--no-test]
# - scripts/synth.sh: one warm-up run, then RUNS runs (default 5): median,
#   min and max wall time, and the peak resident set size (the largest
#   single process of the run, as GNU time reports it);
# - scripts/test.sh: one run's wall time (skipped with --no-test).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs=5
test=true
while [ $# -gt 0 ]; do
	case "$1" in
	-n) runs="$2"; shift ;;
	--no-test) test=false ;;
	*) echo "usage: scripts/bench.sh [-n RUNS] [--no-test]" >&2; exit 2 ;;
	esac
	shift
done
if ! [ -x /usr/bin/time ]; then
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
	else
		echo "bench: needs GNU time: sudo apt-get install time" >&2
		exit 1
	fi
fi

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
mem="$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "machine: $(nproc) cores ($cpu), $mem, load average $(cut -d' ' -f1-3 /proc/loadavg)"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
scripts/synth.sh >/dev/null 2>&1 # warm-up: builds the app, fills caches
walls=()
peak=0
for _ in $(seq "$runs"); do
	/usr/bin/time -f '%e %M' -o "$out" scripts/synth.sh >/dev/null 2>&1
	read -r wall rss <"$out"
	walls+=("$wall")
	if [ "$rss" -gt "$peak" ]; then peak="$rss"; fi
done
sorted="$(printf '%s\n' "${walls[@]}" | sort -n)"
median="$(awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }' <<<"$sorted")"
echo "synth (scripts/synth.sh, warm, $runs runs): median ${median} s, min $(head -n 1 <<<"$sorted") s, max $(tail -n 1 <<<"$sorted") s, peak RSS $((peak / 1024)) MiB"

if $test; then
	/usr/bin/time -f '%e' -o "$out" scripts/test.sh >/dev/null 2>&1 || { echo "bench: scripts/test.sh failed; run it to see why" >&2; exit 1; }
	echo "test command (scripts/test.sh, warm): $(cat "$out") s wall"
fi

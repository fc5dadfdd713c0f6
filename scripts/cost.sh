#!/usr/bin/env bash
# Monthly cost estimate of the stack at list prices, with what one more
# project adds, idle and at stated request rates. Synthesizes the stack
# like scripts/synth.sh (same -c config=PATH, relative to the repository
# root), then prices the template with scripts/cost (prices in
# scripts/cost/prices.json; no network access).
#
#   scripts/cost.sh [-c config=PATH] [--template PATH] [--prices PATH]
#
# --template prices an already synthesized template instead (its config
# still comes from -c config=PATH, default config.json). Paths are relative
# to the repository root, as for scripts/synth.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
config=config.json
template=""
prices=()
cdk_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-c | --context)
		[ $# -ge 2 ] || { echo "cost: $1 needs a value" >&2; exit 2; }
		case "$2" in config=*) config="${2#config=}" ;; esac
		cdk_args+=("$1" "$2")
		shift
		;;
	-c*config=* | --context=config=*) config="${1#*config=}"; cdk_args+=("$1") ;;
	--template) [ $# -ge 2 ] || { echo "cost: --template needs a path" >&2; exit 2; }; template="$2"; shift ;;
	--prices) [ $# -ge 2 ] || { echo "cost: --prices needs a path" >&2; exit 2; }; prices=(-prices "$2"); shift ;;
	-h | --help) sed -n '2,12p' "$0"; exit 0 ;;
	*) cdk_args+=("$1") ;;
	esac
	shift
done

cd "$root"
if [ -z "$template" ]; then
	out="$(mktemp -d)"
	trap 'rm -rf "$out"' EXIT
	"$root/scripts/synth.sh" --output "$out" "${cdk_args[@]+"${cdk_args[@]}"}" >/dev/null
	template="$out/SupabaseStack.template.json"
fi
exec go run ./scripts/cost -template "$template" -config "$config" "${prices[@]+"${prices[@]}"}"

#!/usr/bin/env bash
# Synthesizes SupabaseStack into cdk.out/ with the default config.json (no AWS
# account needed). Extra arguments are `cdk synth`'s, e.g.
#   scripts/synth.sh -c config=path/to/other.json [-o OUTDIR]
#
# With only -c/--context and -o/--output arguments it does what `cdk synth`
# does without the CLI's start-up: it rebuilds the app binary only when one
# of its inputs is newer than the binary, and runs it with the context the
# CLI would pass (scripts/cdk-context.mjs). Any other argument goes to
# `cdk synth` itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" synth
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"
cd "$root"

outdir=cdk.out
context_args=()
fast=true
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case "${args[i]}" in
	-c | --context) context_args+=(-c "${args[i + 1]:-}"); i=$((i + 1)) ;;
	--context=*) context_args+=(-c "${args[i]#--context=}") ;;
	-o | --output) outdir="${args[i + 1]:-}"; i=$((i + 1)) ;;
	--output=*) outdir="${args[i]#--output=}" ;;
	*) fast=false ;;
	esac
done
if ! $fast || [ -z "$outdir" ] ||
	! context="$(node scripts/cdk-context.mjs "${context_args[@]+"${context_args[@]}"}" 2>/dev/null)"; then
	exec cdk synth --quiet --no-notices "$@"
fi

# The app's inputs: the Go files and embedded files of its packages (the
# module root, config/, constructs/, stacks/; their directories, for deleted
# files), go.mod, go.sum and the Go toolchain. go build would find all this
# out itself, but takes half a second to.
app="${SYNTH_APP:-$root/.cache/cdk-app}"
toolchain="$(go env GOVERSION GOFLAGS)"
if [ ! -x "$app" ] || [ "$(cat "$app.toolchain" 2>/dev/null)" != "$toolchain" ] ||
	[ -n "$(find . -maxdepth 1 \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$app" -print -quit)" ] ||
	[ -n "$(find config constructs stacks ! -name '*_test.go' -newer "$app" -print -quit)" ]; then
	mkdir -p "$(dirname "$app")"
	go build -o "$app" .
	# go build leaves an up-to-date binary alone: mark it as checked now.
	touch "$app"
	printf '%s\n' "$toolchain" >"$app.toolchain"
fi
mkdir -p "$outdir"
CDK_OUTDIR="$(cd "$outdir" && pwd)" CDK_CONTEXT_JSON="$context" exec "$app"

#!/usr/bin/env bash
# Offline infrastructure diff: synthesizes BASE (a git revision, in a
# temporary worktree) and the working tree, and prints `cdk diff` of the
# working tree's template against BASE's. Needs no AWS credentials.
#
#   scripts/diff.sh [--markdown] [BASE] [-- CDK_ARGS...]
#   scripts/diff.sh [--markdown] --deployed [-- CDK_ARGS...]
#
# BASE defaults to $BASE, then origin/main. CDK_ARGS go to both synths,
# e.g. `-- -c config=path/to/other.json`. --markdown prints a pull-request
# comment instead of plain text. --deployed compares the working tree with
# the stack deployed in the AWS account of the current credentials instead
# of a revision. Exit status: 0 when the diff was produced (whether or not
# anything changed), 2 when a side does not synthesize or BASE is not a
# revision.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
markdown=false
deployed=false
base="${BASE:-origin/main}"
cdk_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--markdown) markdown=true ;;
	--deployed) deployed=true ;;
	--) shift; cdk_args=("$@"); break ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	-*) echo "diff: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) base="$1" ;;
	esac
	shift
done

"$root/scripts/setup.sh" synth
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"
cdk="$root/tools/node_modules/.bin/cdk"
stack=SupabaseStack

# Synthesized assemblies are cached by their inputs: the content of every
# file git sees (tracked, or untracked and not ignored), the CDK arguments
# and the CLI version. A base or head seen before is not synthesized again,
# and a cached base needs no worktree.
cache="${SYNTH_CACHE_DIR:-$root/.cache/synth}"
mkdir -p "$cache"
cli_version="$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' "$root/tools/node_modules/aws-cdk/package.json" | head -n 1)"

work="$(mktemp -d)"
cleanup() {
	git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# cache_key reads "path<TAB>blob" lines and prints the key of those inputs.
cache_key() {
	{
		LC_ALL=C sort
		echo "cli $cli_version"
		printf 'arg %s\n' "${cdk_args[@]+"${cdk_args[@]}"}"
	} | sha256sum | cut -c1-40
}
# Symbolic links (the test checkouts' tools/node_modules) are left out on
# both sides: nothing the stack is built from is one.
commit_inputs() {
	git -C "$root" ls-tree -r "$1" | awk -F'\t' '{ split($1, m, " "); if (m[2] == "blob" && m[1] != "120000") print $2 "\t" m[3] }'
}
worktree_inputs() {
	(
		cd "$root"
		git ls-files --cached --others --exclude-standard | LC_ALL=C sort -u |
			while IFS= read -r f; do if [ -f "$f" ] && [ ! -L "$f" ]; then printf '%s\n' "$f"; fi; done >"$work/files"
		paste "$work/files" <(git hash-object --stdin-paths <"$work/files")
	)
}

# synth DIR KEY LABEL: prints the cached assembly directory of KEY,
# synthesizing DIR into it first when it is not cached.
synth() {
	local dir="$1" key="$2" label="$3" out
	out="$cache/$key"
	if [ -f "$out/.complete" ]; then
		touch "$out"
		echo "$out"
		return
	fi
	if [ ! -f "$dir/cdk.json" ]; then
		echo "diff: $label has no cdk.json, so it cannot be synthesized" >&2
		exit 2
	fi
	local tmp="$cache/.tmp.$key.$BASHPID"
	rm -rf "$tmp"
	if ! (cd "$dir" && "$cdk" synth --quiet --no-notices --output "$tmp" "${cdk_args[@]+"${cdk_args[@]}"}") >"$work/synth.$key.log" 2>&1; then
		rm -rf "$tmp"
		echo "diff: $label does not synthesize; cdk synth said:" >&2
		grep -v '^!!' "$work/synth.$key.log" | tail -n 20 >&2
		exit 2
	fi
	touch "$tmp/.complete"
	rm -rf "$out"
	mv "$tmp" "$out"
	# Keep the 16 most recently used assemblies.
	find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name '.tmp.*' -printf '%T@ %p\n' 2>/dev/null |
		sort -rn | tail -n +17 | cut -d' ' -f2- | xargs -r rm -rf
	echo "$out"
}
against=()
if $deployed; then
	title="the deployed stack"
else
	if ! base_sha="$(git -C "$root" rev-parse --verify --quiet "$base^{commit}")"; then
		echo "diff: base \"$base\" is not a git revision here (fetch it first, e.g. git fetch origin main)" >&2
		exit 2
	fi
	title="\`$base\` (\`${base_sha:0:12}\`)"
	base_key="$(commit_inputs "$base_sha" | cache_key)"
fi
head_key="$(worktree_inputs | cache_key)"
# The two sides synthesize at the same time (once when their inputs agree).
if ! $deployed && [ "$base_key" != "$head_key" ]; then
	if [ ! -f "$cache/$base_key/.complete" ]; then
		git -C "$root" worktree add --detach --quiet "$work/base" "$base_sha"
	fi
	synth "$work/base" "$base_key" "the base ($base, ${base_sha:0:12})" >"$work/base.dir" &
	base_pid=$!
fi
head_out="$(synth "$root" "$head_key" "the working tree")" || {
	if [ -n "${base_pid:-}" ]; then wait "$base_pid" || true; fi
	exit 2
}
if ! $deployed; then
	base_out="$head_out"
	if [ -n "${base_pid:-}" ]; then
		wait "$base_pid" || exit 2
		base_out="$(cat "$work/base.dir")"
	fi
	base_template="$base_out/$stack.template.json"
	if [ ! -f "$base_template" ]; then
		base_template="$work/empty.template.json"
		echo '{}' >"$base_template" # the stack is new in the head
	fi
	against=(--template "$base_template")
fi

# Inputs that agree synthesize to the same assembly: nothing to compare.
# Two cached assemblies always compare the same, so their cdk diff is kept
# beside them (a pull request's plain and markdown diffs run it once); the
# deployed stack changes outside the repository and is compared every time.
if ! $deployed && [ "$base_key" = "$head_key" ]; then
	echo "There were no differences" >"$work/diff.txt"
elif ! $deployed && [ -f "$head_out/.diff.$base_key" ]; then
	cp "$head_out/.diff.$base_key" "$work/diff.txt"
else
	"$cdk" diff --no-color --no-notices --app "$head_out" "${against[@]}" "$stack" >"$work/diff.txt" 2>&1 || {
		echo "diff: cdk diff failed:" >&2
		grep -v '^!!' "$work/diff.txt" | tail -n 20 >&2
		exit 2
	}
	if ! $deployed; then
		cp "$work/diff.txt" "$head_out/.diff.$base_key.$$" && mv "$head_out/.diff.$base_key.$$" "$head_out/.diff.$base_key"
	fi
fi

# Keep the diff itself: from the "Stack" header up to the summary line.
body="$(sed -n '/^Stack /,$p' "$work/diff.txt" | grep -v -e '^✨' -e '^Number of stacks' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' || true)"
security=()
grep -q '^IAM Statement Changes' <<<"$body" && security+=("IAM statements")
grep -q '^IAM Policy Changes' <<<"$body" && security+=("IAM policies")
grep -q '^Security Group Changes' <<<"$body" && security+=("security groups")
changed=true
if grep -q 'There were no differences' <<<"$body" || ! grep -q '^\[[-+~]\]' <<<"$body"; then
	changed=false
fi

security_list=""
for s in "${security[@]}"; do
	security_list="${security_list:+$security_list, }$s"
done

summary="no differences"
if $changed; then
	summary="$(grep -c '^\[[-+~]\]' <<<"$body") resource(s) changed"
fi
if ! $markdown; then
	echo "Infrastructure diff of the working tree against ${title//\`/}: $summary"
	if [ ${#security[@]} -gt 0 ]; then
		echo "SECURITY-RELEVANT CHANGES: $security_list — review them first."
	fi
	if $changed; then
		echo
		echo "$body"
	fi
	exit 0
fi

if $deployed; then
	echo "<!-- supabase-on-aws:cdk-deployed-diff -->"
else
	echo "<!-- supabase-on-aws:cdk-diff -->"
fi
echo "### Infrastructure diff against $title"
echo
if [ ${#security[@]} -gt 0 ]; then
	echo "> [!WARNING]"
	echo "> **Security-relevant changes:** $security_list. Review them first."
	echo
fi
if ! $changed; then
	echo "No differences: this change leaves the synthesized \`$stack\` template as it is."
	exit 0
fi
echo "$summary."
echo
echo '```text'
echo "$body"
echo '```'

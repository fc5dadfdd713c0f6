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
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
cdk="$root/tools/node_modules/.bin/cdk"
stack=SupabaseStack

work="$(mktemp -d)"
cleanup() {
	git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# synth DIR OUT LABEL: synthesizes the app in DIR into OUT, or explains why not.
synth() {
	local dir="$1" out="$2" label="$3"
	if [ ! -f "$dir/cdk.json" ]; then
		echo "diff: $label has no cdk.json, so it cannot be synthesized" >&2
		exit 2
	fi
	if ! (cd "$dir" && "$cdk" synth --quiet --output "$out" "${cdk_args[@]}") >"$out.log" 2>&1; then
		echo "diff: $label does not synthesize; cdk synth said:" >&2
		grep -v '^!!' "$out.log" | tail -n 20 >&2
		exit 2
	fi
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
	git -C "$root" worktree add --detach --quiet "$work/base" "$base_sha"
	synth "$work/base" "$work/base.out" "the base ($base, ${base_sha:0:12})"
	base_template="$work/base.out/$stack.template.json"
	if [ ! -f "$base_template" ]; then
		echo '{}' >"$base_template" # the stack is new in the head
	fi
	against=(--template "$base_template")
fi
synth "$root" "$work/head.out" "the working tree"

# cdk diff writes the diff to stderr.
"$cdk" diff --no-color --app "$work/head.out" "${against[@]}" "$stack" >"$work/diff.txt" 2>&1 || {
	echo "diff: cdk diff failed:" >&2
	grep -v '^!!' "$work/diff.txt" | tail -n 20 >&2
	exit 2
}

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

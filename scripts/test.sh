#!/usr/bin/env bash
# Runs every test of the project: formatting, vet and linters (shellcheck,
# actionlint), the config and CDK template tests (snapshot, assertions,
# construct tests, security-group matrix, cfn-lint, cdk-nag), the offline
# diff and repository checks, the Lua specs, the Node tests and every
# service module's Go tests. Installs what is missing first.
#
# Independent suites run at the same time, each into its own log; the logs
# are printed once all have finished: first the wall time of each suite,
# then the logs in a fixed order, the service modules' go test output last.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" test
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"
cd "$root"

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
start=$(date +%s)

lint() {
	echo "== gofmt"
	local unformatted
	unformatted="$(find . \( -name node_modules -o -name .git -o -name .cache -o -name cdk.out \) -prune -o -name '*.go' -print0 | xargs -0 gofmt -l)"
	if [ -n "$unformatted" ]; then
		echo "not gofmt-formatted (run gofmt -w):" >&2
		echo "$unformatted" >&2
		return 1
	fi
	echo "== shellcheck"
	shellcheck -x scripts/*.sh .ci/run services/kong/config/docker-entrypoint.sh
	echo "== actionlint"
	# Pinned; built from the Go module proxy on first use.
	go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.7
}

# go test's own vet pass is off: go vet, which runs first, checks a superset.
cdk() {
	echo "== go vet (CDK app)"
	go vet ./...
	echo "== go test (CDK app: config, constructs, template, scripts)"
	go test -count=1 -vet=off ./...
}

scripted() {
	echo "== services/kong: busted (LuaJIT)"
	(cd services/kong && busted --lua=luajit spec)
	if [ -d services/studio ] && compgen -G 'services/studio/*.test.mjs' >/dev/null; then
		echo "== services/studio: node --test"
		(cd services/studio && node --test)
	fi
}

# Each runtime service is its own Go module (services/<name>/go.mod, and
# services/kong/crosscheck, which checks the Lua plugin against Go libraries).
# One module at a time, the tenant-manager (the longest) first: on two cores
# the suites already keep the CPU busy, and more at once only starves the
# tests that check timing. Its app tests run 4 at a time (-parallel 4:
# measured as fast as 8; 16 starves the timing checks).
module() {
	local dir="$1"
	if [ -z "$(find "$dir" -name '*_test.go' -print -quit)" ]; then
		echo "== $dir: go vet (a library without tests of its own)"
		(cd "$dir" && go vet ./...)
	else
		echo "== $dir: go vet, go test"
		(cd "$dir" && go vet ./... && go test -count=1 -vet=off -parallel 4 ./...)
	fi
}
modules() {
	local mod dir rc=0
	for mod in services/tenant-manager/go.mod $(find services -name go.mod -not -path '*/node_modules/*' -not -path services/tenant-manager/go.mod | sort); do
		dir="$(dirname "$mod")"
		module "$dir" || rc=1
	done
	return $rc
}

suites=(lint scripted cdk modules)
for s in "${suites[@]}"; do
	(
		t0=$(date +%s)
		rc=0
		"$s" >"$logs/$s.log" 2>&1 || rc=$?
		echo "$rc $(($(date +%s) - t0))" >"$logs/$s.status"
	) &
done
wait

failed=()
for s in "${suites[@]}"; do
	read -r rc secs <"$logs/$s.status"
	printf 'test.sh: %-9s %4ss  %s\n' "$s" "$secs" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")"
	if [ "$rc" -ne 0 ]; then failed+=("$s"); fi
done
echo "test.sh: all suites ran in $(($(date +%s) - start))s wall"
for s in "${suites[@]}"; do
	echo
	cat "$logs/$s.log"
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "test.sh: failed: ${failed[*]} (their logs are above)" >&2
	exit 1
fi

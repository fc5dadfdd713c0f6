#!/usr/bin/env bash
# Runs every test of the project: formatting, vet and linters (shellcheck,
# actionlint), the config and CDK template tests (snapshot, assertions,
# security-group matrix, cfn-lint, cdk-nag) and the offline diff tests.
# Installs what is missing first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" test
cd "$root"
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1

echo "== gofmt"
unformatted="$(find . \( -name node_modules -o -name .git -o -name .cache -o -name cdk.out \) -prune -o -name '*.go' -print0 | xargs -0 gofmt -l)"
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted (run gofmt -w):" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== shellcheck"
shellcheck scripts/*.sh .ci/run services/kong/config/docker-entrypoint.sh

echo "== actionlint"
# Pinned; built from the Go module proxy on first use.
go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.7

echo "== go vet"
go vet ./...

echo "== go test (CDK app)"
go test -count=1 ./...

echo "== services/kong: busted (LuaJIT)"
(cd services/kong && busted --lua=luajit spec)

# Each runtime service is its own Go module (services/<name>/go.mod, and
# services/kong/crosscheck, which checks the Lua plugin against Go libraries).
mods="$(find services -name go.mod -not -path '*/node_modules/*' | sort)"
tested=""
for mod in $mods; do
	dir="$(dirname "$mod")"
	if [ -z "$(find "$dir" -name '*_test.go' -print -quit)" ]; then
		echo "== $dir: go vet (a library without tests of its own)"
		(cd "$dir" && go vet ./...)
	else
		tested="$tested $dir"
	fi
done
for dir in $tested; do
	echo "== $dir: go vet, go test"
	(cd "$dir" && go vet ./... && go test -count=1 ./...)
done

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

# gobuild DIR LIST FLAGS PATTERN...: builds the test binaries of the
# packages PATTERN (run in DIR) matches and appends one line per package to
# LIST: the binary, the package, its directory and FLAGS (test flags, e.g.
# -test.parallel=4, or "") for that binary.
# gorun LIST runs them as go test would, each in its package's directory,
# two at a time, and prints one ok/FAIL line per package (a failing
# package's whole output first).
#
# go test links every test binary again on every run (seconds for one that
# holds the CDK bindings). Here each binary is kept in .cache/test-bin, and
# go test -c leaves a binary alone when nothing it is built from changed.
# The binaries are built without go test's vet pass (go vet runs first) and
# without debug information (tracebacks keep their function names and lines).
gobuild() {
	local dir="$1" list="$2" flags="$3"
	shift 3
	local key="${dir//\//_}"
	if [ "$dir" = . ]; then key=cdk-app; fi
	local bins="$root/.cache/test-bin/$key" packages
	mkdir -p "$bins"
	packages="$(mktemp -p "$logs")"
	# Packages with tests, as "binary-name import-path directory". A binary is
	# named after the package directory, or after the whole import path when
	# two directories share a name (cmd/bootstrap and internal/bootstrap).
	(cd "$dir" && go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' "$@") |
		awk '{ n = split($1, p, "/"); name[NR] = p[n]; seen[p[n]]++; line[NR] = $0 }
			END { for (i = 1; i <= NR; i++) { b = name[i]; if (seen[b] > 1) { b = line[i]; sub(/ .*/, "", b); gsub("/", "_", b) } print b, line[i] } }' >"$packages" || return 1
	# Packages named after their directory build in one go command (-o DIR/
	# names each binary so); the others one by one.
	local -a build=(go test -c -vet=off -ldflags='-s -w') unique=()
	local name pkg pdir
	while read -r name pkg pdir; do
		if [ "$name" = "${pkg##*/}" ]; then
			unique+=("$pkg")
		else
			(cd "$dir" && "${build[@]}" -o "$bins/$name.test" "$pkg") || return 1
		fi
	done <"$packages"
	if [ ${#unique[@]} -gt 0 ]; then
		(cd "$dir" && "${build[@]}" -o "$bins/" "${unique[@]}") || return 1
	fi
	while read -r name pkg pdir; do
		echo "$bins/$name.test $pkg $pdir $flags"
	done <"$packages" >>"$list"
}
#
# The longest package of the last run starts first (its time is kept in
# .cache/test-bin/durations; a package not seen before counts as longest):
# the short ones then share the other slot instead of waiting behind it.
gorun() {
	local list="$1" out durations="$root/.cache/test-bin/durations"
	out="$(mktemp -d -p "$logs")"
	touch "$durations"
	awk 'FILENAME == ARGV[1] { ms[$1] = $2; next } { print (($2 in ms) ? ms[$2] : 999999999), $0 }' "$durations" "$list" |
		sort -s -k1,1nr | cut -d' ' -f2- >"$out/queue"
	if [ "$(wc -l <"$out/queue")" -ne "$(wc -l <"$list")" ]; then
		echo "test.sh: ordering the test binaries lost some of them" >&2
		return 1
	fi
	local i=0 rc=0 t0 status ms bin pkg pdir flags
	while read -r bin pkg pdir flags; do
		while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || true; done
		(
			t0=$(date +%s%N)
			status=0
			# shellcheck disable=SC2086 # the flags are words
			(cd "$pdir" && "$bin" -test.paniconexit0 -test.timeout=10m $flags) >"$out/$i.log" 2>&1 || status=$?
			echo "$status $((($(date +%s%N) - t0) / 1000000))" >"$out/$i.status"
		) &
		i=$((i + 1))
	done <"$out/queue"
	wait
	i=0
	while read -r bin pkg pdir flags; do
		read -r status ms <"$out/$i.status"
		printf '%s %s\n' "$pkg" "$ms" >>"$out/durations"
		if [ "$status" -eq 0 ]; then
			printf 'ok  \t%s\t%d.%03ds\n' "$pkg" $((ms / 1000)) $((ms % 1000))
		else
			cat "$out/$i.log"
			printf 'FAIL\t%s\t%d.%03ds (exit %s)\n' "$pkg" $((ms / 1000)) $((ms % 1000)) "$status"
			rc=1
		fi
		i=$((i + 1))
	done <"$out/queue"
	# Both Go suites update it, each keeping the other's packages (should
	# they finish at the same moment, one update is lost: only an order).
	touch "$out/durations"
	awk 'FILENAME == ARGV[1] { seen[$1] = 1; print; next } !($1 in seen)' "$out/durations" "$durations" >"$out/durations.all"
	mv "$out/durations.all" "$durations"
	return $rc
}

cdk() {
	echo "== go vet (CDK app)"
	go vet ./...
	echo "== go test (CDK app: config, constructs, template, scripts)"
	local list="$logs/cdk.tests"
	: >"$list"
	gobuild . "$list" "" ./... && gorun "$list"
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
# services/kong/crosscheck, which checks the Lua plugin against Go libraries),
# all of them in the workspace services/go.work: one go command vets, lists
# and builds them all (one per module loaded the packages seven times), and
# their test binaries share gorun's queue, the longest (the tenant-manager's
# app tests) first. Tests run 4 at a time inside a binary (-parallel 4:
# measured as fast as 8; 16 starves the tests that check timing).
modules() {
	local mod dir patterns=() list="$logs/modules.tests"
	while read -r dir; do
		patterns+=("./${dir#"$root/services/"}/...")
	done < <(cd services && go list -m -f '{{.Dir}}')
	# A module left out of go.work would go untested.
	while read -r mod; do
		dir="$(dirname "$mod")"
		if [[ ! " ${patterns[*]} " == *" ./${dir#services/}/... "* ]]; then
			echo "test.sh: $dir is not in services/go.work (add it: cd services && go work use ./${dir#services/})" >&2
			return 1
		fi
	done < <(find services -name go.mod -not -path '*/node_modules/*')
	echo "== services: go vet, go test (${patterns[*]})"
	: >"$list"
	(cd services && go vet "${patterns[@]}") && gobuild services "$list" -test.parallel=4 "${patterns[@]}" && gorun "$list"
}

suites=(lint scripted cdk modules)
for s in "${suites[@]}"; do
	(
		t0=$(date +%s)
		rc=0
		# Not "$s" || rc=$?: bash ignores set -e inside a function called
		# that way, and a failing first step would go unnoticed.
		"$s" >"$logs/$s.log" 2>&1 &
		wait $! || rc=$?
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

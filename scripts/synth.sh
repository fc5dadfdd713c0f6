#!/usr/bin/env bash
# Synthesizes SupabaseStack into cdk.out/ with the default config.json (no AWS
# account needed). Extra arguments go to `cdk synth`, e.g.
#   scripts/synth.sh -c config=path/to/other.json
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" synth
cd "$root"
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 CDK_DISABLE_CLI_TELEMETRY=true
exec "$root/tools/node_modules/.bin/cdk" synth --quiet --no-notices "$@"

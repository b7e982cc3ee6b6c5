#!/usr/bin/env bash
# The README's main job on the local world: bring the world up (if it is not), configure the
# "demo" stack from .world/world.json, `pulumi up` the three machines, and print the nodes as
# Kubernetes sees them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/world.sh up >&2
# shellcheck source=scripts/pulumi-env.sh
. scripts/pulumi-env.sh
mkdir -p .world/state
export PULUMI_BACKEND_URL="file://$repo/.world/state"
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE:-aios-demo-passphrase}
# `npm test` type-checks the program; the engine need not do it again on every run.
export PULUMI_NODEJS_TRANSPILE_ONLY=${PULUMI_NODEJS_TRANSPILE_ONLY:-true}
node -r ts-node/register/transpile-only scripts/demo.ts "$@"

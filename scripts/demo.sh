#!/usr/bin/env bash
# The README's main job on the local world: bring the world up (if it is not), configure the
# "demo" stack from .world/world.json, `pulumi up` the three machines, and print the nodes as
# Kubernetes sees them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/world.sh up >&2
# shellcheck source=scripts/demo-env.sh
. scripts/demo-env.sh
node -r ts-node/register/transpile-only scripts/demo.ts "$@"

#!/usr/bin/env bash
# npm run bench [-- --sizes 1,10,50 --repeats 3]: the scale benchmark on the local world.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pulumi-env.sh
. scripts/pulumi-env.sh
exec node -r ts-node/register/transpile-only bench/bench.ts "$@"

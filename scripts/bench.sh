#!/usr/bin/env bash
# npm run bench [-- --sizes 1,10,50 --repeats 3]: the scale benchmark on the local world.
# npm run bench:profile -- N [parallelism]: one up of N machines with the CPU time of each kind of process.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pulumi-env.sh
. scripts/pulumi-env.sh
if [ "${1:-}" = --profile ]; then
  shift
  exec node -r ts-node/register/transpile-only bench/profile.ts "$@"
fi
exec node -r ts-node/register/transpile-only bench/bench.ts "$@"

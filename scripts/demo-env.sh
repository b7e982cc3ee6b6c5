# shellcheck shell=bash
# The environment of the demo stack, for driving it with the pulumi CLI yourself. Source it from bash in
# the clone, after `npm run demo` has made the stack:
#
#   . scripts/demo-env.sh && pulumi stack select demo && pulumi preview --diff
#
# It sources scripts/pulumi-env.sh (the offline engine: the CLI on PATH, the plugins in PULUMI_HOME) and
# points the CLI at the demo's backend (.world/state in the clone, a file:// backend) with its passphrase.
# scripts/demo.sh uses it too, so the CLI and the demo see the same stack.
_aios_demo_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/pulumi-env.sh
if . "$_aios_demo_repo/scripts/pulumi-env.sh"; then
  mkdir -p "$_aios_demo_repo/.world/state"
  export PULUMI_BACKEND_URL="file://$_aios_demo_repo/.world/state"
  export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE:-aios-demo-passphrase}
  # `npm test` type-checks the program; the engine need not do it again on every run.
  export PULUMI_NODEJS_TRANSPILE_ONLY=${PULUMI_NODEJS_TRANSPILE_ONLY:-true}
  unset _aios_demo_repo
else
  unset _aios_demo_repo
  # shellcheck disable=SC2317 # exit only when run instead of sourced
  return 1 2>/dev/null || exit 1
fi

# shellcheck shell=bash
# Offline Pulumi environment for this project. Source it from bash:
#
#   . scripts/pulumi-env.sh
#
# It finds (or builds, on first use) the tools with scripts/toolchain.sh unless AIOS_TOOLS_BIN is already
# set, then exports what the engine needs to run with no network: a folder holding only the `pulumi` CLI
# first on PATH ($AIOS_PULUMI_ROOT/bin; the language host sits next to the CLI it resolves to, where the
# engine looks for bundled plugins), Node 22 from node_modules next, a PULUMI_HOME outside the clone (unless PULUMI_HOME is set),
# and the switches that stop the CLI from calling home. Provider plugins found by toolchain.sh are
# installed into PULUMI_HOME under the exact versions the npm SDKs ask for, so the engine takes them from
# there and prints no "using … from $PATH" warning. The backend (file://…) and PULUMI_CONFIG_PASSPHRASE
# are the caller's.

_aios_env() {
  local repo cache bin
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return 1
  cache=${AIOS_TOOLS_CACHE:-$HOME/.cache/aios-onboarding-tools}
  bin=${AIOS_TOOLS_BIN:-}
  if [[ -z "$bin" ]]; then
    bin=$(bash "$repo/scripts/toolchain.sh" | tail -n 1) || {
      echo "pulumi-env: scripts/toolchain.sh failed" >&2
      return 1
    }
  fi
  [[ -x "$bin/pulumi" ]] || {
    echo "pulumi-env: no pulumi in $bin" >&2
    return 1
  }

  export AIOS_TOOLS_BIN=$bin
  export PULUMI_HOME=${PULUMI_HOME:-$cache/pulumi-home}
  export PULUMI_SKIP_UPDATE_CHECK=true
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_DISABLE_REGISTRY_RESOLVE=true
  export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
  export PULUMI_SKIP_CONFIRMATIONS=true
  # $cache/cli/bin holds only `pulumi`; with the Automation API use PulumiCommand.get({ root: $AIOS_PULUMI_ROOT }),
  # which puts <root>/bin first on the engine's PATH.
  local cli=$cache/cli/bin pulumi
  pulumi=$(readlink -f "$bin/pulumi")
  [[ -x "$(dirname "$pulumi")/pulumi-language-nodejs" ]] || {
    echo "pulumi-env: no pulumi-language-nodejs next to $pulumi (the engine looks for its language hosts there)" >&2
    return 1
  }
  mkdir -p "$cli"
  [[ "$(readlink "$cli/pulumi" 2>/dev/null)" == "$pulumi" ]] || ln -sfn "$pulumi" "$cli/pulumi"
  case ":$PATH:" in
    *":$cli:"*) ;;
    *) PATH=$cli:$repo/node_modules/.bin:$PATH ;;
  esac
  export PATH
  export AIOS_PULUMI_ROOT=${cli%/bin}
  mkdir -p "$PULUMI_HOME"

  # name version: the versions @pulumi/command and @pulumi/kubernetes in package.json ask the engine for.
  local spec name version file
  for spec in "command 1.2.1" "kubernetes 4.24.1"; do
    read -r name version <<<"$spec"
    file=$bin/pulumi-resource-$name
    [[ -x "$file" ]] || continue
    # Already installed, and the same binary (a rebuilt stand-in replaces the installed copy).
    cmp -s "$file" "$PULUMI_HOME/plugins/resource-$name-v$version/pulumi-resource-$name" && continue
    rm -rf "$PULUMI_HOME/plugins/resource-$name-v$version"{,.lock,.partial}
    "$bin/pulumi" plugin install resource "$name" "$version" --file "$(readlink -f "$file")" >&2 || {
      echo "pulumi-env: could not install plugin $name $version into $PULUMI_HOME" >&2
      return 1
    }
  done
}

if _aios_env; then
  unset -f _aios_env
else
  unset -f _aios_env
  # shellcheck disable=SC2317 # exit only when run instead of sourced
  return 1 2>/dev/null || exit 1
fi

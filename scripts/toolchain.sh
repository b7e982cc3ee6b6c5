#!/usr/bin/env bash
# Locate or build the Pulumi engine and the Kubernetes control-plane binaries.
#
#   bash scripts/toolchain.sh [TOOL...]     TOOL: pulumi yaml command k8s-provider etcd kubernetes (default: all)
#
# A binary already on PATH whose version fits is used as it is. Anything else is built from Go modules
# (wrapper go.mod/go.sum committed under toolchain/<family>/) into a cache outside the clone, keyed by
# version: $AIOS_TOOLS_CACHE (default ~/.cache/aios-onboarding-tools)/<name>-<version>/bin/. Later runs
# reuse it. $CACHE/bin gets one symlink per binary; that folder is the LAST line printed on stdout.
# Everything else goes to stderr. See docs/toolchain.md.
# When the real pulumi-resource-command 1.2.1 can be neither found nor built, our stand-in is built from
# toolchain/command-standin (with a warning).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${AIOS_TOOLS_CACHE:-$HOME/.cache/aios-onboarding-tools}
BIN=$CACHE/bin
LOGS=$CACHE/logs

PULUMI_VERSION=v3.259.0
# The Node.js language host of 3.259.0 (module .../sdk/nodejs/cmd/pulumi-language-nodejs/v3) is refused by
# the Go module proxy, so the host is built from the last release that shipped it inside sdk/v3.
NODEJS_HOST_VERSION=v3.68.0
ETCD_VERSION=v3.6.14
K8S_VERSION=v1.36.3
COMMAND_VERSION=1.2.1
COMMAND_MODULE=github.com/pulumi/pulumi-command/provider
COMMAND_PSEUDO=v0.0.0-20260303235922-7f3eb6f3b77c # commit 7f3eb6f3b77c = tag v1.2.1
# The kubernetes provider: the only version the Go module proxy serves is a commit of 2026-01-15 on the 4.24
# line (toolchain/pulumi-kubernetes/go.mod); package.json pins @pulumi/kubernetes to the matching SDK.
K8S_PROVIDER_VERSION=4.24.1
# The Pulumi YAML language host (examples/yaml): the version toolchain/pulumi-language-yaml/go.mod pins.
YAML_HOST_VERSION=v1.25.0

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath

log() { printf 'toolchain: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# ---------------------------------------------------------------------------------------------------------
# helpers

# PATH without our own bin folder, so that a previous run's symlinks are not mistaken for a user's install.
foreign_path() {
  local out="" dir
  local IFS=:
  for dir in $PATH; do
    [[ -n "$dir" && "$dir" != "$BIN" ]] && out="${out:+$out:}$dir"
  done
  printf '%s' "$out"
}

# which NAME: absolute, symlink-resolved path of NAME on the user's PATH, or nothing.
which_foreign() {
  local p
  p=$(PATH=$(foreign_path) command -v "$1" 2>/dev/null) || return 1
  readlink -f "$p"
}

# version_ge A B: true when semver A >= B (both without a leading v).
version_ge() {
  [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$2" ]]
}

link() { # link TARGET NAME
  ln -sfn "$1" "$BIN/$2"
}

# stamp KEY: a digest of the committed wrapper files and the build recipe, so an edited wrapper rebuilds.
stamp_of() { # stamp_of FAMILY RECIPE
  cat "$REPO/toolchain/$1/go.mod" "$REPO/toolchain/$1/go.sum" <(printf '%s' "$2") | sha256sum | cut -d' ' -f1
}

is_built() { # is_built KEY STAMP BINARY...
  local key=$1 stamp=$2 b
  shift 2
  [[ -f "$CACHE/$key/.stamp" && "$(cat "$CACHE/$key/.stamp")" == "$stamp" ]] || return 1
  for b in "$@"; do [[ -x "$CACHE/$key/bin/$b" ]] || return 1; done
}

# prepare_src FAMILY KEY: copy the committed wrapper module to a build folder in the cache; prints the folder.
prepare_src() {
  local src=$CACHE/src/$2
  mkdir -p "$src"
  cp "$REPO/toolchain/$1/go.mod" "$REPO/toolchain/$1/go.sum" "$src/"
  chmod u+w "$src/go.mod" "$src/go.sum"
  printf '%s' "$src"
}

go_in() { # go_in DIR ARGS...: run go in DIR
  local dir=$1
  shift
  (cd "$dir" && go "$@")
}

# run_logged KEY WHAT CMD...: run a build step with its output in $LOGS/KEY.log; on failure show the tail.
run_logged() {
  local key=$1 what=$2
  shift 2
  if ! "$@" >>"$LOGS/$key.log" 2>&1; then
    tail -n 30 "$LOGS/$key.log" >&2
    die "$what failed (full log: $LOGS/$key.log)"
  fi
}

# finish KEY STAMP STARTED: move the finished build into place and record how long it took.
finish() {
  local key=$1 stamp=$2 started=$3 secs
  secs=$(($(date +%s) - started))
  printf '%s\n' "$stamp" >"$CACHE/$key.tmp/.stamp"
  printf 'built=%s seconds=%s go=%s\n' "$(date -u +%FT%TZ)" "$secs" "$(go env GOVERSION)" >"$CACHE/$key.tmp/build-info"
  rm -rf "${CACHE:?}/$key"
  mv "$CACHE/$key.tmp" "$CACHE/$key"
  log "built $key in ${secs}s"
}

start_build() { # start_build KEY: fresh output folder and log; prints the start time
  rm -rf "$CACHE/$1.tmp"
  mkdir -p "$CACHE/$1.tmp/bin"
  : >"$LOGS/$1.log"
  log "building $1 from Go modules (log: $LOGS/$1.log); a cold build takes minutes"
  date +%s
}

# proxy_serves MODULE@VERSION: does the Go module proxy serve this exact version?
proxy_serves() {
  (cd "$CACHE" && timeout 60 go list -m -json "$1" >/dev/null 2>>"$LOGS/probe.log")
}

# ---------------------------------------------------------------------------------------------------------
# pulumi CLI + Node.js language host + pulumi-resource-pulumi-nodejs

tool_pulumi() {
  local found dir
  if found=$(which_foreign pulumi); then
    local v
    v=$("$found" version 2>/dev/null | tr -d '[:space:]' || true)
    if [[ "$v" =~ ^v3\.[0-9]+\.[0-9]+$ ]] && version_ge "${v#v}" "${PULUMI_VERSION#v}"; then
      dir=$(dirname "$found")
      log "using pulumi $v from PATH ($found)"
      link "$found" pulumi
      local p
      for p in pulumi-language-nodejs pulumi-resource-pulumi-nodejs pulumi-analyzer-policy; do
        if [[ -x "$dir/$p" ]]; then link "$dir/$p" "$p"; elif found=$(which_foreign "$p"); then link "$found" "$p"; fi
      done
      [[ -e "$BIN/pulumi-language-nodejs" ]] || die "pulumi $v found at $dir but no pulumi-language-nodejs next to it or on PATH"
      return
    fi
    log "ignoring pulumi on PATH ($found): version '${v}' is not >= $PULUMI_VERSION"
  fi

  local key=pulumi-$PULUMI_VERSION recipe stamp
  local ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  recipe="tags=osusergo,grpcnotrace ldflags=$ldflags"
  stamp=$(stamp_of pulumi "$recipe")
  if ! is_built "$key" "$stamp" pulumi pulumi-resource-pulumi-nodejs; then
    local started src sdk
    started=$(start_build "$key")
    src=$(prepare_src pulumi "$key")
    run_logged "$key" "go build pulumi" \
      go_in "$src" build -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$CACHE/$key.tmp/bin/pulumi" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    sdk=$(cd "$src" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
    install -m 0755 "$sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$CACHE/$key.tmp/bin/"
    finish "$key" "$stamp" "$started"
  fi
  link "$CACHE/$key/bin/pulumi" pulumi
  link "$CACHE/$key/bin/pulumi-resource-pulumi-nodejs" pulumi-resource-pulumi-nodejs

  language_host pulumi-language-nodejs "pulumi-language-nodejs-$NODEJS_HOST_VERSION" \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$NODEJS_HOST_VERSION" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
}

# Builds (unless cached) and links a language host, one Go binary from its wrapper module
# (toolchain/NAME), and puts it next to a CLI this script built: the engine takes a language host that
# sits next to the (symlink-resolved) CLI as bundled, so a PATH that holds only the CLI finds it without
# a "using … from $PATH" warning (scripts/pulumi-env.sh).
language_host() { # NAME KEY LDFLAGS PACKAGE
  local name=$1 key=$2 ldflags=$3 package=$4 stamp started src
  stamp=$(stamp_of "$name" "ldflags=$ldflags")
  if ! is_built "$key" "$stamp" "$name"; then
    started=$(start_build "$key")
    src=$(prepare_src "$name" "$key")
    run_logged "$key" "go build $name" go_in "$src" build -ldflags "$ldflags" -o "$CACHE/$key.tmp/bin/$name" "$package"
    finish "$key" "$stamp" "$started"
  fi
  link "$CACHE/$key/bin/$name" "$name"
  if [[ -d "$CACHE/pulumi-$PULUMI_VERSION/bin" ]]; then ln -sfn "$CACHE/$key/bin/$name" "$CACHE/pulumi-$PULUMI_VERSION/bin/$name"; fi
}

# ---------------------------------------------------------------------------------------------------------
# pulumi-language-yaml: runs the Pulumi YAML programs of examples/yaml

tool_yaml() {
  local found
  if found=$(which_foreign pulumi-language-yaml); then
    log "using pulumi-language-yaml from PATH ($found)"
    link "$found" pulumi-language-yaml
    return
  fi
  language_host pulumi-language-yaml "pulumi-language-yaml-$YAML_HOST_VERSION" "-s -w" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
}

# ---------------------------------------------------------------------------------------------------------
# etcd

tool_etcd() {
  local found v
  if found=$(which_foreign etcd); then
    v=$("$found" --version 2>/dev/null | sed -n 's/^etcd Version: *//p' || true)
    if [[ "$v" == 3.6.* ]]; then
      log "using etcd $v from PATH ($found)"
      link "$found" etcd
      return
    fi
    log "ignoring etcd on PATH ($found): version '${v}' is not 3.6.x"
  fi
  local key=etcd-$ETCD_VERSION ldflags="-s -w" stamp
  stamp=$(stamp_of etcd "ldflags=$ldflags")
  if ! is_built "$key" "$stamp" etcd; then
    local started src
    started=$(start_build "$key")
    src=$(prepare_src etcd "$key")
    run_logged "$key" "go build etcd" \
      go_in "$src" build -ldflags "$ldflags" -o "$CACHE/$key.tmp/bin/etcd" go.etcd.io/etcd/server/v3
    finish "$key" "$stamp" "$started"
  fi
  link "$CACHE/$key/bin/etcd" etcd
}

# ---------------------------------------------------------------------------------------------------------
# kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes

tool_kubernetes() {
  local minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  local found v need=()
  if found=$(which_foreign kube-apiserver); then
    v=$("$found" --version 2>/dev/null | sed -n 's/^Kubernetes *//p' || true)
    if [[ "$v" == "v1.$minor."* ]]; then
      log "using kube-apiserver $v from PATH ($found)"
      link "$found" kube-apiserver
    else
      log "ignoring kube-apiserver on PATH ($found): version '${v}' is not v1.$minor.x"
      need+=(kube-apiserver)
    fi
  else
    need+=(kube-apiserver)
  fi
  # The world's controller manager: it signs the kubelets' client certificates (TLS bootstrap), so a
  # machine's join token can be deleted once it joined, and cleans up expired join tokens.
  if found=$(which_foreign kube-controller-manager); then
    v=$("$found" --version 2>/dev/null | sed -n 's/^Kubernetes *//p' || true)
    if [[ "$v" == "v1.$minor."* ]]; then
      log "using kube-controller-manager $v from PATH ($found)"
      link "$found" kube-controller-manager
    else
      need+=(kube-controller-manager)
    fi
  else
    need+=(kube-controller-manager)
  fi
  if found=$(which_foreign kubectl); then
    v=$("$found" version --client 2>/dev/null | sed -n 's/^Client Version: *//p' || true)
    if [[ "$v" == "v1.$minor."* ]]; then
      log "using kubectl $v from PATH ($found)"
      link "$found" kubectl
    else
      need+=(kubectl)
    fi
  else
    need+=(kubectl)
  fi
  ((${#need[@]})) || return 0

  local key=kubernetes-$K8S_VERSION stamp ldflags="-s -w" pkg
  for pkg in component-base/version client-go/pkg/version; do
    ldflags+=" -X k8s.io/$pkg.gitVersion=$K8S_VERSION -X k8s.io/$pkg.gitMajor=1 -X k8s.io/$pkg.gitMinor=$minor"
    ldflags+=" -X k8s.io/$pkg.gitTreeState=clean"
  done
  stamp=$(stamp_of kubernetes "ldflags=$ldflags")
  if ! is_built "$key" "$stamp" kube-apiserver kube-controller-manager kubectl; then
    local started src b
    started=$(start_build "$key")
    src=$(prepare_src kubernetes "$key")
    for b in kube-apiserver kube-controller-manager kubectl; do
      run_logged "$key" "go build $b" \
        go_in "$src" build -ldflags "$ldflags" -o "$CACHE/$key.tmp/bin/$b" "k8s.io/kubernetes/cmd/$b"
    done
    finish "$key" "$stamp" "$started"
  fi
  for b in "${need[@]}"; do link "$CACHE/$key/bin/$b" "$b"; done
}

# ---------------------------------------------------------------------------------------------------------
# Provider plugins. The engine looks for them on PATH, then in $PULUMI_HOME/plugins (exact version).

# plugin_installed KIND NAME VERSION: path of an installed plugin in the default or given PULUMI_HOME.
plugin_installed() {
  local home d
  for home in ${PULUMI_HOME:+"$PULUMI_HOME"} "$HOME/.pulumi"; do
    d=$home/plugins/$1-$2-v$3
    if [[ -x "$d/pulumi-$1-$2" && ! -e "$d.partial" ]]; then
      printf '%s' "$d/pulumi-$1-$2"
      return 0
    fi
  done
  return 1
}

# is_standin FILE: is FILE our stand-in (its Go package paths are in the binary, even stripped)?
is_standin() {
  grep -qa 'aios-onboarding/command-standin' "$1" 2>/dev/null
}

tool_command() {
  local found key=pulumi-resource-command-$COMMAND_VERSION home
  if [[ -x "$CACHE/$key/bin/pulumi-resource-command" ]]; then
    link "$CACHE/$key/bin/pulumi-resource-command" pulumi-resource-command
    return
  fi
  # An installed plugin (pulumi-env.sh installs the stand-in into PULUMI_HOME too: skip that one).
  for home in ${PULUMI_HOME:+"$PULUMI_HOME"} "$HOME/.pulumi"; do
    found=$home/plugins/resource-command-v$COMMAND_VERSION/pulumi-resource-command
    if [[ -x "$found" && ! -e "${found%/*}.partial" ]] && ! is_standin "$found"; then
      log "using pulumi-resource-command $COMMAND_VERSION from $found"
      link "$found" pulumi-resource-command
      return
    fi
  done
  if found=$(which_foreign pulumi-resource-command) && ! is_standin "$found"; then
    log "using pulumi-resource-command from PATH ($found); its version cannot be checked, it must be $COMMAND_VERSION"
    link "$found" pulumi-resource-command
  elif [[ -f "$REPO/toolchain/pulumi-command/go.mod" ]] || proxy_serves "$COMMAND_MODULE@$COMMAND_PSEUDO"; then
    build_command
    link "$CACHE/$key/bin/pulumi-resource-command" pulumi-resource-command
  else
    build_command_standin
    link "$CACHE/$COMMAND_STANDIN_KEY/bin/pulumi-resource-command" pulumi-resource-command
    log "WARNING: using the STAND-IN pulumi-resource-command $COMMAND_VERSION built from toolchain/command-standin" \
      "(local.Command and remote.Command only): the Go module proxy refuses $COMMAND_MODULE@$COMMAND_PSEUDO" \
      "(403, $LOGS/probe.log), see docs/toolchain.md"
  fi
}

# Our own plugin (toolchain/command-standin), cached by version and a digest of its sources and build recipe.
COMMAND_STANDIN_KEY=pulumi-resource-command-standin-$COMMAND_VERSION
build_command_standin() {
  local key=$COMMAND_STANDIN_KEY dir=$REPO/toolchain/command-standin stamp src started
  local ldflags="-s -w -X main.version=$COMMAND_VERSION"
  # Sources only: editing a test does not rebuild.
  stamp=$(
    cd "$dir" && find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum
    printf 'ldflags=%s\n' "$ldflags"
  )
  stamp=$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)
  is_built "$key" "$stamp" pulumi-resource-command && return
  started=$(start_build "$key")
  src=$CACHE/src/$key
  rm -rf "$src"
  mkdir -p "$src"
  (cd "$dir" && find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) -print0 |
    tar --null -T - -cf -) | tar -C "$src" -xf -
  chmod -R u+w "$src"
  run_logged "$key" "go build the pulumi-resource-command stand-in" \
    go_in "$src" build -ldflags "$ldflags" -o "$CACHE/$key.tmp/bin/pulumi-resource-command" .
  finish "$key" "$stamp" "$started"
}

# Wrapper module created on the fly (no committed toolchain/pulumi-command yet: the proxy refused it so far).
build_command() {
  local key=pulumi-resource-command-$COMMAND_VERSION started src
  started=$(start_build "$key")
  src=$CACHE/src/$key
  mkdir -p "$src"
  if [[ -f "$REPO/toolchain/pulumi-command/go.mod" ]]; then
    src=$(prepare_src pulumi-command "$key")
  else
    printf 'module aios-onboarding/toolchain/pulumi-command\n\ngo 1.26.0\n' >"$src/go.mod"
    run_logged "$key" "go get pulumi-command" \
      go_in "$src" get -tool "$COMMAND_MODULE/cmd/pulumi-resource-command@$COMMAND_PSEUDO"
    log "commit $src/go.mod and go.sum as toolchain/pulumi-command/ to make this build reproducible"
  fi
  run_logged "$key" "go build pulumi-resource-command" \
    go_in "$src" build -ldflags "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$COMMAND_VERSION" \
    -o "$CACHE/$key.tmp/bin/pulumi-resource-command" "$COMMAND_MODULE/cmd/pulumi-resource-command"
  finish "$key" "-" "$started"
}

# ---------------------------------------------------------------------------------------------------------
# pulumi-resource-kubernetes (used by @pulumi/kubernetes for the labels and taints NodePatch)

tool_k8s_provider() {
  local found key=pulumi-resource-kubernetes-$K8S_PROVIDER_VERSION
  local dir=$REPO/toolchain/pulumi-kubernetes ldflags stamp
  ldflags="-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION"
  stamp=$(cat "$dir/go.mod" "$dir/go.sum" "$dir/cmd/pulumi-resource-kubernetes/main.go" <(printf 'ldflags=%s' "$ldflags") |
    sha256sum | cut -d' ' -f1)
  # A plugin of that version the user installed (not the copy pulumi-env.sh makes in the cache).
  if ! is_built "$key" "$stamp" pulumi-resource-kubernetes && found=$(plugin_installed resource kubernetes "$K8S_PROVIDER_VERSION") &&
    [[ "$found" != "$CACHE/"* ]]; then
    log "using pulumi-resource-kubernetes $K8S_PROVIDER_VERSION from $found"
    link "$found" pulumi-resource-kubernetes
    return
  fi
  if ! is_built "$key" "$stamp" pulumi-resource-kubernetes; then
    local started src mod main
    started=$(start_build "$key")
    src=$(prepare_src pulumi-kubernetes "$key")
    main=$src/cmd/pulumi-resource-kubernetes
    mkdir -p "$main"
    cp "$dir/cmd/pulumi-resource-kubernetes/main.go" "$main/"
    run_logged "$key" "go mod download pulumi-kubernetes" go_in "$src" mod download github.com/pulumi/pulumi-kubernetes/provider/v4
    mod=$(cd "$src" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
    # The generated files upstream's build writes: the schema with the version set, the mapping minified.
    run_logged "$key" "generate the embedded schema" "$REPO/node_modules/.bin/node" -e '
      const fs = require("fs");
      const [from, to, version] = process.argv.slice(1);
      const schema = JSON.parse(fs.readFileSync(from + "/schema.json", "utf8"));
      schema.version = version;
      fs.writeFileSync(to + "/schema-embed.json", JSON.stringify(schema));
      fs.writeFileSync(to + "/terraform-mapping-embed.json", JSON.stringify(JSON.parse(fs.readFileSync(from + "/terraform-mapping.json", "utf8"))));
    ' "$mod/cmd/pulumi-resource-kubernetes" "$main" "$K8S_PROVIDER_VERSION"
    run_logged "$key" "go build pulumi-resource-kubernetes" \
      go_in "$src" build -ldflags "$ldflags" -o "$CACHE/$key.tmp/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
    finish "$key" "$stamp" "$started"
  fi
  link "$CACHE/$key/bin/pulumi-resource-kubernetes" pulumi-resource-kubernetes
}

# ---------------------------------------------------------------------------------------------------------

check_node() {
  local node=$REPO/node_modules/.bin/node v
  [[ -x "$node" ]] || die "$node is missing: run 'npm ci' in $REPO first (Node 22 comes from the 'node' devDependency)"
  v=$("$node" --version 2>/dev/null || true)
  [[ "$v" == v22.* ]] || die "$node reports '${v}', expected v22.x: run 'npm ci' in $REPO"
}

main() {
  local tools=("$@") t
  ((${#tools[@]})) || tools=(pulumi yaml command k8s-provider etcd kubernetes)
  for t in "${tools[@]}"; do
    case $t in
      pulumi | yaml | command | k8s-provider | etcd | kubernetes) ;;
      *) die "unknown tool '$t' (expected: pulumi yaml command k8s-provider etcd kubernetes)" ;;
    esac
  done
  check_node
  command -v go >/dev/null || die "go is not on PATH (Go 1.26 is needed to build)"
  mkdir -p "$BIN" "$LOGS"

  # One build at a time per cache; concurrent callers wait here and then find the cache warm.
  exec 9>"$CACHE/.lock"
  flock 9

  for t in pulumi yaml command k8s-provider etcd kubernetes; do # cheap and most needed first
    [[ " ${tools[*]} " == *" $t "* ]] || continue
    "tool_${t//-/_}"
  done
  printf '%s\n' "$BIN"
}

main "$@"

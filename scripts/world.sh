#!/usr/bin/env bash
# The local AIOS world (issue 4): a real etcd + kube-apiserver, N simulated
# machines (network + mount + PID + UTS namespaces, each with a real OpenSSH
# server and kubeadm/kubelet/nvidia-smi stand-ins), and the AIOS stand-in
# servers. See docs/world.md.
#
#   scripts/world.sh up                      start (or repair) the world; idempotent
#   scripts/world.sh down                    stop and remove everything it made; idempotent
#   scripts/world.sh status                  print a summary
#   scripts/world.sh fault <m> <fault> [arg] inject a fault into machine <m> (m1, m2, ...)
#   scripts/world.sh fault <m> clear [fault] undo all faults (or one) of machine <m>
#   scripts/world.sh ssh <m> [command...]    ssh into a machine as root with the world's key
#
# Environment: WORLD_MACHINES (default 3), WORLD_M<i>_VERSION, WORLD_M<i>_GPUS,
# AIOS_TOOLS_CACHE (cache of built binaries), AIOS_TOOLS_BIN (use this bin
# folder instead of running scripts/toolchain.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W="$ROOT/.world"
NET=10.213                      # the world's private /16
SUBNET="$NET.0.0/16"
BRIDGE=aiosw0
BRIDGE_IP="$NET.0.1"
SERVICE_CIDR="$NET.240.0/20"    # virtual ClusterIPs, inside the world's /16
ETCD_PORT=12379
ETCD_PEER_PORT=12380
KCM_PORT=12357
K8S_VERSION=v1.36.3
CACHE="${AIOS_TOOLS_CACHE:-$HOME/.cache/aios-onboarding-tools}"
HOST_MOUNTPOINTS=(/etc/kubernetes /var/lib/kubelet /var/lib/aios-onboarding)
# Where each machine sees its own folder .world/machines/<m> (world/standins/init.go): a fixed path under
# root-owned folders, so sshd's StrictModes accepts it and the machine's private /tmp and /root cannot hide
# it, wherever the clone is.
MACHINE_VIEW=/run/aios-machine

log() { printf '[world] %s\n' "$*" >&2; }
die() { printf '[world] error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "the world needs root (network namespaces, mounts)"; }

node_bin() {
  if [ -x "$ROOT/node_modules/.bin/node" ]; then echo "$ROOT/node_modules/.bin/node"; else command -v node; fi
}
run_ts() { # run a TypeScript helper of the world
  [ -d "$ROOT/node_modules/ts-node" ] || die "node_modules is missing: run 'npm ci' first"
  (cd "$ROOT" && "$(node_bin)" -r ts-node/register/transpile-only "$@")
}

pid_alive() { # pidfile -> 0 if the process lives (and is not a zombie)
  local f=$1 pid
  [ -s "$f" ] || return 1
  pid=$(head -n1 "$f")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# Start a daemon in its own session; its pid (the exec'd program's) goes to $1.
spawn() {
  local pidfile=$1 logfile=$2; shift 2
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
  for _ in $(seq 50); do [ -s "$pidfile" ] && return 0; sleep 0.05; done
  die "could not start $1"
}

stop_pidfile() { # pidfile [must-contain]: TERM, wait, KILL
  local f=$1 want=${2:-} pid
  [ -s "$f" ] || { rm -f "$f"; return 0; }
  pid=$(head -n1 "$f")
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
    if [ -z "$want" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$want"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
      [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

# ------------------------------------------------------------------ packages

ensure_packages() {
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  command -v ss >/dev/null || missing+=(iproute2)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v ps >/dev/null || missing+=(procps)
  command -v curl >/dev/null || missing+=(curl)
  command -v unshare >/dev/null && command -v nsenter >/dev/null && command -v setsid >/dev/null || missing+=(util-linux)
  command -v go >/dev/null || die "go is not installed (needed to build the stand-ins)"
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing missing Debian packages: ${missing[*]}"
  # Keep package scripts from starting a host-wide sshd.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

# ------------------------------------------------------------------ binaries

tools_bin() {
  if [ -n "${AIOS_TOOLS_BIN:-}" ]; then echo "$AIOS_TOOLS_BIN"; return; fi
  [ -f "$ROOT/scripts/toolchain.sh" ] || die "scripts/toolchain.sh is missing (it builds etcd and kube-apiserver); set AIOS_TOOLS_BIN to a folder that has them"
  local out; out=$(mktemp)
  log "building or finding the toolchain (scripts/toolchain.sh; the first run takes long)"
  if ! bash "$ROOT/scripts/toolchain.sh" etcd kubernetes >"$out"; then rm -f "$out"; die "scripts/toolchain.sh failed"; fi
  tail -n1 "$out"; rm -f "$out"
}

STANDIN=""
build_standins() {
  local src="$ROOT/world/standins" hash
  hash=$( (cd "$src" && go version && find . -type f \( -name '*.go' -o -name go.mod \) ! -name '*_test.go' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
  STANDIN="$CACHE/standins/$hash/aios-standin"
  if [ ! -x "$STANDIN" ]; then
    log "building the stand-ins (world/standins) into $CACHE/standins/$hash"
    mkdir -p "$CACHE/standins/$hash"
    (cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath go build -o "$STANDIN.tmp" .) && mv "$STANDIN.tmp" "$STANDIN"
  fi
}

# ------------------------------------------------------------------ network

ip2int() { local IFS=.; read -r a b c d <<<"$1"; echo $(( (a<<24) | (b<<16) | (c<<8) | d )); }
overlaps() { # prefix prefix
  local n1=${1%/*} l1=${1#*/} n2=${2%/*} l2=${2#*/}
  [ "$l1" = "$1" ] && l1=32; [ "$l2" = "$2" ] && l2=32
  local l=$(( l1 < l2 ? l1 : l2 ))
  [ "$l" -eq 0 ] && return 1   # the default route overlaps everything; more specific routes win
  local s=$(( 32 - l ))
  [ $(( $(ip2int "$n1") >> s )) -eq $(( $(ip2int "$n2") >> s )) ]
}

check_subnet() {
  # Every IPv4 address and route outside the world's own links must stay clear of $SUBNET.
  local line dev pfx
  while read -r line; do
    dev=$(awk '{print $2}' <<<"$line"); pfx=$(awk '{print $4}' <<<"$line")
    [ "$dev" = "$BRIDGE" ] && continue
    overlaps "$pfx" "$SUBNET" && die "address $pfx on $dev overlaps the world's subnet $SUBNET; cannot build the world here"
  done < <(ip -4 -o addr show)
  while read -r line; do
    set -- $line
    case "$1" in local|broadcast|unreachable|blackhole|prohibit|throw|multicast|anycast|unicast) shift;; esac
    pfx=$1
    [ "$pfx" = default ] && continue
    grep -qw "dev $BRIDGE" <<<"$line" && continue
    overlaps "$pfx" "$SUBNET" && die "route '$line' overlaps the world's subnet $SUBNET; cannot build the world here"
  done < <(ip -4 route show table all)
  return 0
}

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    check_subnet
    log "creating bridge $BRIDGE $BRIDGE_IP/16"
    ip link add "$BRIDGE" type bridge
  fi
  ip -4 addr show dev "$BRIDGE" | grep -qw "$BRIDGE_IP/16" || ip addr add "$BRIDGE_IP/16" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

# ------------------------------------------------------------------ PKI

ca_hash() { openssl x509 -in "$W/kube/pki/ca.crt" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | awk '{print "sha256:" $1}'; }

ensure_pki() {
  local p="$W/kube/pki"
  mkdir -p "$p" && chmod 700 "$W/kube" "$p"
  if [ ! -s "$p/ca.crt" ]; then
    log "generating the cluster CA and certificates"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$p/ca.key" -out "$p/ca.crt" -days 3650 -subj "/CN=kubernetes" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" 2>/dev/null
    rm -f "$p/apiserver.crt" "$p/admin.crt"
  fi
  if [ ! -s "$p/apiserver.crt" ]; then
    openssl req -newkey rsa:2048 -nodes -keyout "$p/apiserver.key" -out "$p/apiserver.csr" -subj "/CN=kube-apiserver" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:$BRIDGE_IP,IP:127.0.0.1,IP:$NET.240.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost" >"$p/apiserver.ext"
    openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 -extfile "$p/apiserver.ext" -out "$p/apiserver.crt" 2>/dev/null
  fi
  if [ ! -s "$p/admin.crt" ]; then
    openssl req -newkey rsa:2048 -nodes -keyout "$p/admin.key" -out "$p/admin.csr" -subj "/O=system:masters/CN=kubernetes-admin" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth" >"$p/admin.ext"
    openssl x509 -req -in "$p/admin.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 -extfile "$p/admin.ext" -out "$p/admin.crt" 2>/dev/null
  fi
  if [ ! -s "$p/sa.key" ]; then
    openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
    openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  fi
  chmod 600 "$p"/*.key
  local kc="$W/kube/admin.kubeconfig"
  if [ ! -s "$kc" ]; then
    cat >"$kc" <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: $(base64 -w0 "$p/ca.crt")
    server: https://$BRIDGE_IP:6443
  name: aios-world
contexts:
- context:
    cluster: aios-world
    user: kubernetes-admin
  name: kubernetes-admin@aios-world
current-context: kubernetes-admin@aios-world
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: $(base64 -w0 "$p/admin.crt")
    client-key-data: $(base64 -w0 "$p/admin.key")
EOF
    chmod 600 "$kc"
  fi
  if [ ! -s "$W/kube/static-token" ]; then
    local id secret
    id=$(LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c6 || true)
    secret=$(LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c16 || true)
    (umask 077; echo "$id.$secret" >"$W/kube/static-token")
  fi
}

# ------------------------------------------------------------------ kubernetes

api_ready() {
  curl -sf --max-time 3 --cacert "$W/kube/pki/ca.crt" --cert "$W/kube/pki/admin.crt" --key "$W/kube/pki/admin.key" \
    "https://$BRIDGE_IP:6443/readyz" >/dev/null 2>&1
}
# Who listens on a TCP port ("name (pid N)"), or nothing.
port_holder() { ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n 1; }
# A world of another clone (or one whose folder was deleted) holds the fixed ports: say so, not "did not become ready".
refuse_held_port() {
  local h; h=$(port_holder "$1")
  [ -z "$h" ] || die "port $1 is already held by $h: another world (of another clone, or of a deleted folder) is still up. Run \`bash scripts/world.sh down\` in that clone, or stop that process, then try again"
}
etcd_ready() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }

ensure_kubernetes() {
  local bin=$1
  [ -x "$bin/etcd" ] && [ -x "$bin/kube-apiserver" ] || die "etcd or kube-apiserver missing in $bin"
  if ! pid_alive "$W/pids/etcd.pid"; then
    refuse_held_port "$ETCD_PORT"
    log "starting etcd on 127.0.0.1:$ETCD_PORT"
    mkdir -p "$W/etcd" && chmod 700 "$W/etcd"
    spawn "$W/pids/etcd.pid" "$W/logs/etcd.log" "$bin/etcd" --name world --data-dir "$W/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "world=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
  fi
  for _ in $(seq 150); do etcd_ready && break; pid_alive "$W/pids/etcd.pid" || break; sleep 0.2; done
  etcd_ready || die "etcd did not become healthy (see $W/logs/etcd.log)"
  if ! pid_alive "$W/pids/kube-apiserver.pid"; then
    refuse_held_port 6443
    log "starting kube-apiserver on https://$BRIDGE_IP:6443"
    local p="$W/kube/pki"
    spawn "$W/pids/kube-apiserver.pid" "$W/logs/kube-apiserver.log" "$bin/kube-apiserver" \
      --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
      --bind-address "$BRIDGE_IP" --advertise-address "$BRIDGE_IP" --secure-port 6443 \
      --cert-dir "$W/kube/cert-dir" \
      --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" \
      --client-ca-file "$p/ca.crt" \
      --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
      --service-account-issuer https://kubernetes.default.svc.cluster.local \
      --service-cluster-ip-range "$SERVICE_CIDR" \
      --authorization-mode Node,RBAC --enable-bootstrap-token-auth --anonymous-auth=true \
      --allow-privileged=true --profiling=false --v=1
  fi
  for _ in $(seq 300); do api_ready && break; pid_alive "$W/pids/kube-apiserver.pid" || break; sleep 0.2; done
  api_ready || die "kube-apiserver did not become ready (see $W/logs/kube-apiserver.log)"
  ensure_controller_manager "$bin"
}

# The controllers a kubeadm cluster runs for joins: CSR approval and signing (the kubelets' TLS
# bootstrap, after which a node needs no join token), and the cleaner of expired join tokens.
ensure_controller_manager() {
  local bin=$1 p="$W/kube/pki"
  [ -x "$bin/kube-controller-manager" ] || die "kube-controller-manager missing in $bin (run npm run toolchain)"
  pid_alive "$W/pids/kube-controller-manager.pid" && return 0
  log "starting kube-controller-manager (CSR approval and signing, join token cleaner)"
  spawn "$W/pids/kube-controller-manager.pid" "$W/logs/kube-controller-manager.log" "$bin/kube-controller-manager" \
    --kubeconfig "$W/kube/admin.kubeconfig" \
    --controllers csrapproving,csrsigning,csrcleaner,tokencleaner \
    --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" --cluster-signing-duration 8760h \
    --leader-elect=false --use-service-account-credentials=false \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --profiling=false --v=1
}

# ------------------------------------------------------------------ machines

mdir() { echo "$W/machines/$1"; }
netns_of() { echo "aiosw-$1"; }

ssh_listening() { ip netns exec "$(netns_of "$1")" ss -Htln 'sport = :22' 2>/dev/null | grep -q .; }
wait_ssh() { # machine up|down
  for _ in $(seq 100); do
    if [ "$2" = up ]; then ssh_listening "$1" && return 0; else ssh_listening "$1" || return 0; fi
    sleep 0.1
  done
  return 1
}

machine_healthy() {
  local m=$1
  ip netns list | grep -qw "$(netns_of "$m")" && pid_alive "$W/pids/$m-machine.pid" || return 1
  [ -e "$(mdir "$m")/faults/sshd-down" ] || ssh_listening "$m"
}

effective_gpus() { local d; d=$(mdir "$1"); if [ -s "$d/faults/gpus" ]; then cat "$d/faults/gpus"; else cat "$d/machine/gpus"; fi; }

link_tools() { # (re)make the machine's bin/ links according to its faults
  local d; d=$(mdir "$1")
  if [ -e "$d/faults/kubeadm-missing" ]; then rm -f "$d/bin/kubeadm"; else ln -f "$d/bin/aios-standin" "$d/bin/kubeadm"; fi
  ln -f "$d/bin/aios-standin" "$d/bin/kubelet"
  if [ "$(effective_gpus "$1")" -gt 0 ]; then ln -f "$d/bin/aios-standin" "$d/bin/nvidia-smi"; else rm -f "$d/bin/nvidia-smi"; fi
}

vpn_up() { # machine: the VPN is a tun interface wg0 with 10.213.200.<i>/24
  local m=$1 i=${1#m} ns; ns=$(netns_of "$1")
  ip netns exec "$ns" ip link show wg0 >/dev/null 2>&1 || ip netns exec "$ns" ip tuntap add dev wg0 mode tun
  ip netns exec "$ns" ip -4 addr show dev wg0 | grep -qw "$NET.200.$i/24" || ip netns exec "$ns" ip addr add "$NET.200.$i/24" dev wg0
  ip netns exec "$ns" ip link set wg0 up
}

teardown_machine() {
  local m=$1 ns; ns=$(netns_of "$1")
  if ip netns list | grep -qw "$ns"; then
    local pids; pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 30); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    for _ in $(seq 30); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
    ip netns del "$ns" 2>/dev/null || true
  fi
  stop_pidfile "$W/pids/$m-machine.pid" "machine-init"
  ip link del "aiosw-v${m#m}" 2>/dev/null || true
}

ensure_machine() {
  local i=$1 m="m$1" d ns ip
  d=$(mdir "$m"); ns=$(netns_of "$m"); ip="$NET.1.$i"
  if machine_healthy "$m"; then
    if ! cmp -s "$STANDIN" "$d/bin/aios-standin"; then # new stand-ins for new commands; init keeps running
      cp -f "$STANDIN" "$d/bin/aios-standin.tmp" && mv -f "$d/bin/aios-standin.tmp" "$d/bin/aios-standin"
      rm -f "$d/bin/kubeadm" "$d/bin/kubelet" "$d/bin/nvidia-smi"; link_tools "$m"
    fi
    return 0
  fi
  teardown_machine "$m"
  log "creating machine $m ($ip, netns $ns)"
  mkdir -p "$d"/{bin,machine,faults,ssh,logs} "$d"/fs/{etc-kubernetes,var-lib-kubelet,var-lib-aios-onboarding,root,tmp}
  # sshd (StrictModes) reads authorized_keys only through folders that nobody but root can write.
  chmod 755 "$d"; chmod 700 "$d/ssh" "$d/fs/root"; chmod 1777 "$d/fs/tmp"
  local ver_var="WORLD_M${i}_VERSION" gpu_var="WORLD_M${i}_GPUS" def_gpus=0
  [ "$i" = 2 ] && def_gpus=2
  [ -s "$d/machine/name" ] || {
    echo "$m" >"$d/machine/name"; echo "$ns" >"$d/machine/netns"; echo "worker-$i" >"$d/machine/node-id"
    echo "$ip" >"$d/machine/ip"; echo "$NET.200.$i" >"$d/machine/vpn-address"
    echo "${!ver_var:-$K8S_VERSION}" >"$d/machine/kubeadm-version"; echo "${!gpu_var:-$def_gpus}" >"$d/machine/gpus"
  }
  cp -f "$STANDIN" "$d/bin/aios-standin.tmp" && mv -f "$d/bin/aios-standin.tmp" "$d/bin/aios-standin"
  link_tools "$m"
  # ssh: own host key (kept across repairs), the world's demo key, own sshd_config
  if [ ! -s "$d/ssh/ssh_host_ed25519_key.orig" ]; then
    ssh-keygen -q -t ed25519 -N '' -C "root@$m" -f "$d/ssh/ssh_host_ed25519_key.orig"
  fi
  if [ ! -s "$d/ssh/ssh_host_ed25519_key" ]; then
    cp "$d/ssh/ssh_host_ed25519_key.orig" "$d/ssh/ssh_host_ed25519_key"; cp "$d/ssh/ssh_host_ed25519_key.orig.pub" "$d/ssh/ssh_host_ed25519_key.pub"
    chmod 600 "$d/ssh/ssh_host_ed25519_key"
  fi
  install -m 600 "$W/keys/id_ed25519.pub" "$d/ssh/authorized_keys"
  # Paths as the machine sees them (its folder through $MACHINE_VIEW).
  local v=$MACHINE_VIEW
  cat >"$d/ssh/sshd_config" <<EOF
# sshd of world machine $m (generated by scripts/world.sh)
Port 22
ListenAddress 0.0.0.0
HostKey $v/ssh/ssh_host_ed25519_key
PidFile $v/ssh/sshd.pid
AuthorizedKeysFile $v/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
X11Forwarding no
PrintMotd no
PrintLastLog no
SetEnv PATH=$v/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  # network namespace with a veth into the bridge, the VPN tun, faults that live in the network
  ip netns add "$ns"
  ip link add "aiosw-v$i" type veth peer name eth0 netns "$ns"
  ip link set "aiosw-v$i" master "$BRIDGE" up
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip addr add "$ip/16" dev eth0
  ip netns exec "$ns" ip link set eth0 up
  [ -e "$d/faults/vpn-missing" ] || vpn_up "$m"
  [ -s "$d/faults/extra-address" ] && ip netns exec "$ns" ip addr add "$(cat "$d/faults/extra-address")" dev eth0
  # PID 1 of the machine: private mounts, hostname, sshd and port holders (world/standins/init.go)
  spawn "$W/pids/$m-machine.pid" "$d/logs/init.log" \
    ip netns exec "$ns" unshare --mount --propagation private --pid --fork --kill-child --mount-proc --uts "$d/bin/aios-standin" machine-init
  if [ ! -e "$d/faults/sshd-down" ]; then
    wait_ssh "$m" up || die "machine $m: sshd did not start (see $d/logs/init.log and $d/logs/sshd.log)"
  fi
}

# Log in to every machine once with the world's key, so a world that users cannot reach fails here,
# naming the cause sshd gives, instead of as a precheck later.
check_logins() {
  local m d
  for m in $(machine_names); do
    d=$(mdir "$m")
    [ -e "$d/faults/sshd-down" ] && continue
    # A machine just added to a busy host has been seen to miss one SYN (a 5 s timeout): a timeout is tried
    # again, any other failure is reported at once.
    local try ok=""
    for try in 1 2 3; do
      if ssh -i "$W/keys/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=5 \
        -o "UserKnownHostsFile=\"$W/keys/known_hosts\"" "root@$(cat "$d/machine/ip")" true </dev/null >/dev/null 2>"$d/logs/login-check.err"; then
        ok=1
        break
      fi
      grep -q 'timed out' "$d/logs/login-check.err" || break
    done
    if [ -z "$ok" ]; then
      local why
      why=$(grep -E 'Authentication refused|bad ownership|Could not open|error' "$d/logs/sshd.log" 2>/dev/null | tail -n 3 || true)
      die "machine $m: ssh root@$(cat "$d/machine/ip") with the world's key failed: $(tr '\n' ' ' <"$d/logs/login-check.err")${why:+
sshd says: $why}
(the machine reads its files through $MACHINE_VIEW; see $d/logs/init.log)"
    fi
  done
}

ensure_host_mountpoints() {
  local dir
  for dir in "${HOST_MOUNTPOINTS[@]}" "$MACHINE_VIEW" /run/sshd; do
    if [ ! -d "$dir" ]; then
      mkdir -p "$dir"
      echo "$dir" >>"$W/created-host-dirs"
    fi
  done
  chmod 755 /run/sshd 2>/dev/null || true
}

write_known_hosts() {
  local m d
  : >"$W/keys/known_hosts"
  for m in $(machine_names); do
    d=$(mdir "$m")
    echo "$(cat "$d/machine/ip") $(cut -d' ' -f1,2 "$d/ssh/ssh_host_ed25519_key.orig.pub")" >>"$W/keys/known_hosts"
  done
}

machine_names() { local i; for i in $(seq "${WORLD_MACHINES:-3}"); do echo "m$i"; done; }
existing_machines() { ls "$W/machines" 2>/dev/null | sort -V || true; }

# ------------------------------------------------------------------ AIOS stand-ins

aios_ready() { pid_alive "$W/pids/aios.pid" && grep -q '{"ready":true}' "$W/logs/aios.log" 2>/dev/null; }

ensure_aios() {
  if [ ! -f "$ROOT/world/aios/main.ts" ]; then
    log "world/aios/main.ts is not there yet: the AIOS stand-ins are NOT started (config written to $W/aios-config.json)"
    return 0
  fi
  aios_ready && return 0
  stop_pidfile "$W/pids/aios.pid" "aios-config.json"
  for port in 30101 30501 30600 30502 30699; do refuse_held_port "$port"; done
  log "starting the AIOS stand-ins (registry :30101, parser :30501, gateway :30600, membership :30502, control :30699)"
  : >"$W/logs/aios.log"
  (cd "$ROOT" && spawn "$W/pids/aios.pid" "$W/logs/aios.log" "$(node_bin)" -r ts-node/register/transpile-only world/aios/main.ts --config "$W/aios-config.json")
  for _ in $(seq 300); do
    grep -q '{"ready":true}' "$W/logs/aios.log" && return 0
    pid_alive "$W/pids/aios.pid" || break
    sleep 0.1
  done
  tail -n 20 "$W/logs/aios.log" >&2 || true
  die "the AIOS stand-ins did not report {\"ready\":true} (see $W/logs/aios.log)"
}

# ------------------------------------------------------------------ commands

world_healthy() {
  [ -s "$W/world.json" ] && pid_alive "$W/pids/etcd.pid" && pid_alive "$W/pids/kube-apiserver.pid" && api_ready && pid_alive "$W/pids/kube-controller-manager.pid" || return 1
  local m n=0
  for m in $(machine_names); do machine_healthy "$m" || return 1; n=$((n+1)); done
  [ "$(existing_machines | wc -l)" -eq "$n" ] || return 1
  if [ -f "$ROOT/world/aios/main.ts" ]; then aios_ready || return 1; fi
  return 0
}

cmd_up() {
  need_root
  local t0=$SECONDS
  if world_healthy; then log "the world is up and healthy ($W/world.json)"; return 0; fi
  ensure_packages
  ip link show "$BRIDGE" >/dev/null 2>&1 || check_subnet
  mkdir -p "$W"/{pids,logs,keys,kube,machines}
  chmod 700 "$W/keys"
  local bin; bin=$(tools_bin)
  build_standins
  ensure_pki
  [ -s "$W/keys/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "aios-world-demo" -f "$W/keys/id_ed25519"
  ensure_bridge
  ensure_kubernetes "$bin"
  run_ts world/kube/bootstrap.ts --kubeconfig "$W/kube/admin.kubeconfig" --ca "$W/kube/pki/ca.crt" \
    --server "https://$BRIDGE_IP:6443" --token-file "$W/kube/static-token" --version "$K8S_VERSION" --service-cidr "$SERVICE_CIDR" >/dev/null
  ensure_host_mountpoints
  # machines beyond WORLD_MACHINES (from an earlier, bigger world) go away
  local m
  for m in $(existing_machines); do
    machine_names | grep -qx "$m" || { teardown_machine "$m"; rm -rf "$(mdir "$m")"; }
  done
  local i
  for i in $(seq "${WORLD_MACHINES:-3}"); do ensure_machine "$i"; done
  write_known_hosts
  check_logins
  WORLD_DIR="$W" WORLD_REPO_ROOT="$ROOT" WORLD_MACHINE_NAMES="$(machine_names | tr '\n' ' ')" WORLD_SUBNET="$SUBNET" \
    WORLD_BRIDGE="$BRIDGE" WORLD_BRIDGE_IP="$BRIDGE_IP" WORLD_CA_HASH="$(ca_hash)" WORLD_K8S_VERSION="$K8S_VERSION" \
    run_ts world/machines/describe.ts >/dev/null
  ensure_aios
  log "the world is up in $((SECONDS - t0)) s: $W/world.json"
}

cmd_down() {
  need_root
  stop_pidfile "$W/pids/aios.pid" "aios-config.json"
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^aiosw-' || true); do teardown_machine "${ns#aiosw-}"; done
  local f
  for f in "$W"/pids/m*-machine.pid; do [ -e "$f" ] && stop_pidfile "$f" "machine-init"; done
  stop_pidfile "$W/pids/kube-controller-manager.pid" "kube-controller-manager"
  stop_pidfile "$W/pids/kube-apiserver.pid" "kube-apiserver"
  stop_pidfile "$W/pids/etcd.pid" "etcd"
  local l
  for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^aiosw-v[0-9]+$' || true); do ip link del "$l" 2>/dev/null || true; done
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  if [ -f "$W/created-host-dirs" ]; then
    local dir
    while read -r dir; do [ -n "$dir" ] && rmdir "$dir" 2>/dev/null || true; done <"$W/created-host-dirs"
  fi
  if [ -d "$W" ]; then
    find "$W" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  fi
  log "the world is down"
}

cmd_status() {
  [ -d "$W" ] || { echo "world: down (no $W)"; return 0; }
  st() { if pid_alive "$1"; then echo "running (pid $(head -n1 "$1"))"; else echo "stopped"; fi; }
  echo "etcd:            $(st "$W/pids/etcd.pid")"
  echo "kube-apiserver:  $(st "$W/pids/kube-apiserver.pid") $(api_ready && echo 'ready at' https://$BRIDGE_IP:6443 || echo 'not ready')"
  echo "controller mgr:  $(st "$W/pids/kube-controller-manager.pid")"
  echo "aios stand-ins:  $(st "$W/pids/aios.pid")"
  local m d
  for m in $(existing_machines); do
    d=$(mdir "$m")
    local joined=no faults
    [ -e "$d/fs/etc-kubernetes/kubelet.conf" ] && joined=yes
    faults=$(cd "$d/faults" && for f in *; do [ -e "$f" ] || continue; printf '%s' "$f"; [ -s "$f" ] && printf '=%s' "$(tr '\n' ',' <"$f" | sed 's/,$//')"; printf ' '; done)
    printf '%-4s %-11s netns %-9s init %-22s sshd %-9s joined %-3s kubeadm %s gpus %s faults: %s\n' \
      "$m" "$(cat "$d/machine/ip")" "$(netns_of "$m")" "$(st "$W/pids/$m-machine.pid")" \
      "$(ssh_listening "$m" && echo up || echo down)" "$joined" \
      "$( [ -s "$d/faults/version" ] && cat "$d/faults/version" || cat "$d/machine/kubeadm-version")" "$(effective_gpus "$m")" "${faults:-none}"
  done
  [ -s "$W/world.json" ] && echo "description:     $W/world.json"
  return 0
}

restart_wait_sshd() { # machine old-pid: wait until sshd restarted with a new pid and listens
  local m=$1 old=$2
  for _ in $(seq 100); do
    local cur; cur=$(cat "$(mdir "$m")/ssh/sshd.pid" 2>/dev/null || true)
    if [ -n "$cur" ] && [ "$cur" != "$old" ] && ssh_listening "$m"; then return 0; fi
    sleep 0.1
  done
  die "machine $m: sshd did not restart"
}

port_listening() { # machine spec
  local ns port=${2%/*} proto=tcp; ns=$(netns_of "$1")
  [ "$2" != "$port" ] && proto=${2#*/}
  if [ "$proto" = udp ]; then ip netns exec "$ns" ss -Hlun "sport = :$port" | grep -q .; else ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q .; fi
}

clear_fault() {
  local m=$1 f=$2 d ns; d=$(mdir "$m"); ns=$(netns_of "$m")
  [ -e "$d/faults/$f" ] || return 0
  case "$f" in
    join-fails|join-hangs|never-ready|version) rm -f "$d/faults/$f" ;;
    kubeadm-missing|gpus) rm -f "$d/faults/$f"; link_tools "$m" ;;
    port-taken)
      local specs; specs=$(cat "$d/faults/port-taken"); rm -f "$d/faults/port-taken"
      local s; for s in $specs; do for _ in $(seq 50); do port_listening "$m" "$s" || break; sleep 0.1; done; done ;;
    vpn-missing) rm -f "$d/faults/$f"; vpn_up "$m" ;;
    extra-address) ip netns exec "$ns" ip addr del "$(cat "$d/faults/extra-address")" dev eth0 2>/dev/null || true; rm -f "$d/faults/$f" ;;
    sshd-down) rm -f "$d/faults/$f"; wait_ssh "$m" up || die "machine $m: sshd did not come back" ;;
    host-key-rotated)
      local old; old=$(cat "$(mdir "$m")/ssh/sshd.pid" 2>/dev/null || true)
      cp "$d/ssh/ssh_host_ed25519_key.orig" "$d/ssh/ssh_host_ed25519_key.new" && chmod 600 "$d/ssh/ssh_host_ed25519_key.new"
      cp "$d/ssh/ssh_host_ed25519_key.orig.pub" "$d/ssh/ssh_host_ed25519_key.pub"
      mv -f "$d/ssh/ssh_host_ed25519_key.new" "$d/ssh/ssh_host_ed25519_key"
      rm -f "$d/faults/$f"
      [ -e "$d/faults/sshd-down" ] || restart_wait_sshd "$m" "$old" ;;
    *) rm -f "$d/faults/$f" ;;
  esac
}

cmd_fault() {
  need_root
  local m=${1:-} f=${2:-}; shift 2 || true
  local arg=${1:-}
  [ -n "$m" ] && [ -n "$f" ] || die "usage: world.sh fault <machine> <fault> [arg] | world.sh fault <machine> clear [fault]"
  local d ns; d=$(mdir "$m"); ns=$(netns_of "$m")
  [ -d "$d/faults" ] && ip netns list | grep -qw "$ns" || die "no machine $m in this world (is it up?)"
  local i=${m#m}
  case "$f" in
    clear)
      if [ -n "$arg" ]; then clear_fault "$m" "$arg"
      else local x; for x in "$d"/faults/*; do [ -e "$x" ] && clear_fault "$m" "${x##*/}"; done; fi ;;
    join-fails) printf '%s\n' "${arg:-error execution phase preflight: injected failure (world fault join-fails)}" >"$d/faults/join-fails" ;;
    join-hangs|never-ready) : >"$d/faults/$f" ;;
    version) [ -n "$arg" ] || die "fault version needs a version, e.g. v1.35.2"; echo "$arg" >"$d/faults/version" ;;
    kubeadm-missing) : >"$d/faults/$f"; link_tools "$m" ;;
    gpus) [[ "$arg" =~ ^[0-9]+$ ]] || die "fault gpus needs a count"; echo "$arg" >"$d/faults/gpus"; link_tools "$m" ;;
    port-taken)
      local spec=${arg:-10250/tcp}
      [[ "$spec" =~ ^[0-9]+(/(tcp|udp))?$ ]] || die "fault port-taken needs <port>[/tcp|/udp]"
      [[ "$spec" == */* ]] || spec="$spec/tcp"
      grep -qx "$spec" "$d/faults/port-taken" 2>/dev/null || echo "$spec" >>"$d/faults/port-taken"
      for _ in $(seq 50); do port_listening "$m" "$spec" && break; sleep 0.1; done
      port_listening "$m" "$spec" || die "machine $m: could not take port $spec (already in use by something else?)" ;;
    vpn-missing) : >"$d/faults/$f"; ip netns exec "$ns" ip link del wg0 2>/dev/null || true ;;
    extra-address)
      local cidr=${arg:-$NET.250.$i/16}
      [ -s "$d/faults/extra-address" ] && clear_fault "$m" extra-address
      ip netns exec "$ns" ip addr add "$cidr" dev eth0
      echo "$cidr" >"$d/faults/extra-address" ;;
    sshd-down) : >"$d/faults/$f"; wait_ssh "$m" down || die "machine $m: sshd did not stop" ;;
    host-key-rotated)
      local old; old=$(cat "$(mdir "$m")/ssh/sshd.pid" 2>/dev/null || true)
      rm -f "$d/ssh/ssh_host_ed25519_key.new" "$d/ssh/ssh_host_ed25519_key.new.pub"
      ssh-keygen -q -t ed25519 -N '' -C "root@$m-rotated" -f "$d/ssh/ssh_host_ed25519_key.new"
      mv -f "$d/ssh/ssh_host_ed25519_key.new.pub" "$d/ssh/ssh_host_ed25519_key.pub"
      mv -f "$d/ssh/ssh_host_ed25519_key.new" "$d/ssh/ssh_host_ed25519_key"
      : >"$d/faults/$f"
      [ -e "$d/faults/sshd-down" ] || restart_wait_sshd "$m" "$old" ;;
    *) die "unknown fault '$f' (join-fails, join-hangs, never-ready, version, kubeadm-missing, port-taken, vpn-missing, extra-address, gpus, sshd-down, host-key-rotated, clear)" ;;
  esac
  log "machine $m: ${f}${arg:+ $arg} done"
}

cmd_ssh() {
  local m=${1:-}; shift || true
  [ -n "$m" ] || die "usage: world.sh ssh <machine> [command...]"
  local d; d=$(mdir "$m")
  exec ssh -i "$W/keys/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o "UserKnownHostsFile=\"$W/keys/known_hosts\"" "root@$(cat "$d/machine/ip")" "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    fault) shift; cmd_fault "$@" ;;
    ssh) shift; cmd_ssh "$@" ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
fi

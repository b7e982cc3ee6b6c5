import { KUBELET_CA_SHA256, KUBELET_CONF, MARKER_FILE, STATE_DIR } from "../machine/probe";

/**
 * The shell scripts run on the machine by the join resource. Every interpolated value has
 * passed the allow-list validators in config/validators.ts (node and cluster ids, numbers),
 * and they are single-quoted on top. The join configuration (which holds the bootstrap
 * token) arrives on stdin and is only handled by `cat` and shell builtins (printf), so it
 * never appears on a command line that `ps` can show.
 */

function q(value: string): string {
    return `'${value.replace(/'/g, "'\\''")}'`;
}

const PRELUDE = `set -u
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin"
export LC_ALL=C
if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else echo "the SSH user is not root and has no passwordless sudo; kubeadm needs root" >&2; exit 2; fi
STATE_DIR=${STATE_DIR}
MARKER=${MARKER_FILE}
redact() { sed -E 's/[a-z0-9]{6}\\.[a-z0-9]{16}/<redacted-token>/g'; }
`;

export interface JoinScriptParams {
    clusterId: string;
    nodeId: string;
    joinTimeoutSeconds: number;
    /**
     * What AIOS holds of the node when the join fails, said in the join's error (the one report of
     * the failure): with the parser protocol, addNode wrote its registry entry; with the gateway,
     * nothing is written before the controller labels the Node. Default "gateway".
     */
    protocol?: "gateway" | "parser";
}

const AIOS_AFTER_FAILED_JOIN = {
    parser: "it stays registered with AIOS (addNode wrote its registry entry); the next pulumi up retries the join and keeps that one entry",
    gateway: "AIOS wrote nothing to its registry; the next pulumi up retries the join",
} as const;

/**
 * Joins the machine with `kubeadm join --config <file> --node-name <id>` (kubeadm allows
 * --node-name next to --config), the JoinConfiguration (see joinConfiguration) on stdin. Idempotent: a machine already joined to this cluster under
 * this name exits 0; a machine joined elsewhere is refused. A failed attempt is counted in
 * the state directory, so the join's error says which attempt of this machine failed.
 */
export function joinScript(p: JoinScriptParams): string {
    // Stored twice in every machine's state (pulumi-command keeps its inputs as outputs), so it is terse.
    const id = p.nodeId;
    const marker = `{"clusterId":"${p.clusterId}","nodeId":"${id}"`;
    return `${PRELUDE}CONFIG_TEXT=$(cat)
M=${q(marker)}
if $SUDO test -e ${KUBELET_CONF}; then
  if $SUDO grep -qF "$M" "$MARKER" 2>/dev/null; then echo "already joined to cluster ${p.clusterId} as node ${id}; nothing to do"; exit 0; fi
  echo "refusing to join: ${KUBELET_CONF} exists, so this machine is already a member of another cluster (or was joined by hand); run 'kubeadm reset -f' on it first if intended" >&2; exit 3
fi
case "$CONFIG_TEXT" in *"kind: JoinConfiguration"*) ;; *) echo "no join configuration on stdin (the registration adopted this node, but the machine is not joined): run pulumi up again" >&2; exit 4;; esac
$SUDO mkdir -p "$STATE_DIR" && $SUDO chmod 700 "$STATE_DIR"
CONFIG="$STATE_DIR/join-config.yaml" LOG="$STATE_DIR/join.log" ATTEMPTS="$STATE_DIR/failed-attempts"
printf '%s\\n' "$CONFIG_TEXT" | (umask 077; $SUDO tee "$CONFIG" >/dev/null)
CONFIG_TEXT=
ENDPOINT=$($SUDO sed -n 's/^ *apiServerEndpoint: "\\(.*\\)"$/\\1/p' "$CONFIG")
{ $SUDO timeout -k 10 ${p.joinTimeoutSeconds} kubeadm join --config "$CONFIG" --node-name ${q(id)} 2>&1; echo "aios-exit=$?"; } | redact | $SUDO tee "$LOG" >/dev/null
RC=$($SUDO sed -n 's/^aios-exit=//p' "$LOG" | tail -n 1)
$SUDO rm -f "$CONFIG"
if [ "\${RC:-1}" != 0 ] || ! $SUDO test -e ${KUBELET_CONF}; then
  N=$(($($SUDO cat "$ATTEMPTS" 2>/dev/null || echo 0) + 1))
  echo "$N" | $SUDO tee "$ATTEMPTS" >/dev/null
  case "\${RC:-}" in 124|137) WHY="timed out after ${p.joinTimeoutSeconds}s (timeouts.joinSeconds)";; *) WHY="exited with status \${RC:-unknown}";; esac
  echo "kubeadm join on node ${id} $WHY (failed attempt $N); ${AIOS_AFTER_FAILED_JOIN[p.protocol ?? "gateway"]}. kubeadm output, tokens redacted:" >&2
  $SUDO grep -v '^aios-exit=' "$LOG" | tail -n 40 >&2
  exit 1
fi
printf '%s,"endpoint":"%s","joinedAt":"%s"}\\n' "$M" "$ENDPOINT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" | $SUDO tee "$MARKER" >/dev/null
$SUDO rm -f "$ATTEMPTS"
echo "joined cluster ${p.clusterId} as node ${id} (kubeadm's output: $LOG on the machine)"
`;
}

/**
 * Undoes the join: `kubeadm reset -f` and our state, but only when the machine is joined as
 * this node of this cluster (or not joined at all): a machine that was re-joined elsewhere
 * since is left alone.
 */
export function resetScript(p: { clusterId: string; nodeId: string }): string {
    const marker = `{"clusterId":"${p.clusterId}","nodeId":"${p.nodeId}"`;
    return `${PRELUDE}
if $SUDO test -e ${KUBELET_CONF} && ! $SUDO grep -qF ${q(marker)} "$MARKER" 2>/dev/null; then
  echo "not resetting: the machine is joined, but not as node ${p.nodeId} of cluster ${p.clusterId} (see $MARKER); reset it by hand if intended" >&2
  exit 3
fi
if command -v kubeadm >/dev/null 2>&1; then
  $SUDO kubeadm reset -f 2>&1 | redact | tail -n 5
else
  echo "kubeadm is not installed; removing onboarding state only"
fi
$SUDO rm -f "$MARKER" "$STATE_DIR/join-config.yaml" "$STATE_DIR/failed-attempts" "$STATE_DIR/join.log"
echo "reset node ${p.nodeId}"
`;
}

const CONFIG_END = "AIOS_ONBOARDING_JOIN_CONFIGURATION_END";

/**
 * The join script for a session whose stdin is the script itself (`sh -s`, as the provider's SSH runs
 * it, e.g. to join a machine again after a refresh found it reset): the join configuration reaches
 * the script's stdin as a quoted here-document inside the session's stdin, so it is still on no
 * command line (dash and bash feed a here-document of this size through a pipe, not a file).
 */
export function joinScriptWithConfiguration(p: JoinScriptParams, joinConfiguration: string): string {
    if (joinConfiguration.split("\n").includes(CONFIG_END)) throw new Error(`node ${p.nodeId}: the join configuration holds the line ${CONFIG_END}; it cannot be sent`);
    return `aios_join() {
${joinScript(p)}
}
aios_join <<'${CONFIG_END}'
${joinConfiguration}
${CONFIG_END}
`;
}

/**
 * Adopts a machine joined to this cluster outside this stack (see joinedOutsideThisStack), run by the
 * registration over SSH once AIOS knows the node: it checks again that the kubelet trusts the cluster's
 * CA and writes the onboarding marker, nothing else. From then on the join finds the machine joined as
 * this node and does nothing, and the offboarding resets it like any other.
 */
export function adoptScript(p: { clusterId: string; nodeId: string; caSha256: string }): string {
    if (!/^[0-9a-f]{64}$/.test(p.caSha256)) throw new Error(`adoptScript: ${JSON.stringify(p.caSha256)} is not a SHA-256 in hex`);
    const marker = `{"clusterId":"${p.clusterId}","nodeId":"${p.nodeId}"`;
    return `${PRELUDE}
${KUBELET_CA_SHA256}
if ! $SUDO test -e ${KUBELET_CONF} || $SUDO test -e "$MARKER"; then
  echo "not adopted: the machine has no ${KUBELET_CONF}, or already an onboarding marker ($MARKER)" >&2
  exit 3
fi
if [ "$(kubelet_ca_sha256)" != ${q(p.caSha256)} ]; then
  echo "not adopted: the kubelet config does not trust the CA of cluster ${p.clusterId}" >&2
  exit 3
fi
$SUDO mkdir -p "$STATE_DIR" && $SUDO chmod 700 "$STATE_DIR"
ENDPOINT=$($SUDO sed -n 's|^ *server: *https://||p' ${KUBELET_CONF} | head -n 1)
printf '${marker},"endpoint":"%s","joinedAt":"%s","adopted":true}\\n' "$ENDPOINT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" | $SUDO tee "$MARKER" >/dev/null
echo "adopted: machine joined to cluster ${p.clusterId} as node ${p.nodeId} outside this stack; nothing joined"
`;
}

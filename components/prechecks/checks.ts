import type { ClusterDocument } from "../aios/schemas";
import type { KubeNode } from "../kube/client";
import { nodeReady } from "../kube/client";
import type { NodeInventory } from "../machine/inventory";
import type { MachineFacts } from "../machine/probe";
import { formatMinor, parseKubeadmVersionOutput, parseKubeVersion, ParsedVersion } from "../machine/version";
import { nodeIdProblem } from "../config/validators";

/** What one precheck saw. Failed checks stop the machine's onboarding before anything changes. */
export interface CheckResult {
    check: PrecheckName;
    expected: string;
    observed: string;
    /** `warning`: passed, but something the user should act on (e.g. a join token that never expires). */
    status: "passed" | "failed" | "skipped" | "warning";
    /** What to do about it: only on a failed check or a warning (the table is stored per machine, and a passed check needs none). */
    fix?: string;
}

/** Every precheck, in the order a machine's table lists them. */
export const PRECHECK_NAMES = ["node-id", "registry", "kubernetes", "ssh", "membership", "external-allowed", "static-ip", "ports", "vpn", "kubeadm", "join-command", "gpu-driver"] as const;
export type PrecheckName = (typeof PRECHECK_NAMES)[number];

/** Everything the prechecks look at, gathered read-only at preview and update time. */
export interface Observation {
    cluster?: ClusterDocument;
    clusterError?: string;
    /** Cluster id of another cluster whose registry document lists this node id. */
    otherCluster?: string;
    kubeVersion?: string;
    kubeNode?: KubeNode;
    kubeError?: string;
    facts?: MachineFacts;
    sshError?: string;
    /** IP addresses the configured address resolves to. */
    configuredAddresses: string[];
    /** Parser protocol: what the cluster holds for the static joinCommand's token (its Secret in kube-system). */
    staticToken?: { present: false } | { present: true; expiresAt?: string } | { error: string };
    /** SHA-256 of the cluster CA (from the stack's kubeconfig): a kubelet trusting it is joined to this cluster. */
    clusterCaSha256?: string;
    /**
     * Set when the cluster already shows this machine onboarded (observe's `onboardedSighting`), in which
     * case it was not probed over SSH: there is nothing left for the machine checks to guard.
     */
    onboarded?: OnboardedSighting;
}

/** What showed a machine onboarded: its Node, Ready and labelled by AIOS, at its address, and its registry entry. */
export interface OnboardedSighting {
    /** The Node's address that is the machine's configured address. */
    address: string;
    /** The node document the AIOS registry holds for it. */
    entry: NodeInventory;
}

export interface CheckSettings {
    nodeId: string;
    clusterId: string;
    registryUrl: string;
    protocol: "gateway" | "parser";
    external: boolean;
    host: string;
    address?: string;
    vpn?: { interface: string; cidr?: string };
    kubeadmVersion?: string;
    /** The machine is being removed without contact: an unreachable machine does not block. */
    forceRemove?: boolean;
    /** Parser protocol: join with the registry's static token, or one minted per machine. Default `registry`. */
    joinToken?: "registry" | "mint";
    /** How long a minted token lives (minutes). */
    joinTokenMinutes?: number;
}

/** The checks that apply to a machine, decided from plain settings so the resource tree is stable. */
export function applicableChecks(s: CheckSettings): PrecheckName[] {
    const checks: PrecheckName[] = ["node-id", "registry", "kubernetes", "ssh", "membership"];
    if (s.external) checks.push("external-allowed", "static-ip");
    checks.push("ports");
    if (s.vpn) checks.push("vpn");
    checks.push("kubeadm");
    if (s.protocol === "parser") checks.push("join-command");
    checks.push("gpu-driver");
    return checks;
}

/** True when the machine is already joined to this cluster as this node: nothing to join. */
export function joinedAsOurs(s: Pick<CheckSettings, "clusterId" | "nodeId">, facts: MachineFacts | undefined): boolean {
    return !!facts && facts.kubelet.kind === "present" && facts.marker?.clusterId === s.clusterId && facts.marker?.nodeId === s.nodeId;
}

/**
 * Joined to this cluster outside this stack (by hand, or by another tool): no onboarding marker, its
 * kubelet config trusts this cluster's CA, and the Node named as the node id has one of the machine's
 * addresses. Such a machine is adopted: registered with AIOS if AIOS does not know it, never joined
 * again. The Node's address is what ties the name to this machine; the CA, the cluster.
 */
export function joinedOutsideThisStack(facts: MachineFacts | undefined, clusterCaSha256: string | undefined, node: KubeNode | undefined): string | undefined {
    if (!facts || facts.kubelet.kind !== "present" || facts.marker || !node) return undefined;
    if (!clusterCaSha256 || facts.kubelet.caSha256 !== clusterCaSha256) return undefined;
    const ips = (node.status?.addresses ?? []).filter((a) => a.type === "InternalIP" || a.type === "ExternalIP").map((a) => a.address);
    return ips.find((ip) => facts.addresses.some((a) => a.address === ip));
}

const EXTERNAL_PORTS = "10250/tcp and 30000-32767/tcp+udp";
const INTERNAL_PORTS = "30000-32767/tcp+udp";

function ipInCidr(ip: string, cidr: string): boolean {
    const [net, bitsText] = cidr.split("/");
    const bits = Number(bitsText);
    const toInt = (a: string): number | undefined => {
        const p = a.split(".").map(Number);
        return p.length === 4 && p.every((n) => n >= 0 && n <= 255) ? ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3] : undefined;
    };
    const a = toInt(ip);
    const n = toInt(net);
    if (a === undefined || n === undefined) return ip === net;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return (a & mask) === (n & mask);
}

function expectedKubeadm(s: CheckSettings, obs: Observation): { version?: ParsedVersion; source: string } {
    const sources: [string | undefined, string][] = [
        [s.kubeadmVersion, "stack config kubeadmVersion"],
        [obs.cluster?.clusterMetadata?.additionalInfo?.kubeadmVersion, "registry clusterMetadata.additionalInfo.kubeadmVersion"],
        [obs.kubeVersion, "the API server's /version"],
    ];
    const notes: string[] = [];
    for (const [text, source] of sources) {
        if (!text) continue;
        const v = parseKubeVersion(text);
        if (v) return { version: v, source: `${source} "${text}"${v.note ? ` (${v.note})` : ""}${notes.length ? `; ${notes.join("; ")}` : ""}` };
        notes.push(`${source} "${text}" is not a version and was ignored`);
    }
    return { source: notes.join("; ") || "no version source (no stack config value, none in the registry, API server unreachable)" };
}

function portsTaken(facts: MachineFacts, external: boolean): string[] {
    const taken: string[] = [];
    for (const l of facts.listeners) {
        const inRange = l.port >= 30000 && l.port <= 32767;
        if (inRange || (external && l.proto === "tcp" && l.port === 10250)) {
            const item = `${l.port}/${l.proto} (${l.address})`;
            if (!taken.includes(item)) taken.push(item);
        }
    }
    return taken;
}

/**
 * Evaluates the applicable checks against what was observed. Pure: the same observation
 * always gives the same results, which keeps `pulumi preview` stable.
 */
export function evaluatePrechecks(s: CheckSettings, obs: Observation): CheckResult[] {
    const facts = obs.facts;
    const onboarded = obs.onboarded;
    const byHand = joinedOutsideThisStack(facts, obs.clusterCaSha256, obs.kubeNode);
    const ours = !!onboarded || joinedAsOurs(s, facts) || byHand !== undefined;
    const preJoinSkip = (check: PrecheckName, expected: string): CheckResult => ({
        check,
        expected,
        observed: `skipped: already joined to cluster ${s.clusterId} as ${s.nodeId}`,
        status: "skipped",
    });
    const notProbed = (check: PrecheckName, expected: string, seen: OnboardedSighting): CheckResult => ({
        check,
        expected,
        observed: `skipped: already onboarded (Node ${s.nodeId} Ready at ${seen.address}, labelled nodeID by AIOS, in the registry); the machine was not probed`,
        status: "skipped",
    });
    const noSsh = (check: PrecheckName, expected: string): CheckResult =>
        onboarded
            ? notProbed(check, expected, onboarded)
            : s.forceRemove
            ? { check, expected, observed: "skipped: SSH failed and forceRemove is set", status: "skipped" }
            : { check, expected, observed: `not evaluated: ${obs.sshError ? "SSH failed" : "no machine facts"}`, status: "failed", fix: "fix the ssh precheck first" };
    const results: CheckResult[] = [];
    for (const check of applicableChecks(s)) {
        switch (check) {
            case "node-id": {
                const problem = nodeIdProblem(s.nodeId);
                results.push({ check, expected: "a lowercase DNS-1123 name (the Kubernetes node name)", observed: problem ?? s.nodeId, status: problem ? "failed" : "passed", fix: "rename the node id" });
                break;
            }
            case "registry":
                results.push(
                    obs.cluster
                        ? { check, expected: `cluster ${s.clusterId} readable from ${s.registryUrl}`, observed: `found, ${obs.cluster.nodes?.nodeData?.length ?? 0} node(s) registered`, status: "passed" }
                        : { check, expected: `cluster ${s.clusterId} readable from ${s.registryUrl}`, observed: obs.clusterError ?? "not read", status: "failed", fix: "check registryUrl, clusterId and that the registry is up" },
                );
                break;
            case "kubernetes":
                results.push(
                    obs.kubeError
                        ? { check, expected: "the API server answers with the stack's kubeconfig", observed: obs.kubeError, status: "failed", fix: "check the kubeconfig secret and that the API server is reachable from where Pulumi runs" }
                        : { check, expected: "the API server answers with the stack's kubeconfig", observed: `Kubernetes ${obs.kubeVersion ?? "unknown version"}`, status: "passed" },
                );
                break;
            case "ssh":
                if (onboarded) {
                    results.push(notProbed(check, `SSH to ${s.host} with the pinned host key`, onboarded));
                } else if (!facts && s.forceRemove) {
                    results.push({ check, expected: `SSH to ${s.host} with the pinned host key`, observed: `${obs.sshError ?? "no answer"}; not blocking: forceRemove is set (the machine is removed without contacting it)`, status: "skipped" });
                } else if (!facts) {
                    results.push({ check, expected: `SSH to ${s.host} with the pinned host key`, observed: obs.sshError ?? "no answer", status: "failed" });
                } else if (facts.privilege === "none") {
                    results.push({ check, expected: "root or passwordless sudo (kubeadm needs root)", observed: "logged in, but not root and `sudo -n` is refused", status: "failed", fix: "use root or grant the user passwordless sudo" });
                } else {
                    results.push({ check, expected: `SSH to ${s.host} with the pinned host key`, observed: `connected (${facts.privilege}), hostname ${facts.hostname}`, status: "passed" });
                }
                break;
            case "membership": {
                const expected = `not a member of any cluster, or already joined to ${s.clusterId} as ${s.nodeId}`;
                if (onboarded) {
                    results.push({ check, expected, observed: `joined to ${s.clusterId} as ${s.nodeId} (Node Ready at ${onboarded.address}, labelled nodeID=${s.nodeId})`, status: "passed" });
                    break;
                }
                if (!facts) {
                    results.push(noSsh(check, expected));
                    break;
                }
                if (byHand) {
                    results.push({ check, expected, observed: `joined to ${s.clusterId} as ${s.nodeId} outside this stack (its kubelet trusts the cluster's CA; Node ${s.nodeId} at ${byHand}): adopted, no kubeadm join`, status: "passed" });
                    break;
                }
                if (ours) {
                    results.push({ check, expected, observed: `joined to ${s.clusterId} as ${s.nodeId}${facts.kubelet.kind === "present" && facts.kubelet.server ? ` (${facts.kubelet.server})` : ""}`, status: "passed" });
                    break;
                }
                if (facts.kubelet.kind === "present") {
                    results.push({ check, expected, observed: `/etc/kubernetes/kubelet.conf exists${facts.kubelet.server ? ` pointing at ${facts.kubelet.server}` : ""}${facts.marker?.nodeId ? ` (joined as ${facts.marker.nodeId} of ${facts.marker.clusterId})` : " (not joined by this tool)"}`, status: "failed", fix: "the machine belongs to another cluster: remove it there (kubeadm reset -f) or from this stack" });
                    break;
                }
                if (obs.otherCluster) {
                    results.push({ check, expected, observed: `node id ${s.nodeId} is registered in AIOS cluster ${obs.otherCluster}`, status: "failed", fix: "offboard it from that cluster first, or use another node id" });
                    break;
                }
                const node = obs.kubeNode;
                if (node) {
                    const nodeIps = (node.status?.addresses ?? []).filter((a) => a.type === "InternalIP" || a.type === "ExternalIP").map((a) => a.address);
                    const mine = nodeIps.some((ip) => facts.addresses.some((a) => a.address === ip));
                    if (!mine) {
                        results.push({ check, expected, observed: `a different machine already holds the name: Node ${s.nodeId} exists with addresses ${nodeIps.join(", ") || "none"} (${nodeReady(node) ? "Ready" : "not Ready"})`, status: "failed", fix: "use another node id, or delete the stale Node if that machine is gone" });
                        break;
                    }
                    results.push({ check, expected, observed: `not joined; a stale Node object of this machine exists and will be taken over by the join`, status: "passed" });
                    break;
                }
                results.push({ check, expected, observed: "not joined to any cluster", status: "passed" });
                break;
            }
            case "external-allowed": {
                const allowed = obs.cluster?.config?.allowExternalNodes;
                results.push({
                    check,
                    expected: "cluster config.allowExternalNodes = true",
                    observed: obs.cluster ? `config.allowExternalNodes = ${allowed === undefined ? "not set" : String(allowed)}` : "cluster document not read",
                    status: allowed === true ? "passed" : "failed",
                    fix: "ask the cluster owner to set config.allowExternalNodes=true, or mark the machine external: false if it is on the cluster's network",
                });
                break;
            }
            case "static-ip": {
                const want = s.address ?? s.host;
                const expected = `${want} is a static address on one of the machine's interfaces`;
                if (!facts) {
                    results.push(noSsh(check, expected));
                    break;
                }
                const candidates = obs.configuredAddresses.length > 0 ? obs.configuredAddresses : [want];
                const match = facts.addresses.find((a) => candidates.includes(a.address));
                const own = facts.addresses.filter((a) => a.iface !== "lo").map((a) => `${a.address} (${a.iface}${a.dynamic ? ", dynamic" : ""})`).join(", ");
                if (!match) {
                    results.push({ check, expected, observed: `not found; the machine has ${own || "no addresses"}`, status: "failed", fix: "set `address` to the machine's own static IP (behind NAT, the public IP is not on an interface)" });
                } else if (match.dynamic) {
                    results.push({ check, expected, observed: `${match.address} on ${match.iface} is DHCP-assigned (marked dynamic)`, status: "failed", fix: "configure the address statically on the machine" });
                } else {
                    results.push({ check, expected, observed: `${match.address}/${match.prefix} on ${match.iface}, static`, status: "passed" });
                }
                break;
            }
            case "ports": {
                const expected = `${s.external ? EXTERNAL_PORTS : INTERNAL_PORTS} not in use on the machine`;
                if (!facts) results.push(noSsh(check, expected));
                else if (ours) results.push(preJoinSkip(check, expected));
                else {
                    const taken = portsTaken(facts, s.external);
                    results.push({ check, expected, observed: taken.length ? `in use: ${taken.slice(0, 8).join(", ")}${taken.length > 8 ? `, … (${taken.length})` : ""}` : "all free", status: taken.length ? "failed" : "passed", fix: "stop the services listening on those ports (the kubelet needs 10250; NodePorts need 30000-32767)" });
                }
                break;
            }
            case "vpn": {
                const vpn = s.vpn!;
                const expected = `interface ${vpn.interface} up${vpn.cidr ? ` with an address in ${vpn.cidr}` : ""}`;
                if (!facts) {
                    results.push(noSsh(check, expected));
                    break;
                }
                const link = facts.links.find((l) => l.name === vpn.interface);
                const addrs = facts.addresses.filter((a) => a.iface === vpn.interface);
                const inRange = vpn.cidr ? addrs.filter((a) => ipInCidr(a.address, vpn.cidr!)) : addrs;
                if (!link) results.push({ check, expected, observed: `no interface ${vpn.interface} (interfaces: ${facts.links.map((l) => l.name).join(", ")})`, status: "failed", fix: "join the machine to the cluster's VPN first; AIOS does not manage VPNs" });
                else if (!link.up) results.push({ check, expected, observed: `${vpn.interface} is down (state ${link.state})`, status: "failed", fix: "bring the VPN up on the machine" });
                else if (vpn.cidr && inRange.length === 0) results.push({ check, expected, observed: `${vpn.interface} has ${addrs.map((a) => a.address).join(", ") || "no address"}`, status: "failed", fix: "connect the machine to the cluster's VPN network" });
                else results.push({ check, expected, observed: `${vpn.interface} up${inRange[0] ? ` with ${inRange[0].address}` : ""}`, status: "passed" });
                break;
            }
            case "kubeadm": {
                const want = expectedKubeadm(s, obs);
                const expected = want.version ? `kubeadm ${formatMinor(want.version)}.x (from ${want.source})` : `kubeadm matching the cluster (${want.source})`;
                if (!facts) {
                    results.push(noSsh(check, expected));
                    break;
                }
                if (ours) {
                    results.push(preJoinSkip(check, expected));
                    break;
                }
                if (facts.kubeadm.kind === "missing") {
                    results.push({ check, expected, observed: "kubeadm is not installed (not on PATH)", status: "failed", fix: "install kubeadm matching the cluster version" });
                    break;
                }
                if (facts.kubeadm.kind === "failed") {
                    results.push({ check, expected, observed: `\`kubeadm version -o short\` failed: ${facts.kubeadm.output.slice(0, 200)}`, status: "failed", fix: "repair the kubeadm installation" });
                    break;
                }
                const have = parseKubeadmVersionOutput(facts.kubeadm.output);
                if (!have) {
                    results.push({ check, expected, observed: `unparseable version output ${JSON.stringify(facts.kubeadm.output.slice(0, 80))}`, status: "failed", fix: "check the kubeadm binary" });
                } else if (!want.version) {
                    results.push({ check, expected, observed: `${have.raw}; the cluster's version is unknown`, status: "failed", fix: "set the stack config kubeadmVersion or fix clusterMetadata.additionalInfo.kubeadmVersion" });
                } else {
                    const match = have.major === want.version.major && have.minor === want.version.minor;
                    results.push({ check, expected, observed: `${have.raw} (compared ${formatMinor(have)} with ${formatMinor(want.version)})`, status: match ? "passed" : "failed", fix: `install kubeadm ${formatMinor(want.version)}.x on the machine` });
                }
                break;
            }
            case "join-command": {
                const expected = "a kubeadm join command in clusterMetadata.additionalInfo.joinCommand";
                const cmd = obs.cluster?.clusterMetadata?.additionalInfo?.joinCommand ?? "";
                if (ours) results.push(preJoinSkip(check, expected));
                else if (!/^\s*(sudo\s+)?kubeadm\s+join\s+\S+/.test(cmd)) {
                    results.push({ check, expected, observed: cmd.trim() === "" ? "empty" : "not a kubeadm join command", status: "failed", fix: "store `kubeadm token create --print-join-command` output there, or use protocol gateway" });
                } else results.push(joinTokenResult(s, obs, expected));
                break;
            }
            case "gpu-driver": {
                const expected = "nvidia-smi works when installed";
                if (!facts) results.push(noSsh(check, expected));
                else if (facts.gpus.kind === "failed") {
                    results.push({ check, expected, observed: `nvidia-smi failed: ${facts.gpus.message}`, status: "failed", fix: "repair the NVIDIA driver; a GPU node with a broken driver would register as GPU-less" });
                } else if (facts.gpus.kind === "absent") results.push({ check, expected, observed: "no GPUs (nvidia-smi not installed)", status: "passed" });
                else {
                    const mem = facts.gpus.gpus.reduce((sum, g) => sum + g.memoryMiB, 0);
                    results.push({ check, expected, observed: `${facts.gpus.gpus.length} GPU(s): ${[...new Set(facts.gpus.gpus.map((g) => g.modelName))].join(", ") || "none"} (${mem} MiB)`, status: "passed" });
                }
                break;
            }
        }
    }
    return results.map(({ fix, ...r }) => (fix !== undefined && (r.status === "failed" || r.status === "warning") ? { ...r, fix } : r));
}

/**
 * The join-command check of a usable static command, by what the machine will join with: a token minted
 * for it (only the command's endpoint and CA hash are used), or the command's own token, which every
 * joiner shares and nothing deletes: its expiry is reported, and a token that never expires is a warning.
 */
function joinTokenResult(s: CheckSettings, obs: Observation, expected: string): CheckResult {
    const check = "join-command";
    if (s.joinToken === "mint") {
        return { check, expected, observed: `present; the machine joins with its endpoint and CA hash and a token minted for it, expiring ${s.joinTokenMinutes ?? 15} min after minting and deleted after the join (joinToken: mint)`, status: "passed" };
    }
    const t = obs.staticToken;
    const fix = "rotate it to an expiring one (`kubeadm token create --ttl 24h --print-join-command`), or set joinToken: mint to give each machine its own 15-minute token";
    if (t === undefined) return { check, expected, observed: "present (secret, not shown)", status: "passed" };
    if ("error" in t) return { check, expected, observed: `present (secret, not shown); its token's expiry could not be read: ${t.error}`, status: "passed" };
    if (!t.present) {
        return { check, expected, observed: "present, but its token is not in the cluster (no Secret kube-system/bootstrap-token-<id>): kubeadm join would be refused", status: "failed", fix: "store a current `kubeadm token create --print-join-command` output there, or set joinToken: mint" };
    }
    if (t.expiresAt === undefined) {
        return { check, expected, observed: "present (secret, not shown); its token never expires: anyone who reads the command can join a machine to the cluster at any later time", status: "warning", fix };
    }
    if (Date.parse(t.expiresAt) <= Date.now()) {
        return { check, expected, observed: `present, but its token expired at ${t.expiresAt}: kubeadm join would be refused`, status: "failed", fix: "store a current `kubeadm token create --print-join-command` output there, or set joinToken: mint" };
    }
    return { check, expected, observed: `present (secret, not shown); its token expires at ${t.expiresAt}`, status: "passed" };
}

/** One message for all failed checks of a machine: machine, check, expected, found, fix. */
export function failureMessage(machine: string, host: string, results: CheckResult[]): string | undefined {
    const failed = results.filter((r) => r.status === "failed" && !r.observed.startsWith("not evaluated"));
    if (failed.length === 0) return undefined;
    const lines = failed.map((r) => `  - ${r.check}: expected ${r.expected}; found ${r.observed}${r.fix ? `; fix: ${r.fix}` : ""}`);
    const notEvaluated = results.filter((r) => r.observed.startsWith("not evaluated")).map((r) => r.check);
    return (
        `machine ${machine} (${host}) failed ${failed.length} precheck${failed.length > 1 ? "s" : ""}; nothing was changed:\n${lines.join("\n")}` +
        (notEvaluated.length ? `\n  (not evaluated until then: ${notEvaluated.join(", ")})` : "")
    );
}

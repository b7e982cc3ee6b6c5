import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Observation } from "../../components/prechecks/checks";
import { parseProbeOutput } from "../../components/machine/probe";

export const fixture = (name: string): string => readFileSync(join(__dirname, "..", "fixtures", name), "utf8");

/** Probe output of a healthy machine at 10.0.0.5 that is not joined yet. */
export function probeOutput(over: Partial<Record<string, string>> = {}): string {
    const sections: Record<string, string> = {
        privilege: "root",
        kubeadm: "v1.36.3\nexit=0",
        addr: "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever preferred_lft forever\n5: wg0    inet 10.8.0.5/24 scope global wg0\\       valid_lft forever preferred_lft forever",
        link: "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff\n5: wg0: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UNKNOWN mode DEFAULT group default qlen 500\\    link/none",
        meminfo: fixture("probe/meminfo.txt"),
        cpus: "8",
        tcp: "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0",
        udp: "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
        blocks: "vda 524288000",
        speed: "eth0 10000\nwg0 -1",
        gpus: "missing",
        kubelet: "absent",
        marker: "absent",
        hostname: "worker-1",
        ...over,
    };
    return Object.entries(sections).map(([k, v]) => `@@${k}\n${v}`).join("\n") + "\n@@end\n";
}

export function healthyObservation(over: Partial<Observation> = {}, probe: Partial<Record<string, string>> = {}): Observation {
    return {
        cluster: {
            id: "aios-demo",
            nodes: { count: 0, nodeData: [] },
            config: { allowExternalNodes: true, certHash: "a".repeat(64), localNetworkHostName: "10.0.0.1" },
            clusterMetadata: { additionalInfo: { kubeadmVersion: "v1.36.3", joinCommand: "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:" + "a".repeat(64) } },
        },
        kubeVersion: "v1.36.3",
        facts: parseProbeOutput(probeOutput(probe)),
        configuredAddresses: ["10.0.0.5"],
        ...over,
    };
}

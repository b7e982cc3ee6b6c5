import * as assert from "node:assert/strict";
import { asRoot } from "../../helpers/scripts";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KUBELET_CONF, PROBE_SCRIPT, parseIpAddr, parseIpLink, parseMeminfo, parseNvidiaSmi, parseProbeOutput, parseProcNet, ProbeOutputError } from "../../../components/machine/probe";
import { buildInventory } from "../../../components/machine/inventory";
import { parseKubeadmVersionOutput, parseKubeVersion } from "../../../components/machine/version";
import { fixture, probeOutput } from "../../helpers/observations";

const lines = (name: string) => fixture(name).split("\n");

describe("probe output parsing (captured from real tools)", () => {
    it("reads addresses from `ip -o addr show`, with the dynamic flag", () => {
        const addrs = parseIpAddr(lines("probe/ip-addr.txt"));
        assert.ok(addrs.some((a) => a.iface === "lo" && a.address === "127.0.0.1" && a.prefix === 8));
        assert.ok(addrs.some((a) => a.iface === "eth0" && a.family === "inet" && !a.dynamic));
        const dhcp = parseIpAddr(["2: enp1s0    inet 192.168.122.50/24 brd 192.168.122.255 scope global dynamic noprefixroute enp1s0\\       valid_lft 3517sec preferred_lft 3517sec"]);
        assert.deepEqual(dhcp, [{ iface: "enp1s0", family: "inet", address: "192.168.122.50", prefix: 24, dynamic: true }]);
    });

    it("reads links and their state from `ip -o link show`, veth peers included", () => {
        const links = parseIpLink(lines("probe/ip-link.txt"));
        assert.ok(links.some((l) => l.name === "lo" && l.up));
        assert.ok(links.some((l) => l.name === "eth0" && l.up));
        assert.deepEqual(parseIpLink(["7: veth1@if6: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000"]), [{ name: "veth1", up: false, state: "DOWN" }]);
    });

    it("reads listening TCP and bound UDP sockets from /proc/net", () => {
        const tcp = parseProcNet(lines("probe/proc-net-tcp.txt"), "tcp");
        assert.ok(tcp.length >= 1 && tcp.every((l) => l.proto === "tcp" && l.port > 0));
        const crafted = parseProcNet([
            "   0: 0100007F:281A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
            "   1: 0100007F:281A 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1",
            "   2: 00000000000000000000000000000000:7530 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 3 1",
        ], "tcp");
        assert.deepEqual(crafted, [
            { proto: "tcp", address: "127.0.0.1", port: 10266 },
            { proto: "tcp", address: "0:0:0:0:0:0:0:0", port: 30000 },
        ]);
        assert.deepEqual(parseProcNet(["   9: 00000000:7531 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 4 2"], "udp"), [{ proto: "udp", address: "0.0.0.0", port: 30001 }]);
    });

    it("reads memory and swap from /proc/meminfo in KiB", () => {
        const m = parseMeminfo(lines("probe/meminfo.txt"));
        assert.ok(m.memTotalKiB > 1024 * 1024, `MemTotal ${m.memTotalKiB}`);
        assert.ok(m.swapTotalKiB >= 0);
    });

    it("reads GPUs from nvidia-smi and reports a broken driver instead of zero GPUs", () => {
        assert.deepEqual(parseNvidiaSmi(["NVIDIA A100-SXM4-40GB, 40960", "NVIDIA A100-SXM4-40GB, 40960", "exit=0"]), {
            kind: "ok",
            gpus: [{ modelName: "NVIDIA A100-SXM4-40GB", memoryMiB: 40960 }, { modelName: "NVIDIA A100-SXM4-40GB", memoryMiB: 40960 }],
        });
        assert.deepEqual(parseNvidiaSmi(["missing"]), { kind: "absent" });
        assert.deepEqual(parseNvidiaSmi(["exit=0"]), { kind: "ok", gpus: [] }, "empty output is zero GPUs, not one (AIOS join-node.py bug)");
        const broken = parseNvidiaSmi(["NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "exit=9"]);
        assert.equal(broken.kind, "failed");
    });

    it("parses kubeadm versions leniently and says how", () => {
        assert.deepEqual(parseKubeadmVersionOutput("v1.36.3"), { major: 1, minor: 36, patch: 3, raw: "v1.36.3" });
        const long = 'kubeadm version: &version.Info{Major:"1", Minor:"36", GitVersion:"v1.36.3", GitCommit:"abc", GitTreeState:"clean", BuildDate:"2026-08-13T00:00:00Z", GoVersion:"go1.26.8", Compiler:"gc", Platform:"linux/amd64"}';
        assert.equal(parseKubeadmVersionOutput(long)?.minor, 36);
        const docs = parseKubeVersion("v28.0.1")!;
        assert.equal(`${docs.major}.${docs.minor}`, "1.28");
        assert.match(docs.note!, /not a Kubernetes version/);
        assert.equal(parseKubeVersion("v28.0.01")!.minor, 28);
        assert.equal(parseKubeVersion("latest"), undefined);
    });

    it("builds the AIOS inventory in MiB with arrays, never null, and without lo", () => {
        const facts = parseProbeOutput(probeOutput({ gpus: "NVIDIA L4, 24576\nexit=0" }));
        const inv = buildInventory("worker-1", facts, ["gpu"], { rack: "r2" });
        assert.equal(inv.id, "worker-1");
        assert.deepEqual(inv.gpus, { count: 1, memory: 24576, gpus: [{ modelName: "NVIDIA L4", memory: 24576 }], modelNames: ["NVIDIA L4"], features: [] });
        assert.equal(inv.vcpus.count, 8);
        assert.equal(inv.storage.disks, 1);
        assert.equal(inv.storage.size, Math.floor((524288000 * 512) / 1048576));
        assert.equal(inv.network.interfaces, 2, "eth0 and wg0; lo is not counted");
        assert.equal(inv.memory, Math.floor(facts.memTotalKiB / 1024));
        const none = buildInventory("cpu-1", parseProbeOutput(probeOutput()), [], {});
        assert.deepEqual(none.gpus, { count: 0, memory: 0, gpus: [], modelNames: [], features: [] });
        assert.deepEqual(none.tags, []);
    });

    it("rejects a truncated probe output", () => {
        assert.throws(() => parseProbeOutput("@@privilege\nroot\n"), ProbeOutputError);
    });
});

describe("the probe script, run by sh on this host", () => {
    // The kubelet config is looked for at its real path; the script is run with it pointing at a temp file.
    const runWithKubeletConf = (conf: string | undefined): ReturnType<typeof parseProbeOutput> => {
        const dir = mkdtempSync(join(tmpdir(), "probe-"));
        try {
            const path = join(dir, "kubelet.conf");
            if (conf !== undefined) writeFileSync(path, conf);
            const r = spawnSync("sh", ["-s"], { input: asRoot(PROBE_SCRIPT.split(KUBELET_CONF).join(path)), encoding: "utf8" });
            return parseProbeOutput(r.stdout);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    };

    it("reports the API server and the SHA-256 of the CA the kubelet config trusts, to compare with the cluster's", () => {
        const ca = "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n";
        const conf = `apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ${Buffer.from(ca).toString("base64")}\n    server: https://10.0.0.1:6443\n  name: default-cluster\n`;
        const facts = runWithKubeletConf(conf);
        assert.deepEqual(facts.kubelet, { kind: "present", server: "https://10.0.0.1:6443", caSha256: createHash("sha256").update(ca).digest("hex") });
        assert.deepEqual(runWithKubeletConf(undefined).kubelet, { kind: "absent" });
    });
});

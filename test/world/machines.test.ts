// The local world's machines and kubeadm stand-in, end to end (issue 4, parts 1-2).
// Needs root (network namespaces). Starts from a fresh world (down, then up; a cold first run builds
// etcd and kube-apiserver: allow up to an hour).
import * as assert from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KubeClient } from "../../world/kube/client";
import { bootstrapTokenSecret } from "../../world/kube/bootstrap";
import type { World, WorldMachine } from "../../world/machines/describe";

const ROOT = path.resolve(__dirname, "..", "..");
const WORLD_JSON = path.join(ROOT, ".world", "world.json");

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Run {
    const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
        cwd: ROOT, encoding: "utf8", input: opts.input, timeout: opts.timeoutMs ?? 60000,
    });
    if (r.error) {
        throw r.error;
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    const r = run(cmd, args, opts);
    assert.strictEqual(r.status, 0, `${cmd} ${args.join(" ")} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const v = await fn();
            if (v !== undefined) {
                return v;
            }
        } catch (e) {
            last = e;
        }
        await sleep(250);
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

interface NodeObj {
    metadata: { name: string; labels: Record<string, string> };
    status: {
        conditions?: { type: string; status: string }[];
        nodeInfo?: { kubeletVersion: string };
        addresses?: { type: string; address: string }[];
    };
}

const readyOf = (n: NodeObj | undefined) => n?.status.conditions?.find((c) => c.type === "Ready")?.status;

describe("world: machines and the kubeadm stand-in", function () {
    this.timeout(120000);
    let world: World;
    let kube: KubeClient;
    let tmp: string;
    let knownHosts: string;
    const tokens: string[] = [];
    const testNode = "world-test-node";
    let testMachine: WorldMachine | undefined;

    const machine = (name: string): WorldMachine => {
        const m = world.machines.find((x) => x.name === name);
        assert.ok(m, `machine ${name} in world.json`);
        return m;
    };
    const sshArgs = (m: WorldMachine, known = knownHosts) => [
        "-i", world.ssh.privateKeyPath, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile="${known}"`, "-o", "ConnectTimeout=5",
        "-p", String(m.port), `${m.user}@${m.host}`,
    ];
    const ssh = (m: WorldMachine, command: string, input?: string, timeoutMs?: number) =>
        run("ssh", [...sshArgs(m), command], { input, timeoutMs });
    const fault = (m: WorldMachine, ...args: string[]) => ok("bash", [...m.faultCommand.split(" ").slice(1), ...args]);

    /** A fresh, real bootstrap token Secret in the API server (as the gateway mints them). */
    async function newToken(): Promise<string> {
        const alnum = (n: number) => Array.from(crypto.randomBytes(n), (b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
        const token = `${alnum(6)}.${alnum(16)}`;
        await kube.apply("/api/v1/namespaces/kube-system/secrets", bootstrapTokenSecret(token, "world machines test"));
        tokens.push(token);
        return token;
    }

    const joinConfig = (token: string, hash: string, name?: string) => [
        "apiVersion: kubeadm.k8s.io/v1beta4",
        "kind: JoinConfiguration",
        "discovery:",
        "  bootstrapToken:",
        `    apiServerEndpoint: "${world.bridgeAddress}:6443"`,
        `    token: "${token}"`,
        "    caCertHashes:",
        `      - "${hash}"`,
        ...(name ? ["nodeRegistration:", `  name: "${name}"`] : []),
        "",
    ].join("\n");

    /** Writes the join config on the machine through stdin (the token never appears on a command line). */
    function putConfig(m: WorldMachine, content: string): string {
        const file = "/var/lib/aios-onboarding/test-join.yaml";
        const r = ssh(m, `umask 077; cat > ${file}`, content);
        assert.strictEqual(r.status, 0, r.stderr);
        return file;
    }

    before(async function () {
        this.timeout(3600 * 1000);
        assert.ok(!process.getuid || process.getuid() === 0, "the local world needs root (network and mount namespaces)");
        // A fresh world: one left by `npm run demo` has every machine joined, which these tests cannot use.
        ok("bash", ["scripts/world.sh", "down"], { timeoutMs: 300 * 1000 });
        ok("bash", ["scripts/world.sh", "up"], { timeoutMs: 3600 * 1000 });
        world = JSON.parse(fs.readFileSync(WORLD_JSON, "utf8")) as World;
        kube = KubeClient.fromKubeconfig(world.kubernetes.kubeconfigPath);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "world-test-"));
        knownHosts = path.join(tmp, "known_hosts");
        fs.writeFileSync(knownHosts, world.machines.map((m) => `${m.host} ${m.hostKey}\n`).join(""));
        for (const m of world.machines) {
            fault(m, "clear");
        }
    });

    after(async function () {
        if (!world) {
            return;
        }
        for (const m of world.machines) {
            run("bash", [...m.faultCommand.split(" ").slice(1), "clear"]);
        }
        if (testMachine) {
            ssh(testMachine, "kubeadm reset -f >/dev/null 2>&1");
        }
        for (const m of world.machines) {
            ssh(m, "rm -f /var/lib/aios-onboarding/test-join.yaml");
        }
        for (const n of [testNode]) {
            await kube.request("DELETE", `/api/v1/nodes/${n}`);
            await kube.request("DELETE", `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n}`);
        }
        for (const t of tokens) {
            await kube.request("DELETE", `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${t.split(".")[0]}`);
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("describes the world in world.json", () => {
        assert.strictEqual(world.subnet, "10.213.0.0/16");
        assert.match(world.kubernetes.caCertHash, /^sha256:[0-9a-f]{64}$/);
        assert.ok(world.machines.length >= 3);
        for (const m of world.machines) {
            assert.match(m.hostKey, /^ssh-ed25519 AAAA/);
            assert.match(m.faultCommand, /^bash scripts\/world\.sh fault m\d+$/);
        }
        assert.strictEqual(machine("m2").gpus, 2);
    });

    it("gives each machine its own address, interfaces and process list", () => {
        const pidSets = world.machines.map((m) => {
            const addr = ok("ip", ["netns", "exec", m.netns, "ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
            assert.ok(addr.includes(`${m.host}/16`), addr);
            const wg = ok("ip", ["netns", "exec", m.netns, "ip", "-4", "-o", "addr", "show", "dev", "wg0"]);
            assert.ok(wg.includes(`${m.vpnAddress}/24`), wg);
            const ps = ssh(m, "ps -e -o pid=,comm=").stdout;
            assert.match(ps, /^\s*1 aios-standin$/m, ps); // its own PID 1
            assert.match(ps, /sshd/);
            assert.doesNotMatch(ps, /kube-apiserver|etcd/, "the host's processes are not visible on a machine");
            assert.strictEqual(ssh(m, "hostname").stdout.trim(), m.name);
            return new Set(ok("ip", ["netns", "pids", m.netns]).split(/\s+/).filter(Boolean));
        });
        for (let i = 0; i < pidSets.length; i++) {
            assert.ok(pidSets[i].size > 0);
            for (let j = i + 1; j < pidSets.length; j++) {
                assert.ok([...pidSets[i]].every((p) => !pidSets[j].has(p)), "process lists are disjoint");
            }
        }
    });

    it("serves ssh with the pinned host key and refuses a wrong one", () => {
        const m1 = machine("m1");
        const r = ssh(m1, "id -un; command -v kubeadm");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /^root\n.*\/bin\/kubeadm\n$/);
        const wrong = path.join(tmp, "wrong_known_hosts");
        fs.writeFileSync(wrong, `${m1.host} ${machine("m2").hostKey}\n`);
        const bad = run("ssh", [...sshArgs(m1, wrong), "true"]);
        assert.strictEqual(bad.status, 255);
        assert.match(bad.stderr, /Host key verification failed/);
    });

    it("reports each machine's configured kubeadm version", () => {
        for (const m of world.machines) {
            assert.strictEqual(ssh(m, "kubeadm version -o short").stdout.trim(), m.kubeadmVersion);
        }
        assert.match(ssh(machine("m1"), "kubeadm version").stdout, /^kubeadm version: &version\.Info\{Major:"1", Minor:"36", .*GitVersion:"v1\.36\.3"/);
    });

    it("rejects a wrong token without printing its secret, and a wrong CA hash", async () => {
        const m1 = machine("m1");
        const bogus = "zzzzzz.0123456789abcdef";
        let r = ssh(m1, `kubeadm join --config ${putConfig(m1, joinConfig(bogus, world.kubernetes.caCertHash, "world-test-m1"))}`);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /couldn't validate the identity of the API Server: .*token id "zzzzzz" is invalid/);
        assert.ok(!r.stderr.includes("0123456789abcdef") && !r.stdout.includes("0123456789abcdef"), "secret part never printed");
        const token = await newToken();
        const wrongHash = "sha256:" + "0".repeat(64);
        r = ssh(m1, `kubeadm join --config ${putConfig(m1, joinConfig(token, wrongHash, "world-test-m1"))}`);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "sha256:[0-9a-f]{64}" are pinned/);
        assert.strictEqual(ssh(m1, "test -e /etc/kubernetes/kubelet.conf").status, 1, "nothing written");
        assert.strictEqual(await kube.get("/api/v1/nodes/world-test-m1"), undefined);
    });

    it("joins with a real bootstrap token: a Ready Node; refuses a re-join; reset cleans up; re-join updates the Node", async function () {
        // A machine that is not joined (another suite may have onboarded some): m3 preferably.
        const m3 = [...world.machines].reverse().find((m) => ssh(m, "test -e /etc/kubernetes/kubelet.conf").status === 1);
        assert.ok(m3, "every machine is joined: reset one (kubeadm reset -f) before running this suite");
        testMachine = m3;
        const name = testNode;
        const token = await newToken();
        const cfg = putConfig(m3, joinConfig(token, world.kubernetes.caCertHash, "ignored-by-flag"));
        let r = ssh(m3, `kubeadm join --config ${cfg} --node-name ${name}`);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /This node has joined the cluster:/);
        const node = await eventually("a Ready Node", async () => {
            const n = await kube.get<NodeObj>(`/api/v1/nodes/${name}`);
            return readyOf(n) === "True" ? n : undefined;
        });
        assert.strictEqual(node?.metadata.labels["kubernetes.io/hostname"], name);
        assert.strictEqual(node?.metadata.labels["kubernetes.io/os"], "linux");
        assert.strictEqual(node?.status.nodeInfo?.kubeletVersion, m3.kubeadmVersion);
        assert.deepStrictEqual(node?.status.addresses?.find((a) => a.type === "InternalIP")?.address, m3.host);
        assert.strictEqual(node?.metadata.labels.nodeID, undefined, "the world never sets the controller's label");
        const lease = await eventually("a Lease", () => kube.get(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`));
        assert.ok(lease);
        // The kubelet stand-in runs on the machine, detached, and the token is not on its command line.
        const ps = ssh(m3, "ps -e -o args=").stdout;
        assert.match(ps, /kubelet --kubeconfig=\/etc\/kubernetes\/kubelet.conf/);
        assert.ok(!ps.includes(token.split(".")[1]), "token not in the process list");
        const conf = ssh(m3, "cat /etc/kubernetes/kubelet.conf").stdout;
        assert.match(conf, new RegExp(`server: https://${world.bridgeAddress.replace(/\./g, "\\.")}:6443`));
        assert.match(conf, new RegExp(`name: system:node:${name}`));
        // TLS bootstrap: the kubelet's credential is a client certificate the controller manager signed, not the join token.
        assert.match(conf, /client-certificate-data: \S+/);
        assert.ok(!conf.includes(token.split(".")[1]), "the join token is the kubelet's credential");
        assert.strictEqual(ssh(m3, "test -s /var/lib/kubelet/config.yaml && test -s /etc/kubernetes/pki/ca.crt").status, 0);
        assert.ok(!fs.existsSync("/etc/kubernetes/kubelet.conf"), "the machine's /etc/kubernetes is private to it");

        // never-ready: the kubelet reports Ready=False; clear brings it back.
        fault(m3, "never-ready");
        await eventually("Ready=False", async () => (readyOf(await kube.get<NodeObj>(`/api/v1/nodes/${name}`)) === "False" ? true : undefined));
        fault(m3, "clear");
        await eventually("Ready=True again", async () => (readyOf(await kube.get<NodeObj>(`/api/v1/nodes/${name}`)) === "True" ? true : undefined));

        // Re-join is refused with kubeadm's preflight error.
        r = ssh(m3, `kubeadm join --config ${cfg} --node-name ${name}`);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /\[ERROR FileAvailable--etc-kubernetes-kubelet.conf\]: \/etc\/kubernetes\/kubelet.conf already exists/);

        // reset -f: kubelet stopped, files gone, Node kept (as the real kubeadm does); twice is fine.
        r = ssh(m3, "kubeadm reset -f");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(ssh(m3, "kubeadm reset --force").status, 0);
        assert.doesNotMatch(ssh(m3, "ps -e -o comm=").stdout, /kubelet/);
        assert.strictEqual(ssh(m3, "test -e /etc/kubernetes/kubelet.conf || test -e /etc/kubernetes/pki || test -n \"$(ls -A /var/lib/kubelet)\"").status, 1);
        assert.ok(await kube.get(`/api/v1/nodes/${name}`), "reset does not delete the Node");

        // Re-join after reset, flag form this time: the existing Node is updated.
        fault(m3, "version", "v1.36.4");
        r = ssh(m3, `kubeadm join ${world.bridgeAddress}:6443 --token "$(sed -n 's/.*token: "\\(.*\\)"/\\1/p' ${cfg})" --discovery-token-ca-cert-hash ${world.kubernetes.caCertHash} --node-name ${name}`);
        assert.strictEqual(r.status, 0, r.stderr);
        await eventually("the re-joined Node with the new kubelet version", async () => {
            const n = await kube.get<NodeObj>(`/api/v1/nodes/${name}`);
            return n?.status.nodeInfo?.kubeletVersion === "v1.36.4" && readyOf(n) === "True" ? true : undefined;
        });
        fault(m3, "clear");
        assert.strictEqual(ssh(m3, "kubeadm reset -f").status, 0);
    });

    describe("faults", () => {
        let m1: WorldMachine;
        before(() => {
            m1 = machine("m1");
        });
        afterEach(() => {
            fault(m1, "clear");
        });

        it("join-fails: join prints the message and exits 1", () => {
            fault(m1, "join-fails", "error execution phase kubelet-start: boom");
            const r = ssh(m1, "kubeadm join --config /nonexistent");
            assert.strictEqual(r.status, 1);
            assert.strictEqual(r.stderr.trim(), "error execution phase kubelet-start: boom");
            fault(m1, "clear");
            assert.doesNotMatch(ssh(m1, "kubeadm join --config /nonexistent").stderr, /boom/);
        });

        it("join-hangs: join never returns", () => {
            fault(m1, "join-hangs");
            const r = ssh(m1, "timeout 2 kubeadm join --config /nonexistent; echo rc=$?");
            assert.match(r.stdout, /rc=124/);
            fault(m1, "clear");
            assert.match(ssh(m1, "timeout 5 kubeadm join --config /nonexistent; echo rc=$?").stdout, /rc=1\n/);
        });

        it("version and kubeadm-missing", () => {
            fault(m1, "version", "v1.35.2");
            assert.strictEqual(ssh(m1, "kubeadm version -o short").stdout.trim(), "v1.35.2");
            fault(m1, "kubeadm-missing");
            assert.strictEqual(ssh(m1, "command -v kubeadm").status, 1);
            fault(m1, "clear");
            assert.strictEqual(ssh(m1, "kubeadm version -o short").stdout.trim(), m1.kubeadmVersion);
        });

        it("port-taken: a real listener in the machine, seen by kubeadm's preflight", () => {
            fault(m1, "port-taken");
            fault(m1, "port-taken", "30080/udp");
            assert.match(ok("ip", ["netns", "exec", m1.netns, "ss", "-Hltn", "sport = :10250"]), /LISTEN/);
            assert.match(ok("ip", ["netns", "exec", m1.netns, "ss", "-Hlun", "sport = :30080"]), /30080/);
            assert.strictEqual(ok("ss", ["-Hltn", "sport = :10250"]).trim(), "", "not on the host");
            const r = ssh(m1, `kubeadm join --config ${putConfig(m1, joinConfig("zzzzzz.0123456789abcdef", world.kubernetes.caCertHash))}`);
            assert.match(r.stderr, /\[ERROR Port-10250\]: Port 10250 is in use/);
            fault(m1, "clear");
            assert.strictEqual(ok("ip", ["netns", "exec", m1.netns, "ss", "-Hltun", "sport = :10250 or sport = :30080"]).trim(), "");
        });

        it("vpn-missing and extra-address", () => {
            fault(m1, "vpn-missing");
            assert.notStrictEqual(run("ip", ["netns", "exec", m1.netns, "ip", "link", "show", "wg0"]).status, 0);
            fault(m1, "extra-address", "10.213.77.1/16");
            assert.match(ssh(m1, "ip -4 -o addr show dev eth0").stdout, /10\.213\.77\.1\/16/);
            fault(m1, "clear");
            assert.match(ssh(m1, "ip -4 -o addr show dev wg0").stdout, new RegExp(`${m1.vpnAddress.replace(/\./g, "\\.")}/24`));
            assert.doesNotMatch(ssh(m1, "ip -4 -o addr show dev eth0").stdout, /10\.213\.77\.1/);
        });

        it("gpus: nvidia-smi lists the configured GPUs", () => {
            assert.strictEqual(ssh(m1, "command -v nvidia-smi").status, 1, "m1 has no GPUs by default");
            fault(m1, "gpus", "3");
            const out = ssh(m1, "nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits").stdout;
            assert.deepStrictEqual(out.trim().split("\n"), Array(3).fill("NVIDIA A100-SXM4-40GB, 40960"));
            fault(m1, "clear");
            assert.strictEqual(ssh(m1, "command -v nvidia-smi").status, 1);
            assert.strictEqual(ssh(machine("m2"), "nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits").stdout.trim().split("\n").length, 2);
        });

        it("sshd-down and host-key-rotated", () => {
            fault(m1, "sshd-down");
            assert.match(ssh(m1, "true").stderr, /Connection refused/);
            fault(m1, "clear");
            assert.strictEqual(ssh(m1, "true").status, 0);
            fault(m1, "host-key-rotated");
            const r = ssh(m1, "true");
            assert.strictEqual(r.status, 255);
            assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
            fault(m1, "clear");
            assert.strictEqual(ssh(m1, "true").status, 0);
        });
    });
});

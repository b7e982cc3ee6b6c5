// The end-to-end harness: the real Pulumi engine (scripts/toolchain.sh) driven through the Automation API
// against the local AIOS world (scripts/world.sh), with everything the tests need to read the world directly.
//
// - `registerSuiteHooks()` (called by every e2e file; registers once): a root `before` that builds or finds the
//   toolchain, brings the world up with five machines and resets it; a root `after` that resets the world (every
//   machine un-joined, Nodes deleted, AIOS back to its seed), prints the suite's duration and removes the temp dir.
// - `newStack(spec)`: a stack of this repository's program (its own file:// backend and project dir under the
//   suite's temp dir, so the demo's stack in .world/state is never touched) configured from world.json.
// - `E2EStack.preview/up/destroy`: run the engine and capture its whole output and event stream; never throw.
// - world readers (Nodes, registry document, AIOS state, files on machines), fault switches, `resetWorld()`,
//   `samplePs()` and the secrets corpus/ledger used by the audit.
import { strict as assert } from "node:assert";
import { ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dump, load } from "js-yaml";
import { ConfigMap, EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { KubeClient, KubeNode, nodeReady } from "../../components/kube/client";
import { parseKubeconfig } from "../../components/kube/kubeconfig";

export const repoRoot = path.resolve(__dirname, "..", "..");
const worldSh = path.join(repoRoot, "scripts", "world.sh");

// ---------------------------------------------------------------------------------------------- world.json

export interface WorldMachine {
    name: string;
    netns: string;
    nodeId: string;
    host: string;
    port: number;
    user: string;
    hostKey: string;
    vpnAddress: string;
    gpus: number;
    kubeadmVersion: string;
}

export interface WorldDescription {
    kubernetes: { server: string; kubeconfigPath: string; caCertHash: string; version: string };
    aios: { registryUrl: string; parserUrl: string; gatewayUrl: string; controlUrl: string; clusterId: string };
    ssh: { user: string; privateKeyPath: string; knownHostsPath: string };
    machines: WorldMachine[];
}

let worldCache: WorldDescription | undefined;

export function world(): WorldDescription {
    if (!worldCache) worldCache = JSON.parse(fs.readFileSync(path.join(repoRoot, ".world", "world.json"), "utf8")) as WorldDescription;
    return worldCache;
}

export function machine(name: string): WorldMachine {
    const m = world().machines.find((x) => x.name === name);
    if (!m) throw new Error(`no machine ${name} in world.json`);
    return m;
}

/** How many machines the suite needs (one of five failing while four finish). */
export const WORLD_MACHINES = 5;
/** Where an injected command would leave its mark (on the host and on a machine): the canary of the shell-injection cases. */
export const PWNED = path.join(os.tmpdir(), "e2e-pwned");

// ---------------------------------------------------------------------------------------------- processes

export interface Exec {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs a program without a shell; never throws on a non-zero exit. */
export function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string; cwd?: string } = {}): Promise<Exec> {
    return new Promise((resolve) => {
        const child = execFile(
            file,
            args,
            { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
            (err, stdout, stderr) => {
                const code = !err ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as unknown as { code: number }).code : 1;
                resolve({ code, stdout, stderr });
            },
        );
        if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
}

/** `scripts/world.sh ssh <m> <command>` (root on the machine, pinned host key). */
export function ssh(m: string, command: string, timeoutMs = 60_000): Promise<Exec> {
    return run("bash", [worldSh, "ssh", m, command], { timeoutMs });
}

export async function sshOk(m: string, command: string, timeoutMs = 60_000): Promise<string> {
    const r = await ssh(m, command, timeoutMs);
    if (r.code !== 0) throw new Error(`ssh ${m} ${JSON.stringify(command)} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
}

/**
 * Where a machine's file lives on the host: the machine's init bind-mounts folders of
 * `.world/machines/<m>/fs/` over some of its paths and records them in `machine/mounts` (docs/world.md), so
 * the suite reads a machine's files without SSH (which some faults take away).
 */
export function hostPath(m: string, file: string): string {
    const mountsFile = path.join(repoRoot, ".world", "machines", m, "machine", "mounts");
    const mounts = fs
        .readFileSync(mountsFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split("\t") as [string, string]);
    const hit = mounts.filter(([target]) => file === target || file.startsWith(`${target}/`)).sort((x, y) => y[0].length - x[0].length)[0];
    // Outside its binds a machine sees the host's own files (its mount namespace is a copy of the host's).
    return hit ? path.join(hit[1], path.relative(hit[0], file)) : file;
}

/** A file on a machine, or undefined when it does not exist. */
export async function machineFile(m: string, file: string): Promise<string | undefined> {
    try {
        return fs.readFileSync(hostPath(m, file), "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
    }
}

export const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";
export const MARKER = "/var/lib/aios-onboarding/state.json";

/** The command lines of the processes in a machine's network namespace (works without SSH). */
export async function machineProcesses(m: string): Promise<string[]> {
    const r = await run("ip", ["netns", "pids", machine(m).netns]);
    assert.equal(r.code, 0, `ip netns pids ${machine(m).netns}: ${r.stderr}`);
    const out: string[] = [];
    for (const pid of r.stdout.split(/\s+/).filter(Boolean)) {
        try {
            out.push(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim());
        } catch {
            // exited meanwhile
        }
    }
    return out;
}

/** What onboarding leaves on a machine: kubelet.conf, our marker, a running kubelet. */
export async function machineJoinState(m: string): Promise<{ kubeletConf: boolean; marker?: { clusterId: string; nodeId: string; joinedAt: string }; kubeletRunning: boolean }> {
    const marker = await machineFile(m, MARKER);
    return {
        kubeletConf: (await machineFile(m, KUBELET_CONF)) !== undefined,
        marker: marker ? (JSON.parse(marker) as { clusterId: string; nodeId: string; joinedAt: string }) : undefined,
        kubeletRunning: (await machineProcesses(m)).some((l) => /^\S*\/kubelet /.test(l)),
    };
}

/** `scripts/world.sh fault <m> <fault> [arg]`. */
export async function machineFault(m: string, fault: string, arg?: string): Promise<void> {
    const r = await run("bash", [worldSh, "fault", m, fault, ...(arg === undefined ? [] : [arg])], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`world.sh fault ${m} ${fault} ${arg ?? ""} failed: ${r.stderr.trim()}`);
}

/**
 * Samples `ps -eo args` on a machine (one SSH session running a loop) until `stop()`; returns every
 * distinct command line seen. Used while a join runs.
 */
export function samplePs(m: string, intervalSeconds = 0.05): { stop(): Promise<string[]> } {
    const child = spawn("bash", [worldSh, "ssh", m, `while :; do ps -eo args; echo @@sample@@; sleep ${intervalSeconds}; done`], {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "ignore"],
    });
    return collectSamples(child);
}

/**
 * The same on the host running Pulumi (the engine, the providers, the aios-onboarding provider plugin), plus the environment
 * of the aios-onboarding provider plugin's processes: the engine hands every plugin the stack's config in
 * plaintext (PULUMI_CONFIG), which its wrapper must drop.
 */
export function samplePsHost(intervalSeconds = 0.1): { stop(): Promise<string[]> } {
    const plugin = "for p in $(pgrep -f 'bin/provider[.]js|provider/main[.]js'); do tr '\\0' ' ' </proc/$p/environ 2>/dev/null; echo; done";
    const child = spawn("bash", ["-c", `while :; do ps -eo args; ${plugin}; echo @@sample@@; sleep ${intervalSeconds}; done`], { stdio: ["ignore", "pipe", "ignore"] });
    return collectSamples(child);
}

function collectSamples(child: ChildProcess): { stop(): Promise<string[]> } {
    const seen = new Set<string>();
    let buf = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
        buf += chunk;
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        for (const l of lines) if (l !== "@@sample@@" && l.trim() !== "") seen.add(l);
    });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    return {
        async stop() {
            child.kill("SIGTERM");
            await exited;
            const lines = [...seen];
            corpus.add("ps", lines.join("\n"));
            return lines;
        },
    };
}

// ---------------------------------------------------------------------------------------------- Kubernetes

let kubeClient: KubeClient | undefined;

export function kube(): KubeClient {
    if (!kubeClient) kubeClient = new KubeClient(parseKubeconfig(fs.readFileSync(world().kubernetes.kubeconfigPath, "utf8")), 15_000);
    return kubeClient;
}

export async function getNode(name: string): Promise<KubeNode | undefined> {
    return kube().getNode(name);
}

export async function listNodes(): Promise<KubeNode[]> {
    const r = await kube().request<{ items: KubeNode[] }>("GET", "/api/v1/nodes");
    assert.equal(r.status, 200, `list nodes: HTTP ${r.status}`);
    return r.body.items ?? [];
}

export { nodeReady };

interface SecretObject {
    metadata: { name: string };
    type?: string;
    data?: Record<string, string>;
}

/** Every bootstrap token Secret in kube-system, as `id.secret`. */
export async function bootstrapTokens(): Promise<{ name: string; token: string }[]> {
    const r = await kube().request<{ items: SecretObject[] }>("GET", "/api/v1/namespaces/kube-system/secrets");
    assert.equal(r.status, 200, `list secrets: HTTP ${r.status}`);
    return (r.body.items ?? [])
        .filter((s) => s.type === "bootstrap.kubernetes.io/token")
        .map((s) => {
            const d = (k: string) => Buffer.from(s.data?.[k] ?? "", "base64").toString("utf8");
            return { name: s.metadata.name, token: `${d("token-id")}.${d("token-secret")}` };
        });
}

/** Creates a bootstrap token Secret the kubeadm stand-in accepts; returns `id.secret`. */
export async function createBootstrapToken(): Promise<string> {
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    const pick = (n: number) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join("");
    const id = pick(6);
    const secret = pick(16);
    const r = await kube().request("POST", "/api/v1/namespaces/kube-system/secrets", {
        apiVersion: "v1",
        kind: "Secret",
        type: "bootstrap.kubernetes.io/token",
        metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
        stringData: {
            description: "e2e: rotated static join token",
            "token-id": id,
            "token-secret": secret,
            "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true",
            "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
        },
    });
    assert.equal(r.status, 201, `create bootstrap token: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    ledger.tokens.add(`${id}.${secret}`);
    return `${id}.${secret}`;
}

// ---------------------------------------------------------------------------------------------- AIOS

export interface Waiter {
    nodeId: string;
    clusterId: string;
    source: string;
    tokenId?: string;
    issuedAt: string;
    readyAt?: string;
    labelledAt?: string;
    state: string;
}

export interface RegistryNode {
    id: string;
    gpus?: { count?: number; memory?: number; gpus?: { modelName: string; memory: number }[]; modelNames?: string[] };
    vcpus?: { count?: number };
    tags?: string[];
    cluster_id?: string;
    [k: string]: unknown;
}

export interface ClusterDoc {
    id: string;
    nodes?: { count?: number; nodeData?: RegistryNode[] };
    config?: Record<string, unknown>;
    clusterMetadata?: { additionalInfo?: { joinCommand?: string; kubeadmVersion?: string } };
    [k: string]: unknown;
}

export interface AiosState {
    clusters: ClusterDoc[];
    policies: unknown;
    waiters: Waiter[];
    counters: Record<string, number>;
    faults: unknown;
}

async function httpJson<T>(method: string, url: string, body?: unknown, timeoutMs = 15_000): Promise<{ status: number; body: T }> {
    const res = await fetch(url, {
        method,
        headers: body === undefined ? {} : { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
        parsed = JSON.parse(text);
    } catch {
        // not JSON
    }
    return { status: res.status, body: parsed as T };
}

export const aios = {
    async state(): Promise<AiosState> {
        const r = await httpJson<AiosState>("GET", `${world().aios.controlUrl}/_world/state`);
        assert.equal(r.status, 200);
        return r.body;
    },
    async faults(patch: unknown): Promise<void> {
        const r = await httpJson("POST", `${world().aios.controlUrl}/_world/faults`, patch);
        assert.equal(r.status, 200, `faults ${JSON.stringify(patch)}: ${JSON.stringify(r.body)}`);
    },
    async reset(): Promise<void> {
        const r = await httpJson("POST", `${world().aios.controlUrl}/_world/reset`, {});
        assert.equal(r.status, 200);
    },
    async restartMembership(): Promise<void> {
        const r = await httpJson("POST", `${world().aios.controlUrl}/_world/membership/restart`, {});
        assert.equal(r.status, 200);
    },
    /** The registry document as the control API sees it (works while the registry itself is faulted). */
    async cluster(id = world().aios.clusterId): Promise<ClusterDoc> {
        const c = (await aios.state()).clusters.find((x) => x.id === id);
        if (!c) throw new Error(`no cluster ${id} in the AIOS world`);
        return c;
    },
    /** The registry document through the registry's own API, as the product reads it. */
    async getCluster(id = world().aios.clusterId): Promise<{ status: number; body: ClusterDoc }> {
        return httpJson<ClusterDoc>("GET", `${world().aios.registryUrl}/clusters/${id}`);
    },
    /** `PUT {registry}/clusters/:id` with a Mongo-style update (`{"$set": {...}}`). */
    async putCluster(update: unknown, id = world().aios.clusterId): Promise<ClusterDoc> {
        const r = await httpJson<ClusterDoc>("PUT", `${world().aios.registryUrl}/clusters/${id}`, update);
        assert.equal(r.status, 200, `PUT cluster: ${JSON.stringify(r.body)}`);
        return r.body;
    },
    async registryNodes(id = world().aios.clusterId): Promise<RegistryNode[]> {
        return (await aios.cluster(id)).nodes?.nodeData ?? [];
    },
    /** How many registry entries each node id has (AIOS does not de-duplicate them). */
    async registryEntryCounts(id = world().aios.clusterId): Promise<Record<string, number>> {
        const out: Record<string, number> = {};
        for (const n of await aios.registryNodes(id)) out[n.id] = (out[n.id] ?? 0) + 1;
        return out;
    },
    async counter(key: string): Promise<number> {
        return (await aios.state()).counters[key] ?? 0;
    },
};

// ---------------------------------------------------------------------------------------------- secrets

/** A bootstrap token the suite saw in the cluster: when first seen, and its Secret's expiration and description. */
export interface SeenToken {
    id: string;
    firstSeen: number;
    /** The latest expiration the watcher saw on it. */
    expiresAt?: string;
    description: string;
}

/** Every secret value the audit looks for, gathered as the suite runs; `seen`, every bootstrap token by id. */
export const ledger = { tokens: new Set<string>(), privateKeys: [] as string[], seen: new Map<string, SeenToken>() };

/**
 * Records every bootstrap token Secret that appears in kube-system, every 100 ms while the suite runs:
 * the product deletes a machine's token once the machine is verified, so a token read only at world
 * resets would escape the secrets audit. A token lives at least as long as its join (seconds).
 */
function watchTokens(): () => void {
    let stopped = false;
    const loop = async () => {
        while (!stopped) {
            try {
                const r = await kube().request<{ items?: SecretObject[] }>("GET", `/api/v1/namespaces/kube-system/secrets?fieldSelector=${encodeURIComponent("type=bootstrap.kubernetes.io/token")}`);
                for (const s of r.status === 200 ? (r.body.items ?? []) : []) recordToken(s);
            } catch {
                // The world is being reset or is down for a moment; the next round reads again.
            }
            await sleep(100);
        }
    };
    void loop();
    return () => void (stopped = true);
}

function recordToken(s: SecretObject): void {
    const d = (k: string) => (s.data?.[k] === undefined ? undefined : Buffer.from(s.data[k], "base64").toString("utf8"));
    const id = d("token-id") ?? "";
    const secret = d("token-secret") ?? "";
    if (!id || !secret) return;
    ledger.tokens.add(`${id}.${secret}`);
    const seen = ledger.seen.get(id);
    if (!seen) ledger.seen.set(id, { id, firstSeen: Date.now(), expiresAt: d("expiration"), description: d("description") ?? "" });
    // AIOS's gateway mints a token without expiry; the registration gives it one a moment later.
    else seen.expiresAt = d("expiration") ?? seen.expiresAt;
}

/** The tokens first seen at or after `since` (ms): those a run of the product made (AIOS's gateway, or the product itself). */
export function tokensSeenSince(since: number): SeenToken[] {
    return [...ledger.seen.values()].filter((t) => t.firstSeen >= since);
}

/** Every text the audit scans: engine output and events, exported states, ps samples. */
export const corpus = {
    items: [] as { source: string; text: string }[],
    add(source: string, text: string): void {
        if (text) this.items.push({ source, text });
    },
};

/** Records every bootstrap token (API server Secrets and the registry's joinCommand) into the ledger. */
export async function collectTokens(): Promise<void> {
    for (const t of await bootstrapTokens()) ledger.tokens.add(t.token);
    for (const c of (await aios.state()).clusters) {
        const m = /--token\s+([a-z0-9]{6}\.[a-z0-9]{16})/.exec(c.clusterMetadata?.additionalInfo?.joinCommand ?? "");
        if (m) ledger.tokens.add(m[1]);
    }
}

// ---------------------------------------------------------------------------------------------- the suite

interface Suite {
    started: number;
    tmp: string;
    projectDir: string;
    engineTmp: string;
    envVars: Record<string, string>;
    pulumiCommand: PulumiCommand;
}

let suite: Suite | undefined;
let setupPromise: Promise<Suite> | undefined;
let hooksRegistered = false;
let stopWatchingTokens: (() => void) | undefined;
let stackCounter = 0;
const openStacks = new Set<E2EStack>();

export function suiteInfo(): Suite {
    if (!suite) throw new Error("the e2e suite is not set up (registerSuiteHooks)");
    return suite;
}

async function setup(): Promise<Suite> {
    const started = Date.now();
    // The toolchain (engine, command provider, cluster binaries): built once, cached outside the clone.
    const tc = await run("bash", [path.join(repoRoot, "scripts", "toolchain.sh")], { timeoutMs: 60 * 60_000 });
    if (tc.code !== 0) throw new Error(`scripts/toolchain.sh failed:\n${tc.stderr.slice(-3000)}`);
    const bin = tc.stdout.trim().split("\n").pop()!;
    const up = await run("bash", [worldSh, "up"], { env: { ...process.env, WORLD_MACHINES: String(WORLD_MACHINES) }, timeoutMs: 60 * 60_000 });
    if (up.code !== 0) throw new Error(`scripts/world.sh up failed:\n${up.stderr.slice(-3000)}`);
    worldCache = undefined;
    if (world().machines.length < WORLD_MACHINES) {
        throw new Error(`the world has ${world().machines.length} machines; the suite needs ${WORLD_MACHINES} (WORLD_MACHINES=${WORLD_MACHINES} bash scripts/world.sh up)`);
    }
    // The offline engine environment, exactly as scripts/pulumi-env.sh exports it (plugins installed too).
    const envDump = await run("bash", ["-c", '. scripts/pulumi-env.sh >&2 && env -0'], { env: { ...process.env, AIOS_TOOLS_BIN: bin }, timeoutMs: 10 * 60_000 });
    if (envDump.code !== 0) throw new Error(`scripts/pulumi-env.sh failed:\n${envDump.stderr.slice(-3000)}`);
    const env: Record<string, string> = {};
    for (const entry of envDump.stdout.split("\0")) {
        const i = entry.indexOf("=");
        if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aios-e2e-"));
    const backend = path.join(tmp, "backend");
    const engineTmp = path.join(tmp, "engine-tmp");
    const projectDir = path.join(tmp, "project");
    for (const d of [backend, engineTmp, projectDir]) fs.mkdirSync(d);
    // The repository's Pulumi.yaml with `main` pointing at its program: the workspace writes Pulumi.<stack>.yaml
    // files into the project dir, which is ours, not the clone.
    const project = load(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    project.main = path.relative(projectDir, path.join(repoRoot, String(project.main)));
    // The repository's plugin entries (this package's provider, in bin/), their paths made absolute.
    const plugins = project.plugins as { providers?: { name: string; path: string }[] } | undefined;
    for (const p of plugins?.providers ?? []) p.path = path.resolve(repoRoot, p.path);
    fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), dump(project));
    const envVars: Record<string, string> = {
        PATH: env.PATH,
        PULUMI_HOME: env.PULUMI_HOME,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        PULUMI_BACKEND_URL: `file://${backend}`,
        PULUMI_CONFIG_PASSPHRASE: "aios-e2e-passphrase",
        // `npm test` type-checks the program; the engine need not do it again on every run.
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
        // Any log file the engine or a plugin writes lands here, where the secrets audit reads it.
        TMPDIR: engineTmp,
    };
    // The Automation API puts <root>/bin first on the engine's PATH: the folder with only the CLI in it.
    const pulumiCommand = await PulumiCommand.get({ root: env.AIOS_PULUMI_ROOT, skipVersionCheck: true });
    suite = { started, tmp, projectDir, engineTmp, envVars, pulumiCommand };
    await resetWorld();
    return suite;
}

/** Registers the root hooks once (each e2e file calls this, so any one file runs on its own too). */
export function registerSuiteHooks(): void {
    if (hooksRegistered) return;
    hooksRegistered = true;
    let tests = 0;
    let failed = 0;
    before(async function () {
        // A cold toolchain or world builds from Go modules: that can take long.
        this.timeout(90 * 60_000);
        setupPromise ??= setup();
        await setupPromise;
        stopWatchingTokens ??= watchTokens();
        process.stdout.write(`      (e2e setup: toolchain, world with ${world().machines.length} machines, reset: ${((Date.now() - suiteInfo().started) / 1000).toFixed(1)}s)\n`);
    });
    afterEach(function () {
        tests++;
        if (this.currentTest?.state === "failed") failed++;
    });
    after(async function () {
        this.timeout(10 * 60_000);
        if (!suite) return;
        stopWatchingTokens?.();
        for (const s of [...openStacks]) await s.remove().catch(() => undefined);
        await resetWorld().catch((e: unknown) => process.stderr.write(`e2e: final world reset failed: ${(e as Error).message}\n`));
        const seconds = (Date.now() - suite.started) / 1000;
        process.stdout.write(`\n  e2e suite: ${tests} tests (${failed} failed) in ${Math.floor(seconds / 60)}m${(seconds % 60).toFixed(0).padStart(2, "0")}s\n`);
        if (process.env.E2E_KEEP_TMP) process.stdout.write(`  e2e temp dir kept: ${suite.tmp}\n`);
        else fs.rmSync(suite.tmp, { recursive: true, force: true });
    });
}

/**
 * Back to a clean world: AIOS at its seed (faults, policies, waiters, counters), every machine's faults
 * cleared and the machine reset (kubeadm reset -f, onboarding state removed), every Node deleted, every
 * bootstrap token except the seed's static one deleted (recorded in the ledger first).
 */
export async function resetWorld(): Promise<void> {
    await aios.reset();
    await collectTokens();
    await Promise.all(
        world().machines.map(async (m) => {
            await machineFault(m.name, "clear");
            await sshOk(m.name, `kubeadm reset -f >/dev/null 2>&1; find /var/lib/aios-onboarding -mindepth 1 -delete; rm -f ${PWNED}*; true`);
        }),
    );
    for (const n of await listNodes()) await kube().deleteNode(n.metadata.name);
    const staticToken = /--token\s+([a-z0-9]{6})\./.exec((await aios.cluster()).clusterMetadata?.additionalInfo?.joinCommand ?? "")?.[1];
    for (const t of await bootstrapTokens()) {
        if (t.name !== `bootstrap-token-${staticToken}`) await kube().deleteSecret("kube-system", t.name);
    }
}

// ---------------------------------------------------------------------------------------------- stacks

export interface MachineSpec {
    /** The world machine (m1…m5) whose node id, address, port, user and host key are the defaults. */
    m: string;
    nodeId?: string;
    host?: string;
    port?: number;
    user?: string;
    hostKey?: string;
    external?: boolean;
    address?: string;
    vpn?: boolean;
    labels?: Record<string, string>;
    taints?: { key: string; value?: string; effect: string }[];
    tags?: string[];
    nodeMetadata?: Record<string, unknown>;
    forceRemove?: boolean;
    timeouts?: Record<string, number>;
}

export interface StackSpec {
    protocol?: "gateway" | "parser";
    /** Machine names ("m1") or specs. */
    machines: (string | MachineSpec)[];
    /** The VPN declaration; default `{interface: "wg0", cidr: "10.213.200.0/24"}`; null: none. */
    vpn?: { interface: string; cidr?: string } | null;
    timeouts?: Record<string, number>;
    parallelism?: number;
    clusterId?: string;
    registryUrl?: string;
    kubeadmVersion?: string;
    sshPrivateKey?: string;
    /** Raw config values set last (undefined removes the key), e.g. for malformed config. */
    raw?: Record<string, string | { value: string; secret?: boolean } | undefined>;
}

/** Short timeouts so failing tests fail fast; the product's defaults are minutes. */
export const TEST_TIMEOUTS = { sshConnectSeconds: 5, httpSeconds: 5, joinSeconds: 60, verifySeconds: 60, drainSeconds: 30 };

export function machineConfig(spec: string | MachineSpec): Record<string, unknown> {
    const s: MachineSpec = typeof spec === "string" ? { m: spec } : spec;
    const wm = machine(s.m);
    const out: Record<string, unknown> = {
        nodeId: s.nodeId ?? wm.nodeId,
        host: s.host ?? wm.host,
        port: s.port ?? wm.port,
        user: s.user ?? wm.user,
        hostKey: s.hostKey ?? wm.hostKey,
        external: s.external ?? false,
        tags: s.tags ?? (wm.gpus > 0 ? ["gpu"] : []),
    };
    for (const k of ["address", "vpn", "labels", "taints", "nodeMetadata", "forceRemove", "timeouts"] as const) {
        if (s[k] !== undefined) out[k] = s[k];
    }
    return out;
}

export function stackConfig(spec: StackSpec): ConfigMap {
    const w = world();
    const cfg: ConfigMap = {
        clusterId: { value: spec.clusterId ?? w.aios.clusterId },
        registryUrl: { value: spec.registryUrl ?? w.aios.registryUrl },
        protocol: { value: spec.protocol ?? "gateway" },
        gatewayUrl: { value: w.aios.gatewayUrl },
        parserUrl: { value: w.aios.parserUrl },
        parallelism: { value: String(spec.parallelism ?? WORLD_MACHINES) },
        timeouts: { value: JSON.stringify({ ...TEST_TIMEOUTS, ...(spec.timeouts ?? {}) }) },
        machines: { value: JSON.stringify(spec.machines.map(machineConfig)) },
        kubeconfig: { value: fs.readFileSync(w.kubernetes.kubeconfigPath, "utf8"), secret: true },
        sshPrivateKey: { value: spec.sshPrivateKey ?? fs.readFileSync(w.ssh.privateKeyPath, "utf8"), secret: true },
    };
    if (spec.vpn !== null) cfg.vpn = { value: JSON.stringify(spec.vpn ?? { interface: "wg0", cidr: "10.213.200.0/24" }) };
    if (spec.kubeadmVersion) cfg.kubeadmVersion = { value: spec.kubeadmVersion };
    for (const [k, v] of Object.entries(spec.raw ?? {})) {
        if (v === undefined) delete cfg[k];
        else cfg[k] = typeof v === "string" ? { value: v } : v;
    }
    return cfg;
}

export interface RunResult {
    kind: "preview" | "up" | "refresh" | "destroy";
    ok: boolean;
    /** Everything the CLI printed (onOutput) and, on failure, the error's message. */
    text: string;
    events: EngineEvent[];
    error?: string;
    seconds: number;
    /** Per-op counts (preview: changeSummary; up/destroy: summary.resourceChanges). */
    changes: Record<string, number>;
    outputs: Record<string, unknown>;
}

/** URNs of resources whose step was not `same` (create/update/delete/replace…). */
export function changedResources(r: RunResult): { op: string; urn: string }[] {
    const out: { op: string; urn: string }[] = [];
    for (const e of r.events) {
        const md = e.resourcePreEvent?.metadata;
        if (md && md.op !== "same" && md.op !== "read") out.push({ op: md.op, urn: md.urn });
    }
    return out;
}

function errorEvents(r: RunResult): { urn?: string; message: string }[] {
    return r.events.flatMap((e) => (e.diagnosticEvent?.severity === "error" ? [e.diagnosticEvent] : []));
}

/** The error diagnostics of a run, one string each. */
export function errorDiagnostics(r: RunResult): string[] {
    return errorEvents(r).map((d) => `${d.urn ?? ""}: ${d.message}`);
}

/**
 * The names of the resources the run reported an error on (the stack's own summary left out), each
 * with how many errors: a failed step is reported once, on that step, and the steps after it are
 * skipped by the engine without a report of their own.
 */
export function resourcesWithErrors(r: RunResult): Record<string, number> {
    const out: Record<string, number> = {};
    for (const d of errorEvents(r)) {
        if (!d.urn || d.urn.includes("::pulumi:pulumi:Stack::")) continue;
        const name = d.urn.slice(d.urn.lastIndexOf("::") + 2);
        out[name] = (out[name] ?? 0) + 1;
    }
    return out;
}

/** The error diagnostics when the program reported a failure as a crash of its own (an unhandled exception), else undefined. */
export function crashReport(r: RunResult): string | undefined {
    return /failed with an unhandled exception/.test(r.text) ? excerpt(errorDiagnostics(r).join("\n"), 1500) : undefined;
}

/** A project other than the repository's TypeScript one: its folder and how a spec becomes its stack config. */
export interface E2EProject {
    dir: string;
    /** The project's name: the namespace of its config keys. */
    name: string;
    config: (spec: StackSpec) => ConfigMap;
    /** The config's keys are property paths (`machines["worker-1"].host`), as for a Pulumi YAML program's object config. */
    pathKeys?: boolean;
}

export class E2EStack {
    private constructor(
        readonly name: string,
        readonly stack: Stack,
        public spec: StackSpec,
        readonly project: E2EProject,
    ) {}

    static async create(label: string, spec: StackSpec, project?: E2EProject): Promise<E2EStack> {
        const s = suiteInfo();
        const p = project ?? { dir: s.projectDir, name: "aios-onboarding", config: stackConfig };
        const name = `e2e-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 40)}-${++stackCounter}`;
        const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: p.dir }, { pulumiCommand: s.pulumiCommand, envVars: s.envVars });
        const e = new E2EStack(name, stack, spec, p);
        openStacks.add(e);
        await e.configure(spec);
        return e;
    }

    /** Replaces the whole config (keys no longer in the spec are removed). */
    async configure(spec: StackSpec): Promise<void> {
        this.spec = spec;
        const cfg = this.project.config(spec);
        const current = Object.keys(await this.stack.getAllConfig()).map((k) => k.slice(`${this.project.name}:`.length));
        // Path keys set parts of an object, so a part no longer in the spec goes only with its whole key.
        const stale = this.project.pathKeys ? current : current.filter((k) => !(k in cfg));
        if (stale.length) await this.stack.removeAllConfig(stale);
        await this.stack.setAllConfig(cfg, this.project.pathKeys);
    }

    private async capture(kind: RunResult["kind"], fn: (onOutput: (s: string) => void, onEvent: (e: EngineEvent) => void) => Promise<{ changes?: Record<string, number>; outputs?: Record<string, unknown> }>): Promise<RunResult> {
        let text = "";
        const events: EngineEvent[] = [];
        const started = Date.now();
        let ok = true;
        let error: string | undefined;
        let changes: Record<string, number> = {};
        let outputs: Record<string, unknown> = {};
        try {
            const r = await fn(
                (s) => (text += s),
                (e) => events.push(e),
            );
            changes = r.changes ?? {};
            outputs = r.outputs ?? {};
        } catch (e) {
            ok = false;
            error = e instanceof Error ? e.message : String(e);
        }
        const result: RunResult = { kind, ok, text: text + (error ? `\n${error}` : ""), events, error, seconds: (Date.now() - started) / 1000, changes, outputs };
        corpus.add(`${this.name} ${kind} output`, result.text);
        // One event per line, so that the audit can say which event holds a secret.
        corpus.add(`${this.name} ${kind} events`, events.map((e) => JSON.stringify(e)).join("\n"));
        if (process.env.E2E_VERBOSE) process.stdout.write(`\n----- ${this.name} ${kind} (${result.seconds.toFixed(1)}s, ok=${ok})\n${result.text}\n`);
        // scripts/pulumi-env.sh puts only the CLI on PATH and the plugins in PULUMI_HOME, so a user's output is clean.
        const ambient = /warning: using \S+ from \$PATH[^\n]*/.exec(result.text);
        assert.ok(!ambient, `${this.name} ${kind}: the engine took a plugin from PATH: ${ambient?.[0]}`);
        return result;
    }

    preview(opts: { expectNoChanges?: boolean; diff?: boolean; refresh?: boolean } = {}): Promise<RunResult> {
        return this.capture("preview", async (onOutput, onEvent) => {
            const r = await this.stack.preview({ onOutput, onEvent, expectNoChanges: opts.expectNoChanges, diff: opts.diff, refresh: opts.refresh, color: "never" });
            return { changes: r.changeSummary as Record<string, number> };
        });
    }

    up(opts: { continueOnError?: boolean; parallel?: number; refresh?: boolean; onEvent?: (e: EngineEvent) => void } = {}): Promise<RunResult> {
        return this.capture("up", async (onOutput, record) => {
            const onEvent = (e: EngineEvent) => {
                record(e);
                opts.onEvent?.(e);
            };
            const r = await this.stack.up({ onOutput, onEvent, continueOnError: opts.continueOnError, parallel: opts.parallel ?? WORLD_MACHINES, refresh: opts.refresh, color: "never" });
            return { changes: (r.summary.resourceChanges ?? {}) as Record<string, number>, outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value as unknown])) };
        });
    }

    refresh(opts: { expectNoChanges?: boolean; clearPendingCreates?: boolean } = {}): Promise<RunResult> {
        return this.capture("refresh", async (onOutput, onEvent) => {
            const r = await this.stack.refresh({ onOutput, onEvent, expectNoChanges: opts.expectNoChanges, clearPendingCreates: opts.clearPendingCreates, parallel: WORLD_MACHINES, color: "never" });
            return { changes: (r.summary.resourceChanges ?? {}) as Record<string, number> };
        });
    }

    destroy(opts: { continueOnError?: boolean } = {}): Promise<RunResult> {
        return this.capture("destroy", async (onOutput, onEvent) => {
            const r = await this.stack.destroy({ onOutput, onEvent, continueOnError: opts.continueOnError, parallel: WORLD_MACHINES, color: "never" });
            return { changes: (r.summary.resourceChanges ?? {}) as Record<string, number> };
        });
    }

    /**
     * `pulumi stack export`, as a user runs it (secrets stay encrypted), added to the audit corpus. The
     * Automation API's `exportStack()` passes `--show-secrets`; its result goes to the corpus too, with the
     * values the product marked secret left out, so a secret outside a secret value is still caught.
     */
    async exportState(): Promise<string> {
        const s = suiteInfo();
        const r = await run(s.pulumiCommand.command, ["stack", "export", "--stack", this.name], { env: { ...process.env, ...s.envVars }, cwd: this.project.dir });
        assert.equal(r.code, 0, `pulumi stack export: ${r.stderr}`);
        corpus.add(`${this.name} exported state`, r.stdout);
        corpus.add(`${this.name} exported state (--show-secrets, secret values left out)`, JSON.stringify(withoutSecretValues(await this.stack.exportStack())));
        return r.stdout;
    }

    /** `pulumi preview` of this stack from another checkout of the project (its stack config copied over). */
    async previewFrom(checkout: OtherCheckout, opts: { expectNoChanges?: boolean } = {}): Promise<RunResult> {
        const s = suiteInfo();
        const configFile = `Pulumi.${this.name}.yaml`;
        fs.copyFileSync(path.join(s.projectDir, configFile), path.join(checkout.projectDir, configFile));
        const there = await LocalWorkspace.selectStack({ stackName: this.name, workDir: checkout.projectDir }, { pulumiCommand: s.pulumiCommand, envVars: checkout.envVars });
        return this.capture("preview", async (onOutput, onEvent) => {
            const r = await there.preview({ onOutput, onEvent, expectNoChanges: opts.expectNoChanges, diff: true, color: "never" });
            return { changes: r.changeSummary as Record<string, number> };
        });
    }

    /** SIGKILL to the engine of this stack's running `pulumi up`, as a crash or an OOM kill would. */
    async killEngine(): Promise<number> {
        const ps = await run("ps", ["-eo", "pid=,args="]);
        const pids = ps.stdout
            .split("\n")
            .map((l) => l.trim().split(/\s+/))
            .filter((f) => f.length > 2 && /(^|\/)pulumi$/.test(f[1]) && f[2] === "up" && f.includes(this.name))
            .map((f) => Number(f[0]));
        assert.equal(pids.length, 1, `expected one engine running up for ${this.name}: ${JSON.stringify(pids)}`);
        process.kill(pids[0], "SIGKILL");
        return pids[0];
    }

    /** `pulumi cancel --yes`, as a user runs it after an interrupted run left the stack locked. */
    async cancel(): Promise<Exec> {
        const s = suiteInfo();
        return run(s.pulumiCommand.command, ["cancel", "--yes", "--stack", this.name], { env: { ...process.env, ...s.envVars }, cwd: this.project.dir });
    }

    /** Resources in the state, by URN suffix (type and name). */
    async resources(): Promise<{ urn: string; type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[]> {
        const d = (await this.stack.exportStack()) as unknown as { deployment?: { resources?: { urn: string; type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[] } };
        return d.deployment?.resources ?? [];
    }

    /** Exports the state into the corpus and removes the stack (its resources are forgotten, not destroyed). */
    async remove(): Promise<void> {
        openStacks.delete(this);
        await this.exportState().catch(() => undefined);
        await this.stack.workspace.removeStack(this.name, { force: true });
    }
}

/** The Pulumi secret signature of a secret value in a state. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A deployment with every secret value (`{"4dabf…": …, "plaintext"|"ciphertext": …}`) replaced by "[secret]". */
export function withoutSecretValues(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(withoutSecretValues);
    if (v && typeof v === "object") {
        if (SECRET_SIG in v) return "[secret]";
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutSecretValues(x)]));
    }
    return v;
}

/** A second checkout of the project: another folder, its own node_modules (so its own Node binary), its own project dir. */
export interface OtherCheckout {
    root: string;
    projectDir: string;
    envVars: Record<string, string>;
}

let otherCheckout: OtherCheckout | undefined;

/**
 * Copies the repository (working tree and node_modules, not .git or the world's state) into a folder with a
 * space in its name, as a teammate's or a CI runner's checkout at another path, and makes a project dir for it
 * whose Pulumi.yaml points at that copy's program and plugin, with that copy's node_modules/.bin on PATH.
 */
export async function anotherCheckout(): Promise<OtherCheckout> {
    if (otherCheckout) return otherCheckout;
    const s = suiteInfo();
    const root = path.join(s.tmp, "second checkout", "aios-onboarding");
    fs.mkdirSync(root, { recursive: true });
    const copy = await run("bash", ["-c", 'tar -C "$1" --exclude=./.git --exclude=./.world -cf - . | tar -C "$2" -xf -', "copy", repoRoot, root], { timeoutMs: 10 * 60_000 });
    assert.equal(copy.code, 0, `copying the checkout failed: ${copy.stderr}`);
    const projectDir = path.join(s.tmp, "second checkout", "project");
    fs.mkdirSync(projectDir, { recursive: true });
    const project = load(fs.readFileSync(path.join(s.projectDir, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    project.main = path.relative(projectDir, path.join(root, path.relative(repoRoot, path.resolve(s.projectDir, String(project.main)))));
    for (const p of (project.plugins as { providers?: { path: string }[] } | undefined)?.providers ?? []) p.path = path.join(root, path.relative(repoRoot, p.path));
    fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), dump(project));
    const envVars = { ...s.envVars, PATH: s.envVars.PATH.split(path.join(repoRoot, "node_modules")).join(path.join(root, "node_modules")) };
    otherCheckout = { root, projectDir, envVars };
    return otherCheckout;
}

export function newStack(label: string, spec: StackSpec): Promise<E2EStack> {
    return E2EStack.create(label, spec);
}

/**
 * A folder for a project of the suite's own (e.g. a Pulumi YAML program): `pulumiYaml` is its Pulumi.yaml,
 * with `${repo}` standing for the repository's folder (its provider plugin is in ${repo}/bin).
 */
export function projectDir(label: string, pulumiYaml: string): string {
    const dir = path.join(suiteInfo().tmp, `project-${label}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), pulumiYaml.split("${repo}").join(repoRoot));
    return dir;
}

// ---------------------------------------------------------------------------------------------- assertions

/**
 * assert.ok without mocha's diff: mocha shortens a failed assertion's message at the first ": expected",
 * which every precheck error contains, so the engine output excerpt would be lost.
 */
export function ok(value: unknown, message = "assertion failed"): asserts value {
    if (!value) assert.fail(message);
}

/** Asserts that `text` matches every pattern, with the text in the failure message. */
export function assertMentions(text: string, patterns: (RegExp | string)[], what = "engine output"): void {
    for (const p of patterns) {
        const found = typeof p === "string" ? text.includes(p) : p.test(text);
        ok(found, `${what} does not mention ${String(p)}:\n${excerpt(text)}`);
    }
}

/** The error lines of an engine output (what a user reads), shortened for assertion messages. */
export function excerpt(text: string, max = 4000): string {
    return text.length > max ? `…${text.slice(-max)}` : text;
}

/** A Node that is Ready and labelled nodeID=<id> (by the controller stand-in). */
export async function assertOnboarded(nodeId: string): Promise<KubeNode> {
    const n = await getNode(nodeId);
    ok(n, `Node ${nodeId} does not exist`);
    ok(nodeReady(n), `Node ${nodeId} is not Ready`);
    assert.equal(n.metadata.labels?.nodeID, nodeId, `Node ${nodeId} lacks nodeID=${nodeId}`);
    const waiters = (await aios.state()).waiters.filter((w) => w.nodeId === nodeId && w.state === "labelled");
    ok(waiters.length > 0, `no AIOS waiter labelled ${nodeId}: the label was not set by the controller stand-in`);
    return n;
}

/** Nothing of the machine's onboarding exists: no Node, no registry entry, no kubelet.conf or marker on it. */
export async function assertUntouched(m: string, nodeId = machine(m).nodeId): Promise<void> {
    assert.equal(await getNode(nodeId), undefined, `Node ${nodeId} exists`);
    const reg = await aios.registryNodes();
    ok(!reg.some((n) => n.id === nodeId), `the registry lists ${nodeId}`);
    const st = await machineJoinState(m);
    assert.equal(st.kubeletConf, false, `${m} has ${KUBELET_CONF}`);
    assert.equal(st.marker, undefined, `${m} has the onboarding marker`);
    assert.equal(st.kubeletRunning, false, `${m} runs a kubelet`);
}

/** No step of onboarding (a `command:` resource) is in the state: the program failed before any. */
export function assertNoSteps(resources: { urn: string; type: string }[]): void {
    const steps = resources.filter((r) => r.type.startsWith("command:"));
    assert.deepEqual(steps.map((r) => r.urn), [], "onboarding steps were written into the state");
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

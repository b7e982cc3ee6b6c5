// Scale benchmark (npm run bench): onboarding N machines of the local world with `pulumi up`
// against a plain parallel-SSH baseline doing the same work, plus preview cost, label latency and
// peak memory. Prints one table and writes it to docs/benchmarks.md.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync, watch } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { LocalWorkspace, Stack, EngineEvent } from "@pulumi/pulumi/automation";
import { GatewayClient } from "../components/aios";
import { KubeClient, nodeReady } from "../components/kube/client";
import { parseKubeconfig } from "../components/kube/kubeconfig";
import { joinScript } from "../components/join/scripts";
import { joinConfiguration } from "../components/join/joinConfiguration";
import { parseProbeOutput, PROBE_SCRIPT } from "../components/machine/probe";
import { runRemoteScript } from "../components/machine/ssh";
import { buildInventory } from "../components/machine/inventory";

const repo = join(__dirname, "..");

export interface WorldMachine { name: string; nodeId: string; host: string; port: number; user: string; hostKey: string }
export interface World {
    kubernetes: { kubeconfigPath: string };
    aios: { registryUrl: string; gatewayUrl: string; controlUrl: string; clusterId: string };
    ssh: { privateKeyPath: string; knownHostsPath: string };
    machines: WorldMachine[];
}

export interface BenchOptions { sizes: number[]; repeats: number; out?: string }

function sh(cmd: string, env: NodeJS.ProcessEnv = {}): string {
    const r = spawnSync("bash", ["-c", cmd], { cwd: repo, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    return r.stdout;
}

export function readWorld(): World {
    return JSON.parse(readFileSync(join(repo, ".world", "world.json"), "utf8")) as World;
}

async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
    let i = 0;
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
        while (i < items.length) await fn(items[i++]);
    }));
}

/** Un-joins every machine, deletes their Nodes and resets the AIOS stand-ins. */
export async function resetWorld(world: World, kube: KubeClient): Promise<void> {
    await pool(world.machines, 8, async (m) => {
        spawnSync("bash", ["scripts/world.sh", "ssh", m.name, "kubeadm reset -f >/dev/null 2>&1; rm -rf /var/lib/aios-onboarding/*"], { cwd: repo });
        // Right after the world changed size the API server can be slow to answer: try again.
        for (let attempt = 1; ; attempt++) {
            try {
                await kube.deleteNode(m.nodeId);
                break;
            } catch (e) {
                if (attempt === 3) throw e;
                await new Promise((r) => setTimeout(r, 2000));
            }
        }
    });
    await fetch(`${world.aios.controlUrl}/_world/reset`, { method: "POST" });
}

/** Peak RSS (MiB) of the engine and of the Node.js program while `during` runs. */
async function sampleMemory<T>(during: () => Promise<T>): Promise<{ result: T; engineMiB: number; programMiB: number }> {
    let engine = 0;
    let program = 0;
    const timer = setInterval(() => {
        const ps = spawnSync("ps", ["-eo", "rss=,args="], { encoding: "utf8" }).stdout;
        let e = 0;
        let p = 0;
        for (const line of ps.split("\n")) {
            const m = /^\s*(\d+)\s+(.*)$/.exec(line);
            if (!m) continue;
            const rss = Number(m[1]) / 1024;
            // The engine with its plugins (language host, command provider, this package's provider).
            if (/(^|\/)pulumi (up|preview|destroy)\b|pulumi-language-nodejs|pulumi-resource-|bin\/provider\.js|provider\/main\.js/.test(m[2])) e += rss;
            if (m[2].includes("@pulumi/pulumi/cmd/run")) p += rss;
        }
        engine = Math.max(engine, e);
        program = Math.max(program, p);
    }, 200);
    try {
        const result = await during();
        return { result, engineMiB: engine, programMiB: program };
    } finally {
        clearInterval(timer);
    }
}

export function machinesConfig(machines: WorldMachine[]): { value: string } {
    return { value: JSON.stringify(machines.map((m) => ({ nodeId: m.nodeId, host: m.host, port: m.port, user: m.user, hostKey: m.hostKey }))) };
}

export async function stackFor(name: string, world: World, machines: WorldMachine[], backend: string, parallelism?: number): Promise<Stack> {
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: name, workDir: repo },
        { envVars: { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "bench", PULUMI_NODEJS_TRANSPILE_ONLY: "true" } },
    );
    await stack.setAllConfig({
        clusterId: { value: world.aios.clusterId },
        registryUrl: { value: world.aios.registryUrl },
        gatewayUrl: { value: world.aios.gatewayUrl },
        ...(parallelism ? { parallelism: { value: String(parallelism) } } : {}),
        machines: machinesConfig(machines),
        kubeconfig: { value: readFileSync(world.kubernetes.kubeconfigPath, "utf8"), secret: true },
        sshPrivateKey: { value: readFileSync(world.ssh.privateKeyPath, "utf8"), secret: true },
    });
    return stack;
}

interface UpRun { seconds: number; labelLatencyMs: number[]; engineMiB: number; programMiB: number; checkpointWrites: number }

/**
 * Counts the file backend's writes of a stack's checkpoint while `during` runs: each write replaces
 * `<backend>/.pulumi/stacks/<project>/<stack>.json` by a rename (the engine writes a temporary file first).
 */
async function countCheckpointWrites<T>(backend: string, stackName: string, during: () => Promise<T>): Promise<{ result: T; writes: number }> {
    let writes = 0;
    const watcher = watch(join(backend, ".pulumi", "stacks", "aios-onboarding"), (event, file) => {
        if (event === "rename" && file === `${stackName}.json`) writes++;
    });
    try {
        const result = await during();
        // inotify events of the last write may still be queued.
        await new Promise((r) => setTimeout(r, 200));
        return { result, writes };
    } finally {
        watcher.close();
    }
}

/** Resources and bytes (compact JSON) per machine in a stack's state: everything but the stack and the providers. */
async function statePerMachine(stack: Stack, n: number): Promise<{ resources: number; bytes: number }> {
    const d = (await stack.exportStack()) as unknown as { deployment?: { resources?: { type: string }[] } };
    const own = (d.deployment?.resources ?? []).filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"));
    return { resources: own.length / n, bytes: own.reduce((sum, r) => sum + JSON.stringify(r).length, 0) / n };
}

/**
 * `pulumi up` as a user runs it: the stack's `parallelism` config bounds the machines; above the
 * engine's default step limit (4 per CPU) the program says to pass `--parallel`, so that run does.
 */
async function timedUp(stack: Stack, world: World, backend: string, parallel?: number): Promise<UpRun> {
    const verifiedAt = new Map<string, number>();
    const onEvent = (e: EngineEvent): void => {
        const urn = e.resOutputsEvent?.metadata.urn ?? "";
        const m = /::([^:]+)-verify$/.exec(urn);
        if (m && e.resOutputsEvent?.metadata.op === "create") verifiedAt.set(m[1], Date.now());
    };
    const t0 = Date.now();
    const {
        result: { engineMiB, programMiB },
        writes: checkpointWrites,
    } = await countCheckpointWrites(backend, stack.name, () => sampleMemory(() => stack.up({ onEvent, parallel })));
    const seconds = (Date.now() - t0) / 1000;
    const state = (await (await fetch(`${world.aios.controlUrl}/_world/state`)).json()) as { waiters: { nodeId: string; labelledAt?: string | number }[] };
    const labelLatencyMs: number[] = [];
    for (const w of state.waiters) {
        const done = verifiedAt.get(w.nodeId);
        if (done && w.labelledAt !== undefined) labelLatencyMs.push(done - new Date(w.labelledAt).getTime());
    }
    return { seconds, labelLatencyMs, engineMiB, programMiB, checkpointWrites };
}

/** The same work with no Pulumi: SSH probe, dry run + join-node, SSH join with the join configuration on stdin, watch the label. */
async function baseline(world: World, machines: WorldMachine[]): Promise<number> {
    const kubeconfig = readFileSync(world.kubernetes.kubeconfigPath, "utf8");
    const kube = new KubeClient(parseKubeconfig(kubeconfig));
    // 100 join-node calls at once keep the gateway stand-in busy longer than the default 10 s.
    const gateway = new GatewayClient(world.aios.gatewayUrl, { timeoutMs: 120_000 });
    const key = readFileSync(world.ssh.privateKeyPath, "utf8");
    const t0 = Date.now();
    await Promise.all(machines.map(async (m) => {
        const probe = await runRemoteScript({ host: m.host, port: m.port, user: m.user, hostKey: m.hostKey, privateKey: key, connectTimeoutSeconds: 10 }, PROBE_SCRIPT, 60);
        const node = buildInventory(m.nodeId, parseProbeOutput(probe.stdout), [], {});
        await gateway.dryRunAddNode(world.aios.clusterId, node);
        const cmd = await gateway.joinNode(world.aios.clusterId, node, { mode: "local_network" });
        await new Promise<void>((resolve, reject) => {
            const child = spawn("ssh", ["-i", world.ssh.privateKeyPath, "-o", `UserKnownHostsFile="${world.ssh.knownHostsPath}"`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", String(m.port), `${m.user}@${m.host}`, joinScript({ clusterId: world.aios.clusterId, nodeId: m.nodeId, joinTimeoutSeconds: 300 })], { stdio: ["pipe", "ignore", "pipe"] });
            let err = "";
            child.stderr.on("data", (d: Buffer) => (err += d.toString()));
            child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`baseline join of ${m.nodeId}: ${err.slice(-300)}`))));
            child.stdin.end(joinConfiguration(cmd, m.nodeId));
        });
        const ok = await kube.watchNode(m.nodeId, Date.now() + 360_000, (n) => !!n && nodeReady(n) && n.metadata.labels?.nodeID === m.nodeId, () => undefined);
        if (!ok) throw new Error(`baseline: ${m.nodeId} never labelled`);
    }));
    return (Date.now() - t0) / 1000;
}

async function timedPreview(stack: Stack): Promise<number> {
    const t0 = Date.now();
    await stack.preview({ expectNoChanges: true });
    return (Date.now() - t0) / 1000;
}

const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs: number[]): string => (xs.length ? `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}` : "-");
const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : "-");

export interface BenchRow {
    n: number;
    upDefault: number[];
    upN: number[];
    baseline: number[];
    previewFull: number[];
    previewEmpty: number[];
    labelLatencyMs: number[];
    engineMiB: number;
    programMiB: number;
    /** Of the `up` with parallelism N, per onboarded machine. */
    resourcesPerMachine: number;
    stateBytesPerMachine: number;
    writesPerMachine: number[];
    /** `pulumi up` adding one machine to the stack of N onboarded ones. */
    addOne: number[];
}

export async function runBench(opts: BenchOptions, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<{ rows: BenchRow[]; table: string }> {
    const rows: BenchRow[] = [];
    const backend = mkdtempSync(join(tmpdir(), "aios-bench-"));
    for (const n of opts.sizes) {
        log(`bench: world with ${n} machines`);
        // One machine more than N: the everyday change, one machine added to a stack of N.
        sh(`bash scripts/world.sh up`, { WORLD_MACHINES: String(Math.max(3, n + 1)) });
        const world = readWorld();
        if (world.machines.length < n + 1) throw new Error(`the world has ${world.machines.length} machines, ${n + 1} needed`);
        const machines = world.machines.slice(0, n);
        const kube = new KubeClient(parseKubeconfig(readFileSync(world.kubernetes.kubeconfigPath, "utf8")));
        const row: BenchRow = { n, upDefault: [], upN: [], baseline: [], previewFull: [], previewEmpty: [], labelLatencyMs: [], engineMiB: 0, programMiB: 0, resourcesPerMachine: 0, stateBytesPerMachine: 0, writesPerMachine: [], addOne: [] };
        const empty = await stackFor(`bench-empty-${n}`, world, [], backend);
        // Up once, so its previews compare like with like: an up-to-date stack, no changes.
        await empty.up();
        for (let r = 0; r < opts.repeats; r++) {
            for (const [label, parallelism, into] of [["default", undefined, row.upDefault], ["N", n, row.upN]] as const) {
                await resetWorld(world, kube);
                const stack = await stackFor(`bench-${n}-${label}-${r}`, world, machines, backend, parallelism);
                const up = await timedUp(stack, world, backend, parallelism);
                into.push(up.seconds);
                row.labelLatencyMs.push(...up.labelLatencyMs);
                row.engineMiB = Math.max(row.engineMiB, up.engineMiB);
                row.programMiB = Math.max(row.programMiB, up.programMiB);
                if (label === "N") {
                    row.writesPerMachine.push(up.checkpointWrites / n);
                    ({ resources: row.resourcesPerMachine, bytes: row.stateBytesPerMachine } = await statePerMachine(stack, n));
                    row.previewFull.push(await timedPreview(stack));
                    await stack.setConfig("machines", machinesConfig(world.machines.slice(0, n + 1)));
                    const add = await timedUp(stack, world, backend, parallelism);
                    row.addOne.push(add.seconds);
                    log(`bench: N=${n} adding one machine ${add.seconds.toFixed(1)} s`);
                }
                await stack.workspace.removeStack(stack.name, { force: true });
                log(`bench: N=${n} up (parallelism ${parallelism ?? "default"}) ${up.seconds.toFixed(1)} s`);
            }
            row.previewEmpty.push(await timedPreview(empty));
            await resetWorld(world, kube);
            row.baseline.push(await baseline(world, machines));
            log(`bench: N=${n} baseline ${row.baseline[row.baseline.length - 1].toFixed(1)} s`);
        }
        await resetWorld(world, kube);
        await empty.workspace.removeStack(empty.name, { force: true });
        rows.push(row);
    }
    const header = `| N | up, parallelism default (4) (s) | up, parallelism N, --parallel N (s) | baseline (s) | up(N) / baseline | preview, N onboarded (s) | preview, empty (s) | preview ratio | label latency median / max (ms) | peak engine+plugins RSS (MiB) | peak program RSS (MiB) | program RSS per machine (MiB) | resources per machine | state per machine (KB) | checkpoint writes per machine | up adding 1 to N onboarded (s) | that / up(1) |`;
    const lines = [header, `|${"---|".repeat(17)}`];
    // Onboarding one machine into an empty stack: the N = 1 row's up.
    const one = median(rows.find((r) => r.n === 1)?.upN ?? []);
    for (const r of rows) {
        lines.push(
            `| ${r.n} | ${f(median(r.upDefault))} (${spread(r.upDefault)}) | ${f(median(r.upN))} (${spread(r.upN)}) | ${f(median(r.baseline))} (${spread(r.baseline)}) | ${f(median(r.upN) / median(r.baseline), 2)} | ${f(median(r.previewFull))} (${spread(r.previewFull)}) | ${f(median(r.previewEmpty))} (${spread(r.previewEmpty)}) | ${f(median(r.previewFull) / median(r.previewEmpty), 2)} | ${f(median(r.labelLatencyMs), 0)} / ${f(Math.max(...r.labelLatencyMs), 0)} | ${f(r.engineMiB, 0)} | ${f(r.programMiB, 0)} | ${f(r.programMiB / r.n, 1)} | ${f(r.resourcesPerMachine, 1)} | ${f(r.stateBytesPerMachine / 1024, 1)} | ${f(median(r.writesPerMachine), 1)} | ${f(median(r.addOne))} (${spread(r.addOne)}) | ${f(median(r.addOne) / one, 2)} |`,
        );
    }
    const table = lines.join("\n");
    if (opts.out) {
        const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
        writeFileSync(
            opts.out,
            `# Benchmarks\n\nMeasured ${new Date().toISOString()} on ${machine}, with \`npm run bench -- --sizes ${opts.sizes.join(",")} --repeats ${opts.repeats}\`.\n` +
                `Each figure is the median of ${opts.repeats} run(s), the range in brackets. The baseline does the same work with no Pulumi: ` +
                `probe, AIOS dry run + join-node, the same join script over SSH with the token on stdin, and a watch for the nodeID label.\n` +
                `Label latency: from the AIOS controller stand-in setting the label to the engine reporting the verify resource done. ` +
                `Per machine (from the up with parallelism N): the state's resources other than the stack and the providers, their compact JSON, ` +
                `and the file backend's writes of the stack's checkpoint during the up, divided by N. ` +
                `Adding one: \`pulumi up\` of that stack with machine N + 1 added, against the up of one machine into an empty stack (N = 1).\n\n${table}\n`,
        );
    }
    return { rows, table };
}

if (require.main === module) {
    const arg = (name: string, dflt: string): string => {
        const i = process.argv.indexOf(`--${name}`);
        return i >= 0 ? process.argv[i + 1] : dflt;
    };
    const opts: BenchOptions = {
        sizes: arg("sizes", "1,10,50").split(",").map(Number),
        repeats: Number(arg("repeats", "3")),
        out: arg("out", join(repo, "docs", "benchmarks.md")),
    };
    runBench(opts)
        .then(({ table }) => process.stdout.write(`${table}\n`))
        .catch((e: unknown) => {
            process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        });
}

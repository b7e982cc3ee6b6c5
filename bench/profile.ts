// One `pulumi up` of N machines of the local world, with the CPU time and peak memory of each kind of
// process (engine, program, the aios-onboarding provider plugin, other plugins, SSH, the world's own services), sampled from /proc.
//   npm run bench:profile -- N [parallelism] [--add-one | --preview] [--timeline] [--engine-profile]
// With --add-one, N machines are onboarded first (not profiled) and the profiled up adds machine N + 1.
// With --preview, N machines are onboarded first and the profiled run is a preview of the same N.
// With --timeline, it also splits each machine's label latency: label → registry entry re-added (if
// AIOS lost it) → verify resource reported done by the engine.
// With --engine-profile, the engine of the profiled run also writes its own Go CPU profile (the CLI's
// `--profiling`, through a `pulumi` script put first on PATH), summarised with `go tool pprof`.
// Tells where an up's time goes before anyone optimises it (docs/benchmarks.md, "Where the time goes").
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { z } from "zod";
import { KubeClient } from "../components/kube/client";
import { parseKubeconfig } from "../components/kube/kubeconfig";
import { machinesConfig, readWorld, resetWorld, stackFor } from "./bench";

const CLASSES: [string, RegExp][] = [
    ["engine (pulumi CLI)", /(^|\/)pulumi (--profiling \S+ )?(up|preview|destroy)/],
    ["language host", /pulumi-language-nodejs/],
    ["command plugin", /pulumi-resource-command/],
    ["provider plugin (node)", /bin\/provider\.js|provider\/main\.js/],
    ["program (node)", /@pulumi\/pulumi\/cmd\/run/],
    ["ssh client (probes)", /^ssh /],
    ["sshd (machines)", /sshd/],
    ["kubeadm/kubelet stand-ins", /kubeadm|kubelet/],
    ["kube-apiserver", /kube-apiserver/],
    ["kube-controller-manager", /kube-controller-manager/],
    ["etcd", /(^|\/)etcd /],
    ["AIOS stand-ins", /world\/aios/],
];

/**
 * CPU seconds per process class, from the first to the last time each process was seen, and the
 * class's peak resident memory (the most its processes held together at one sample).
 */
class ProcessSampler {
    private readonly seen = new Map<string, { cls: string; first: number; last: number }>();
    private readonly peakRss = new Map<string, number>();
    private readonly ticks = 100; // USER_HZ on Linux
    private timer?: NodeJS.Timeout;

    start(): void {
        this.timer = setInterval(() => this.sample(), 50);
    }

    stop(): { cpu: Map<string, number>; peakMiB: Map<string, number> } {
        clearInterval(this.timer);
        this.sample();
        const cpu = new Map<string, number>();
        for (const { cls, first, last } of this.seen.values()) cpu.set(cls, (cpu.get(cls) ?? 0) + last - first);
        return { cpu, peakMiB: this.peakRss };
    }

    private sample(): void {
        const rss = new Map<string, number>();
        for (const pid of readdirSync("/proc")) {
            if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
            try {
                const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
                const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
                const cpu = (Number(f[11]) + Number(f[12])) / this.ticks;
                const key = `${pid}/${f[19]}`;
                let known = this.seen.get(key);
                if (known) {
                    known.last = cpu;
                } else {
                    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
                    if (!cmd) continue;
                    const cls = CLASSES.find(([, rx]) => rx.test(cmd))?.[0];
                    known = { cls: cls ?? `other (${cmd.split(" ").slice(0, 3).join(" ").slice(0, 60)})`, first: cpu, last: cpu };
                    this.seen.set(key, known);
                }
                rss.set(known.cls, (rss.get(known.cls) ?? 0) + (Number(f[21]) * 4096) / 2 ** 20);
            } catch {
                // the process ended between readdir and read
            }
        }
        for (const [cls, mib] of rss) this.peakRss.set(cls, Math.max(this.peakRss.get(cls) ?? 0, mib));
    }
}

const waitersSchema = z.object({ waiters: z.array(z.object({ nodeId: z.string(), readyAt: z.string().optional(), labelledAt: z.string().optional() })) });

/** Per machine: when the engine reported its verify done, and when its verification re-added a lost registry entry. */
class Timeline {
    readonly verifiedAt = new Map<string, number>();
    readonly joinedAt = new Map<string, number>();
    readonly verifyStartedAt = new Map<string, number>();
    readonly reAddedAt = new Map<string, number[]>();

    onEvent = (e: EngineEvent): void => {
        const out = /::([^:]+)-(verify|join)$/.exec(e.resOutputsEvent?.metadata.urn ?? "");
        if (out) (out[2] === "verify" ? this.verifiedAt : this.joinedAt).set(out[1], Date.now());
        const pre = /::([^:]+)-verify$/.exec(e.resourcePreEvent?.metadata.urn ?? "");
        if (pre) this.verifyStartedAt.set(pre[1], Date.now());
        const diag = e.diagnosticEvent;
        const lost = diag && /::([^:]+)-verify$/.exec(diag.urn ?? "");
        if (lost && /registry.*adding it/.test(diag.message)) this.reAddedAt.set(lost[1], [...(this.reAddedAt.get(lost[1]) ?? []), Date.now()]);
    };

    async report(controlUrl: string): Promise<string> {
        const { waiters } = waitersSchema.parse(await (await fetch(`${controlUrl}/_world/state`)).json());
        const q = (xs: number[], p: number): string => (xs.length ? `${(xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] / 1000).toFixed(1)}` : "-");
        const direct: number[] = [];
        const reAdded: number[] = [];
        const untilReAdd: number[] = [];
        const joinAfterLabel: number[] = [];
        const verifyStartAfterJoin: number[] = [];
        const doneAfterLabelAndStart: number[] = [];
        for (const w of waiters) {
            const done = this.verifiedAt.get(w.nodeId);
            if (!done || !w.labelledAt) continue;
            const labelled = Date.parse(w.labelledAt);
            const joined = this.joinedAt.get(w.nodeId);
            const started = this.verifyStartedAt.get(w.nodeId);
            if (joined !== undefined) joinAfterLabel.push(joined - labelled);
            if (joined !== undefined && started !== undefined) verifyStartAfterJoin.push(started - joined);
            if (started !== undefined) doneAfterLabelAndStart.push(done - Math.max(labelled, started));
            const adds = this.reAddedAt.get(w.nodeId);
            (adds ? reAdded : direct).push(done - labelled);
            if (adds) untilReAdd.push(adds[0] - labelled);
        }
        return (
            `label latency (s, median / p90 / max): entry kept by AIOS ${direct.length} machines ${q(direct, 0.5)} / ${q(direct, 0.9)} / ${q(direct, 1)}; ` +
            `entry lost and re-added ${reAdded.length} machines ${q(reAdded, 0.5)} / ${q(reAdded, 0.9)} / ${q(reAdded, 1)} (label to re-add ${q(untilReAdd, 0.5)} median)\n` +
            `  join reported done, after the label (negative: before it): ${q(joinAfterLabel, 0.5)} / ${q(joinAfterLabel, 0.9)} / ${q(joinAfterLabel, 1)}\n` +
            `  verify step started, after the join was reported done: ${q(verifyStartAfterJoin, 0.5)} / ${q(verifyStartAfterJoin, 0.9)} / ${q(verifyStartAfterJoin, 1)}\n` +
            `  verify reported done, after both the label and its start: ${q(doneAfterLabelAndStart, 0.5)} / ${q(doneAfterLabelAndStart, 0.9)} / ${q(doneAfterLabelAndStart, 1)}\n`
        );
    }
}

/**
 * Puts a `pulumi` first on PATH that runs the real CLI with `--profiling <dir>/<command>` for `up` and
 * `preview` once `armed` is true (the runs before the profiled one are not profiled). Returns the folder
 * the profiles go to and the switch.
 */
function engineProfiling(): { dir: string; real: string; arm(): void } {
    const real = realpathSync(spawnSync("bash", ["-c", "command -v pulumi"], { encoding: "utf8" }).stdout.trim());
    const root = mkdtempSync(join(tmpdir(), "aios-engine-profile-"));
    const dir = join(root, "profiles");
    mkdirSync(join(root, "bin"));
    mkdirSync(dir);
    const armed = join(root, "armed");
    writeFileSync(
        join(root, "bin", "pulumi"),
        `#!/usr/bin/env bash\nif [ -e '${armed}' ]; then case " $* " in *" up "*|*" preview "*) exec '${real}' --profiling '${dir}/'"$1" "$@";; esac; fi\nexec '${real}' "$@"\n`,
    );
    chmodSync(join(root, "bin", "pulumi"), 0o755);
    process.env.PATH = `${join(root, "bin")}:${process.env.PATH ?? ""}`;
    return { dir, real, arm: () => writeFileSync(armed, "") };
}

/** The engine's hottest call paths, from each CPU profile it wrote. */
function engineProfileSummary(profiling: { dir: string; real: string }): string {
    return readdirSync(profiling.dir)
        .filter((f) => f.endsWith(".cpu"))
        .map((f) => {
            const r = spawnSync("go", ["tool", "pprof", "-top", "-cum", "-nodecount=30", profiling.real, join(profiling.dir, f)], { encoding: "utf8" });
            return `engine CPU profile ${join(profiling.dir, f)} (go tool pprof -top -cum):\n${r.status === 0 ? r.stdout : r.stderr}`;
        })
        .join("\n");
}

async function main(): Promise<void> {
    const flags = new Set(["--add-one", "--preview", "--timeline", "--engine-profile"]);
    const args = process.argv.slice(2).filter((a) => !flags.has(a));
    const addOne = process.argv.includes("--add-one");
    const previewOnly = process.argv.includes("--preview");
    const timeline = process.argv.includes("--timeline") ? new Timeline() : undefined;
    const profiling = process.argv.includes("--engine-profile") ? engineProfiling() : undefined;
    const n = Number(args[0] ?? "10");
    const parallelism = args[1] ? Number(args[1]) : undefined;
    const world = readWorld();
    const needed = addOne ? n + 1 : n;
    if (world.machines.length < needed) throw new Error(`the world has ${world.machines.length} machines; run WORLD_MACHINES=${needed} npm run world:up first`);
    const kube = new KubeClient(parseKubeconfig(readFileSync(world.kubernetes.kubeconfigPath, "utf8")));
    await resetWorld(world, kube);
    const stack = await stackFor(`profile-${n}`, world, world.machines.slice(0, n), mkdtempSync(join(tmpdir(), "aios-profile-")), parallelism);
    if (addOne || previewOnly) await stack.up({ parallel: parallelism });
    if (addOne) {
        await stack.setConfig("machines", machinesConfig(world.machines.slice(0, n + 1)));
    }
    profiling?.arm();
    const sampler = new ProcessSampler();
    sampler.start();
    const t0 = Date.now();
    try {
        if (previewOnly) {
            await stack.preview({ parallel: parallelism });
        } else {
            await stack.up({ onEvent: timeline?.onEvent, parallel: parallelism });
            if (timeline) process.stdout.write(await timeline.report(world.aios.controlUrl));
        }
    } finally {
        const seconds = (Date.now() - t0) / 1000;
        const { cpu, peakMiB } = sampler.stop();
        const rows = [...cpu].sort((a, b) => b[1] - a[1]).filter(([, s]) => s >= 0.05);
        const lines = rows.map(([cls, s]) => `${s.toFixed(1).padStart(7)} s  ${(peakMiB.get(cls) ?? 0).toFixed(0).padStart(6)} MiB  ${cls}`);
        const total = [...cpu.values()].reduce((a, s) => a + s, 0);
        process.stdout.write(
            `${previewOnly ? `pulumi preview of ${n} onboarded machines` : `pulumi up of ${addOne ? `1 machine added to ${n} onboarded` : `${n} machines`}`} (parallelism ${parallelism ?? "default"}): ${seconds.toFixed(1)} s wall; per kind of process, CPU time and peak RSS:\n` +
                `${lines.join("\n")}\n${total.toFixed(1).padStart(7)} s  total\n`,
        );
        if (profiling) process.stdout.write(engineProfileSummary(profiling));
        await stack.workspace.removeStack(stack.name, { force: true });
        await resetWorld(world, kube);
    }
}

main().catch((e: unknown) => {
    process.stderr.write(`profile failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});

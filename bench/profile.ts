// One `pulumi up` of N machines of the local world, with the CPU time each kind of process spent
// (engine, program, step runners, plugins, SSH, the world's own services), sampled from /proc.
//   npm run bench:profile -- N [parallelism]
// Tells where an up's time goes before anyone optimises it (docs/benchmarks.md, "Where the time goes").
import { readdirSync, readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../components/kube/client";
import { parseKubeconfig } from "../components/kube/kubeconfig";
import { readWorld, resetWorld, stackFor } from "./bench";

const CLASSES: [string, RegExp][] = [
    ["engine (pulumi CLI)", /(^|\/)pulumi (up|preview|destroy)/],
    ["language host", /pulumi-language-nodejs/],
    ["command plugin", /pulumi-resource-command/],
    ["step runners (node)", /steps\/runner\.(js|ts)/],
    ["program (node)", /@pulumi\/pulumi\/cmd\/run/],
    ["ssh client (probes)", /^ssh /],
    ["sshd (machines)", /sshd/],
    ["kubeadm/kubelet stand-ins", /kubeadm|kubelet/],
    ["kube-apiserver", /kube-apiserver/],
    ["etcd", /(^|\/)etcd /],
    ["AIOS stand-ins", /world\/aios/],
];

/** CPU seconds per process class, from the first to the last time each process was seen. */
class CpuSampler {
    private readonly seen = new Map<string, { cls: string; first: number; last: number }>();
    private readonly ticks = 100; // USER_HZ on Linux
    private timer?: NodeJS.Timeout;

    start(): void {
        this.timer = setInterval(() => this.sample(), 50);
    }

    stop(): Map<string, number> {
        clearInterval(this.timer);
        this.sample();
        const total = new Map<string, number>();
        for (const { cls, first, last } of this.seen.values()) total.set(cls, (total.get(cls) ?? 0) + last - first);
        return total;
    }

    private sample(): void {
        for (const pid of readdirSync("/proc")) {
            if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
            try {
                const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
                const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
                const cpu = (Number(f[11]) + Number(f[12])) / this.ticks;
                const key = `${pid}/${f[19]}`;
                const known = this.seen.get(key);
                if (known) {
                    known.last = cpu;
                    continue;
                }
                const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
                if (!cmd) continue;
                const cls = CLASSES.find(([, rx]) => rx.test(cmd))?.[0] ?? "other";
                this.seen.set(key, { cls, first: cpu, last: cpu });
            } catch {
                // the process ended between readdir and read
            }
        }
    }
}

async function main(): Promise<void> {
    const n = Number(process.argv[2] ?? "10");
    const parallelism = process.argv[3] ? Number(process.argv[3]) : undefined;
    const world = readWorld();
    if (world.machines.length < n) throw new Error(`the world has ${world.machines.length} machines; run WORLD_MACHINES=${n} npm run world:up first`);
    const kube = new KubeClient(parseKubeconfig(readFileSync(world.kubernetes.kubeconfigPath, "utf8")));
    await resetWorld(world, kube);
    const stack = await stackFor(`profile-${n}`, world, world.machines.slice(0, n), mkdtempSync(join(tmpdir(), "aios-profile-")), parallelism);
    const sampler = new CpuSampler();
    sampler.start();
    const t0 = Date.now();
    try {
        await stack.up();
    } finally {
        const seconds = (Date.now() - t0) / 1000;
        const cpu = [...sampler.stop()].sort((a, b) => b[1] - a[1]);
        const lines = cpu.filter(([, s]) => s >= 0.05).map(([cls, s]) => `${s.toFixed(1).padStart(7)} s  ${cls}`);
        const total = cpu.reduce((a, [, s]) => a + s, 0);
        process.stdout.write(`pulumi up of ${n} machines (parallelism ${parallelism ?? "default"}): ${seconds.toFixed(1)} s wall; CPU by process:\n${lines.join("\n")}\n${total.toFixed(1).padStart(7)} s  total\n`);
        await stack.workspace.removeStack(stack.name, { force: true });
        await resetWorld(world, kube);
    }
}

main().catch((e: unknown) => {
    process.stderr.write(`profile failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});

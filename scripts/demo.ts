// Configures the demo stack from the world description and runs `pulumi up` on it through the
// Automation API, then prints the onboarded nodes as the API server reports them.
//   npm run demo              the TypeScript program of this repository (program.ts)
//   npm run demo -- --yaml    the Pulumi YAML program of examples/yaml (npm run demo:yaml)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { KubeClient, nodeReady } from "../components/kube/client";
import { parseKubeconfig } from "../components/kube/kubeconfig";

interface WorldMachine {
    nodeId: string;
    host: string;
    port: number;
    user: string;
    hostKey: string;
    gpus?: number;
}

interface World {
    kubernetes: { kubeconfigPath: string };
    aios: { registryUrl: string; gatewayUrl: string; parserUrl: string; clusterId: string };
    ssh: { privateKeyPath: string };
    machines: WorldMachine[];
}

/** The YAML program declares these machines (examples/yaml/Pulumi.yaml); the demo's GPU machine is worker-2 there. */
const YAML_MACHINES = ["worker-1", "worker-2", "worker-3"];

async function main(): Promise<void> {
    const repo = join(__dirname, "..");
    const yaml = process.argv.slice(2).includes("--yaml");
    const world = JSON.parse(readFileSync(join(repo, ".world", "world.json"), "utf8")) as World;
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: "demo", workDir: yaml ? join(repo, "examples", "yaml") : repo });
    const machines = world.machines.slice(0, 3).map((m, i) => ({
        nodeId: m.nodeId,
        host: m.host,
        port: m.port,
        user: m.user,
        hostKey: m.hostKey,
        // The first machine joins as an external one (public host, static IP, 10250 free).
        external: i === 0,
        tags: m.gpus ? ["gpu"] : [],
        // The GPU machine gets a label and a taint of the user's (a NodePatch after verification).
        ...(m.gpus ? { labels: { "example.com/accelerator": "nvidia" }, taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }] } : {}),
    }));
    const cluster = {
        clusterId: { value: world.aios.clusterId },
        registryUrl: { value: world.aios.registryUrl },
        protocol: { value: "gateway" },
        gatewayUrl: { value: world.aios.gatewayUrl },
        kubeconfig: { value: readFileSync(world.kubernetes.kubeconfigPath, "utf8"), secret: true },
        sshPrivateKey: { value: readFileSync(world.ssh.privateKeyPath, "utf8"), secret: true },
    };
    if (yaml) {
        const ids = machines.map((m) => m.nodeId);
        const gpu = machines.find((m) => m.tags.includes("gpu"))?.nodeId;
        if (ids.join() !== YAML_MACHINES.join() || gpu !== "worker-2") {
            throw new Error(`the world's first machines are ${ids.join(", ")} (GPU: ${gpu ?? "none"}); examples/yaml/Pulumi.yaml declares ${YAML_MACHINES.join(", ")} with the GPU on worker-2: reset the world (npm run world:down)`);
        }
        // YAML has no loops: the program declares each machine, and the config gives its SSH access by node id.
        // Object config is set by path, as examples/yaml/README.md shows.
        const access = Object.fromEntries(machines.flatMap((m) => [
            [`machines["${m.nodeId}"].host`, { value: m.host }],
            [`machines["${m.nodeId}"].hostKey`, { value: m.hostKey }],
        ]));
        await stack.setAllConfig({ ...cluster, "vpn.interface": { value: "wg0" }, ...access }, true);
    } else {
        await stack.setAllConfig({ ...cluster, vpn: { value: JSON.stringify({ interface: "wg0" }) }, parallelism: { value: "3" }, machines: { value: JSON.stringify(machines) } });
    }
    const started = Date.now();
    const result = await stack.up({ onOutput: (s) => process.stdout.write(s), parallel: 3 });
    process.stdout.write(`\npulumi up: ${result.summary.result} in ${((Date.now() - started) / 1000).toFixed(1)}s; changes: ${JSON.stringify(result.summary.resourceChanges ?? {})}\n\n`);
    const kube = new KubeClient(parseKubeconfig(readFileSync(world.kubernetes.kubeconfigPath, "utf8")));
    const rows = [["NODE", "READY", "nodeID", "KUBELET", "DECLARED LABELS / TAINTS"]];
    for (const m of machines) {
        const n = await kube.getNode(m.nodeId);
        const declared = [
            ...Object.keys(m.labels ?? {}).map((k) => `${k}=${n?.metadata.labels?.[k] ?? "(missing)"}`),
            ...(n?.spec?.taints ?? []).map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`),
        ];
        rows.push([m.nodeId, n ? String(nodeReady(n)) : "missing", n?.metadata.labels?.nodeID ?? "-", n?.status?.nodeInfo?.kubeletVersion ?? "-", declared.join(", ") || "-"]);
    }
    const width = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) process.stdout.write(`${r.map((v, c) => v.padEnd(width[c])).join("  ")}\n`);
}

main().catch((e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});

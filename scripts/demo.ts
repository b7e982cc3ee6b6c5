// Configures the demo stack from the world description and runs `pulumi up` on it through the
// Automation API, then prints the onboarded nodes as the API server reports them.
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

async function main(): Promise<void> {
    const repo = join(__dirname, "..");
    const world = JSON.parse(readFileSync(join(repo, ".world", "world.json"), "utf8")) as World;
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: "demo", workDir: repo });
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
    await stack.setAllConfig({
        clusterId: { value: world.aios.clusterId },
        registryUrl: { value: world.aios.registryUrl },
        protocol: { value: "gateway" },
        gatewayUrl: { value: world.aios.gatewayUrl },
        parallelism: { value: "3" },
        vpn: { value: JSON.stringify({ interface: "wg0" }) },
        machines: { value: JSON.stringify(machines) },
        kubeconfig: { value: readFileSync(world.kubernetes.kubeconfigPath, "utf8"), secret: true },
        sshPrivateKey: { value: readFileSync(world.ssh.privateKeyPath, "utf8"), secret: true },
    });
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

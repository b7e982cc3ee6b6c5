// world:up step: writes .world/world.json (the description of the world that
// tests, the demo and the README use) and .world/aios-config.json (the config
// of the AIOS stand-ins in world/aios/). Run by scripts/world.sh with the
// world's facts in environment variables (WORLD_*); machine facts are read
// from .world/machines/<name>/machine/*.
import * as fs from "fs";
import * as path from "path";

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
    faultCommand: string;
}

export interface World {
    subnet: string;
    bridge: string;
    bridgeAddress: string;
    kubernetes: { server: string; kubeconfigPath: string; caCertHash: string; version: string };
    aios: { registryUrl: string; parserUrl: string; gatewayUrl: string; controlUrl: string; clusterId: string };
    ssh: { user: string; privateKeyPath: string; knownHostsPath: string };
    machines: WorldMachine[];
}

export const AIOS_PORTS = { registry: 30101, parser: 30501, gateway: 30600, membership: 30502, control: 30699 };
export const CLUSTER_ID = "aios-demo";

function env(name: string): string {
    const v = process.env[name];
    if (!v) {
        throw new Error(`${name} is not set`);
    }
    return v;
}

function read(file: string): string {
    return fs.readFileSync(file, "utf8").trim();
}

export function describeWorld(): World {
    const worldDir = env("WORLD_DIR");
    const names = env("WORLD_MACHINE_NAMES").split(/\s+/).filter(Boolean);
    const machines = names.map((name): WorldMachine => {
        const dir = path.join(worldDir, "machines", name);
        const m = (f: string) => read(path.join(dir, "machine", f));
        // The pinned host key is the one generated at world:up (host-key-rotated replaces the live one).
        const [type, key] = read(path.join(dir, "ssh", "ssh_host_ed25519_key.orig.pub")).split(/\s+/);
        return {
            name,
            netns: m("netns"),
            nodeId: m("node-id"),
            host: m("ip"),
            port: 22,
            user: "root",
            hostKey: `${type} ${key}`,
            vpnAddress: m("vpn-address"),
            gpus: Number(m("gpus")),
            kubeadmVersion: m("kubeadm-version"),
            faultCommand: `bash scripts/world.sh fault ${name}`,
        };
    });
    const bridgeIp = env("WORLD_BRIDGE_IP");
    return {
        subnet: env("WORLD_SUBNET"),
        bridge: env("WORLD_BRIDGE"),
        bridgeAddress: bridgeIp,
        kubernetes: {
            server: `https://${bridgeIp}:6443`,
            kubeconfigPath: path.join(worldDir, "kube", "admin.kubeconfig"),
            caCertHash: env("WORLD_CA_HASH"),
            version: env("WORLD_K8S_VERSION"),
        },
        aios: {
            registryUrl: `http://127.0.0.1:${AIOS_PORTS.registry}`,
            parserUrl: `http://127.0.0.1:${AIOS_PORTS.parser}`,
            gatewayUrl: `http://127.0.0.1:${AIOS_PORTS.gateway}`,
            controlUrl: `http://127.0.0.1:${AIOS_PORTS.control}`,
            clusterId: CLUSTER_ID,
        },
        ssh: {
            user: "root",
            privateKeyPath: path.join(worldDir, "keys", "id_ed25519"),
            knownHostsPath: path.join(worldDir, "keys", "known_hosts"),
        },
        machines,
    };
}

type Json = Record<string, unknown>;

/** The seed cluster document: the reference example, emptied and pointed at this world. */
export function seedCluster(world: World, example: Json, joinCommand: string): Json {
    const c = JSON.parse(JSON.stringify(example)) as Json;
    const hash = world.kubernetes.caCertHash.replace(/^sha256:/, "");
    c.id = CLUSTER_ID;
    c.nodes = { count: 0, nodeData: [] };
    c.gpus = { count: 0, memory: 0 };
    c.vcpus = { count: 0 };
    c.memory = 0;
    c.swap = 0;
    c.storage = { disks: 0, size: 0 };
    c.network = { interfaces: 0, txBandwidth: 0, rxBandwidth: 0 };
    const config = { ...((c.config as Json | undefined) ?? {}) };
    config.allowExternalNodes = true;
    config.certHash = hash;
    config.localNetworkHostName = world.bridgeAddress;
    config.publicHostname = world.bridgeAddress;
    config.urlMap = { ...((config.urlMap as Json | undefined) ?? {}), membershipServer: `http://127.0.0.1:${AIOS_PORTS.membership}` };
    c.config = config;
    const meta = { ...((c.clusterMetadata as Json | undefined) ?? {}) };
    meta.additionalInfo = { ...((meta.additionalInfo as Json | undefined) ?? {}), kubeadmVersion: world.kubernetes.version, joinCommand };
    c.clusterMetadata = meta;
    return c;
}

function writeJson(file: string, value: unknown, mode = 0o644): void {
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n", { mode });
    fs.renameSync(tmp, file);
}

if (require.main === module) {
    try {
        const worldDir = env("WORLD_DIR");
        const repoRoot = env("WORLD_REPO_ROOT");
        const world = describeWorld();
        const examplePath = path.resolve(repoRoot, "world", "aios", "cluster-example.json");
        if (!fs.existsSync(examplePath)) throw new Error(`the example cluster document ${examplePath} is missing from the clone`);
        const example = JSON.parse(fs.readFileSync(examplePath, "utf8")) as Json;
        const token = read(path.join(worldDir, "kube", "static-token"));
        const joinCommand = `kubeadm join ${world.bridgeAddress}:6443 --token ${token} --discovery-token-ca-cert-hash ${world.kubernetes.caCertHash}`;
        writeJson(path.join(worldDir, "aios-config.json"), {
            listen: "127.0.0.1",
            ports: AIOS_PORTS,
            kubeconfig: world.kubernetes.kubeconfigPath,
            stateFile: path.join(worldDir, "aios-state.json"),
            seedClusters: [seedCluster(world, example, joinCommand)],
            waiterWindowSeconds: 300,
            waiterPollSeconds: 1,
        }, 0o600);
        writeJson(path.join(worldDir, "world.json"), world);
        console.log(`wrote ${path.join(worldDir, "world.json")}`);
    } catch (e) {
        console.error(`world describe failed: ${(e as Error).message}`);
        process.exit(1);
    }
}

import { generateKeyPairSync } from "node:crypto";
import type { NodeInventory } from "../../components/machine/inventory";
import type { SshTarget } from "../../components/machine/ssh";

/** A small machine's AIOS node document, as the program sends it to the provider. */
export const sampleInventory: NodeInventory = {
    id: "worker-1",
    gpus: { count: 0, memory: 0, gpus: [], modelNames: [], features: [] },
    vcpus: { count: 2 },
    memory: 2048,
    swap: 0,
    storage: { disks: 1, size: 10240 },
    network: { interfaces: 1, txBandwidth: 1000, rxBandwidth: 1000 },
    tags: [],
    nodeMetadata: {},
};

/** The machine's SSH target, with a key made for this test run (nothing connects with it). */
export const sampleSsh: SshTarget = {
    host: "10.0.0.5",
    port: 22,
    user: "root",
    hostKey: "ssh-ed25519 AAAA",
    privateKey: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    connectTimeoutSeconds: 5,
};

import { strict as assert } from "node:assert";
import { registrationHandler, type RegistrationInputs } from "../../../components/registration/registrationResource";
import { secret, sshForState, UNKNOWN } from "../../../components/provider/wire";
import { sampleInventory, sampleSsh } from "../../helpers/inventory";
import { recordingContext } from "../../helpers/operationContext";
import { fakeRegistry } from "../aios/helpers/fakeRegistry";
import { loadClusterExample } from "../aios/helpers/vectors";

const inventory = sampleInventory;
const ssh = sampleSsh;
const inputs = (over: Partial<RegistrationInputs> = {}) => ({
    protocol: "parser",
    clusterId: "aios-demo",
    registryUrl: "http://127.0.0.1:30101",
    parserUrl: "http://127.0.0.1:30500",
    mode: "local_network",
    httpTimeoutSeconds: 5,
    forceRemove: false,
    node: inventory,
    ...over,
    ssh: sshForState(ssh),
});
/** Stored outputs as the engine hands them back: secrets in their wire form. */
const stored = { protocol: "parser", clusterId: "aios-demo", nodeId: "worker-1", registryUrl: "http://127.0.0.1:30101", httpTimeoutSeconds: 5, forceRemove: false, ssh: sshForState(ssh), registeredAt: "2026-12-02T00:00:00.000Z", joinConfiguration: secret("kind: JoinConfiguration …"), adopted: false };

/** A kubeconfig nothing listens behind: the refusals below must be decided before the cluster is asked anything. */
const UNREACHABLE_CLUSTER = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://127.0.0.1:1\n  name: c\ncontexts:\n- context:\n    cluster: c\n    user: u\n  name: x\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: t\n";

describe("a machine's registration in the provider plugin", () => {
    it("checks inputs with the SSH key secret, and lets values not known yet through at preview", async () => {
        assert.deepEqual(await registrationHandler.check("m1-registration", {}, inputs()), { inputs: inputs() });
        await registrationHandler.check("m1-registration", {}, { ...inputs(), node: UNKNOWN });
        assert.throws(() => registrationHandler.check("m1-registration", {}, { ...inputs(), protocol: "carrier-pigeon" }), /registration m1-registration: 1 problem\n {2}- protocol: "carrier-pigeon"/);
    });

    it("is replaced, old one first, when the cluster, the node or the protocol changes; updated for another URL; unchanged otherwise", async () => {
        assert.deepEqual(await registrationHandler.diff("m1-registration", stored, inputs()), { changes: false, replaces: [], deleteBeforeReplace: false });
        // The inventory and the SSH target matter only at create: AIOS holds what was sent then.
        assert.deepEqual(await registrationHandler.diff("m1-registration", stored, inputs({ node: { ...inventory, memory: 4096 } })), { changes: false, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await registrationHandler.diff("m1-registration", stored, inputs({ clusterId: "aios-west" })), { changes: true, replaces: ["clusterId"], deleteBeforeReplace: true });
        assert.deepEqual(await registrationHandler.diff("m1-registration", stored, inputs({ protocol: "gateway" })), { changes: true, replaces: ["protocol"], deleteBeforeReplace: true });
        assert.deepEqual(await registrationHandler.diff("m1-registration", stored, inputs({ registryUrl: "http://10.0.0.1:30101" })), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await registrationHandler.diff("m1-registration", stored, { ...inputs(), node: UNKNOWN }), { changes: false, replaces: [], deleteBeforeReplace: false });
    });

    it("never registers again on an update: it keeps the first result, the join command secret", async () => {
        const ctx = recordingContext("m1-registration");
        const r = await registrationHandler.update(ctx, stored, inputs({ registryUrl: "http://10.0.0.1:30101" }));
        assert.deepEqual(r.outs, { ...stored, registryUrl: "http://10.0.0.1:30101" });
    });

    // No parser listens at parserUrl here: an addNode attempt would fail with another error.
    for (const [what, command, expected] of [
        ["has none", undefined, /cluster aios-demo in the AIOS registry has no clusterMetadata\.additionalInfo\.joinCommand, which the parser protocol joins with; nothing was registered/],
        ["does not pin the cluster CA", "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef", /node worker-1 of cluster aios-demo cannot join with the registry's clusterMetadata\.additionalInfo\.joinCommand: join command has no --discovery-token-ca-cert-hash; nothing was registered/],
    ] as const) {
        it(`parser: refuses a cluster whose static join command ${what} before writing anything`, async () => {
            const doc = loadClusterExample();
            const info = (doc.clusterMetadata as { additionalInfo: Record<string, unknown> }).additionalInfo;
            if (command === undefined) delete info.joinCommand;
            else info.joinCommand = command;
            const server = await fakeRegistry([{ ...doc, id: "aios-demo" }]);
            try {
                await assert.rejects(registrationHandler.create(recordingContext("m1-registration", UNREACHABLE_CLUSTER), inputs({ registryUrl: server.url })), (e: Error) => expected.test(e.message) && !e.message.includes("0123456789abcdef"));
                assert.deepEqual(server.received.map((r) => r.method), ["GET"], "only the cluster was read");
            } finally {
                await server.close();
            }
        });
    }
});

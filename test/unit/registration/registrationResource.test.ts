import { strict as assert } from "node:assert";
import { registrationHandler, type RegistrationInputs } from "../../../components/registration/registrationResource";
import { secret, sshForState, UNKNOWN } from "../../../components/provider/wire";
import { sampleInventory, sampleSsh } from "../../helpers/inventory";
import { recordingContext } from "../../helpers/operationContext";
import { fakeKube, UNREACHABLE_KUBECONFIG, type FakeKube } from "../../helpers/fakeKube";
import { joinConfiguration } from "../../../components/join/joinConfiguration";
import { fakeRegistry } from "../aios/helpers/fakeRegistry";
import { closedPort } from "../aios/helpers/servers";
import { loadClusterExample } from "../aios/helpers/vectors";

const inventory = sampleInventory;
const ssh = sampleSsh;
const registrationInputsOf = (over: Partial<RegistrationInputs> = {}) => ({
    protocol: "parser",
    clusterId: "aios-demo",
    registryUrl: "http://127.0.0.1:30101",
    parserUrl: "http://127.0.0.1:30500",
    mode: "local_network",
    httpTimeoutSeconds: 5,
    forceRemove: false,
    node: inventory,
    ...over,
    ssh: sshForState(over.ssh ?? ssh),
});
const inputs = registrationInputsOf;
/** Stored outputs as the engine hands them back: secrets in their wire form. */
const stored = { protocol: "parser", clusterId: "aios-demo", nodeId: "worker-1", registryUrl: "http://127.0.0.1:30101", httpTimeoutSeconds: 5, forceRemove: false, ssh: sshForState(ssh), registeredAt: "2026-12-02T00:00:00.000Z", joinConfiguration: secret("kind: JoinConfiguration …"), adopted: false, tokenId: null };

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
                // Nothing listens behind the kubeconfig: the refusal is decided before the cluster is asked anything.
                await assert.rejects(registrationHandler.create(recordingContext("m1-registration", UNREACHABLE_KUBECONFIG), inputs({ registryUrl: server.url })), (e: Error) => expected.test(e.message) && !e.message.includes("0123456789abcdef"));
                assert.deepEqual(server.received.map((r) => r.method), ["GET"], "only the cluster was read");
            } finally {
                await server.close();
            }
        });
    }
});

describe("a registration's join token", () => {
    let kube: FakeKube;
    let owned: Record<string, unknown>;
    let machine: typeof ssh;
    const inputs = (over: Partial<RegistrationInputs> = {}) => registrationInputsOf({ ...over, ssh: machine });
    beforeEach(async () => {
        kube = await fakeKube();
        // Nothing listens at the machine's SSH port: it cannot be looked at, so it is not known to be joined.
        machine = { ...ssh, host: "127.0.0.1", port: await closedPort(), connectTimeoutSeconds: 1 };
        owned = { ...stored, ssh: sshForState(machine), tokenId: "abcdef" };
    });
    afterEach(() => kube.close());
    const STATIC = `kubeadm join 10.0.0.1:6443 --token zyxwvu.0123456789abcdef --discovery-token-ca-cert-hash sha256:${"a".repeat(64)}`;

    it("is renewed when the machine never joined and its token is gone; not while the token is there, nor for the registry's static token", async () => {
        const ctx = recordingContext("m1-registration", kube.kubeconfig);
        const renew = { changes: true, replaces: [], deleteBeforeReplace: false };
        const none = { changes: false, replaces: [], deleteBeforeReplace: false };
        assert.deepEqual(await registrationHandler.diff("m1-registration", owned, inputs(), ctx), renew);
        assert.deepEqual(ctx.lines, ["node worker-1 is not joined and its join token is gone or expiring: the update asks for a new one"]);
        kube.secrets.set("bootstrap-token-abcdef", { type: "bootstrap.kubernetes.io/token", data: {} });
        assert.deepEqual(await registrationHandler.diff("m1-registration", owned, inputs(), ctx), none);
        // The registry's static token is not this stack's: nothing to renew.
        assert.deepEqual(await registrationHandler.diff("m1-registration", { ...stored, ssh: owned.ssh }, inputs(), ctx), none);
    });

    it("a joined machine's deleted token is not renewed (its Node exists)", async () => {
        kube.nodes.add("worker-1");
        const ctx = recordingContext("m1-registration", kube.kubeconfig);
        assert.deepEqual(await registrationHandler.diff("m1-registration", owned, inputs(), ctx), { changes: false, replaces: [], deleteBeforeReplace: false });
    });

    for (const protocol of ["gateway", "parser"] as const) {
        it(`${protocol}: an update of a machine that never joined and lost its token mints a new one into its join configuration, registering nothing again`, async () => {
            const registry = await fakeRegistry([{ ...loadClusterExample(), id: "aios-demo" }]);
            try {
                const ctx = recordingContext("m1-registration", kube.kubeconfig);
                const before = Date.now();
                const first = joinConfiguration(STATIC, "worker-1");
                const r = await registrationHandler.update(ctx, { ...owned, protocol, registryUrl: registry.url, joinConfiguration: secret(first) }, inputs({ protocol, registryUrl: registry.url, joinToken: protocol === "parser" ? "mint" : "registry", joinTokenMinutes: 15 }));
                const outs = r.outs as { tokenId: string; tokenExpiresAt: string; joinConfiguration: { value: string }; registeredAt: string };
                assert.notEqual(outs.tokenId, "abcdef");
                assert.ok(kube.secrets.has(`bootstrap-token-${outs.tokenId}`), "the new token's Secret exists");
                // 15 minutes after it was minted, some time during the update, written to the second.
                const after = Date.now();
                const expires = Date.parse(outs.tokenExpiresAt);
                assert.ok(expires > before + 15 * 60_000 - 1000 && expires <= after + 15 * 60_000, `expires ${expires - before} ms after the update started, which took ${after - before} ms`);
                assert.equal(outs.joinConfiguration.value, first.replace(/token: "[^"]+"/, `token: "${kube.decoded(`bootstrap-token-${outs.tokenId}`)?.["token-id"]}.${kube.decoded(`bootstrap-token-${outs.tokenId}`)?.["token-secret"]}"`));
                // The AIOS waiter's window still counts from the first registration.
                assert.equal(outs.registeredAt, stored.registeredAt);
                assert.deepEqual(registry.received, [], "AIOS was asked nothing: no second registration, no second waiter");
                assert.match(ctx.lines.join("\n"), new RegExp(`node worker-1: a new join token \\(${outs.tokenId}\\) replaces`));
                // Until a verification or offboarding deletes it, the provider process holds it for its shutdown.
                assert.deepEqual(ctx.joinTokens.pending, [outs.tokenId]);
            } finally {
                await registry.close();
            }
        });
    }

    it("is deleted when the machine is offboarded", async () => {
        kube.secrets.set("bootstrap-token-abcdef", { type: "bootstrap.kubernetes.io/token", data: {} });
        const registry = await fakeRegistry([{ ...loadClusterExample(), id: "aios-demo" }]);
        try {
            const ctx = recordingContext("m1-registration", kube.kubeconfig);
            ctx.joinTokens.issued("abcdef");
            await registrationHandler.delete(ctx, { ...owned, registryUrl: registry.url, forceRemove: true });
            assert.deepEqual(ctx.joinTokens.pending, [], "the provider still holds the token for its shutdown");
            assert.equal(kube.secrets.has("bootstrap-token-abcdef"), false);
            assert.ok(ctx.lines.includes("deleted the join token abcdef the machine still held"), ctx.lines.join("\n"));
        } finally {
            await registry.close();
        }
    });
});

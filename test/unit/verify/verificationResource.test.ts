import { strict as assert } from "node:assert";
import { verificationHandler, type VerificationInputs } from "../../../components/verify/verificationResource";
import { sshForState, UNKNOWN } from "../../../components/provider/wire";
import { sampleInventory, sampleSsh } from "../../helpers/inventory";
import { recordingContext } from "../../helpers/operationContext";
import { fakeKube, type FakeKube } from "../../helpers/fakeKube";

const ssh = sampleSsh;
const node = sampleInventory;
const inputs = (over: Partial<VerificationInputs> = {}) => ({
    protocol: "gateway",
    clusterId: "aios-demo",
    registryUrl: "http://127.0.0.1:30101",
    gatewayUrl: "http://127.0.0.1:30600",
    mode: "local_network",
    httpTimeoutSeconds: 5,
    verifySeconds: 60,
    joinSeconds: 120,
    drainSeconds: 60,
    forceRemove: false,
    node,
    registeredAt: "2026-12-02T00:00:00.000Z",
    joinId: "join-1",
    tokenId: null,
    ...over,
    ssh: sshForState(over.ssh ?? ssh),
});
const verified = { nodeName: "worker-1", labels: { nodeID: "worker-1" }, kubeletVersion: "v1.36.3", addresses: [], ready: true };
const stored = {
    ...verified,
    protocol: "gateway",
    clusterId: "aios-demo",
    nodeId: "worker-1",
    registryUrl: "http://127.0.0.1:30101",
    gatewayUrl: "http://127.0.0.1:30600",
    httpTimeoutSeconds: 5,
    drainSeconds: 60,
    forceRemove: false,
    registeredAt: "2026-12-02T00:00:00.000Z",
    joinId: "join-1",
    ssh: sshForState(ssh),
};
const none = { changes: false, replaces: [], deleteBeforeReplace: false };

describe("a machine's verification in the provider plugin", () => {
    it("is unchanged when nothing it depends on changed; a value not known yet at preview is a change", async () => {
        assert.deepEqual(await verificationHandler.diff("m1-verify", stored, inputs()), none);
        // How long it waits is no reason to verify a verified Node again.
        assert.deepEqual(await verificationHandler.diff("m1-verify", stored, inputs({ verifySeconds: 5 })), none);
        assert.deepEqual(await verificationHandler.diff("m1-verify", stored, { ...inputs(), joinId: UNKNOWN }), { changes: true, replaces: [], deleteBeforeReplace: false });
    });

    it("is replaced, old one first, for another cluster or node; updated after a new registration or join, or a changed key", async () => {
        assert.deepEqual(await verificationHandler.diff("m1-verify", stored, inputs({ clusterId: "aios-west" })), { changes: true, replaces: ["clusterId"], deleteBeforeReplace: true });
        assert.deepEqual(await verificationHandler.diff("m1-verify", stored, inputs({ joinId: "join-2" })), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await verificationHandler.diff("m1-verify", stored, inputs({ ssh: { ...ssh, privateKey: "another key" } })), { changes: true, replaces: [], deleteBeforeReplace: false });
    });

    it("keeps the verified Node on an update that needs no new verification, the SSH key secret", async () => {
        const ctx = recordingContext("m1-verify");
        const r = await verificationHandler.update(ctx, stored, inputs({ drainSeconds: 120 }));
        assert.deepEqual(r.outs, { ...stored, drainSeconds: 120, nodeUid: "", drift: [], tokenId: null });
    });

    it("is updated when the last refresh found drift, and says what it will repair (also at preview)", async () => {
        const ctx = recordingContext("m1-verify");
        const drifted = { ...stored, drift: ["Node worker-1 not found in the cluster"] };
        assert.deepEqual(await verificationHandler.diff("m1-verify", drifted, inputs(), ctx), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(ctx.lines, ["found by refresh, repaired by the next update: Node worker-1 not found in the cluster"]);
        assert.deepEqual(await verificationHandler.diff("m1-verify", { ...stored, drift: [] }, inputs(), ctx), none);
    });

    it("passes check and diff without the registration's and join's outputs (the engine drops them when their step failed), and never creates without them", async () => {
        const news: Record<string, unknown> = inputs();
        for (const k of ["registeredAt", "joinId", "tokenId"]) delete news[k];
        assert.deepEqual(verificationHandler.check("m1-verify", undefined, news), { inputs: news });
        assert.deepEqual(await verificationHandler.diff("m1-verify", stored, news), none);
        await assert.rejects(verificationHandler.create(recordingContext("m1-verify"), news), /registeredAt: is required but missing[\s\S]*joinId: is required but missing/);
        const noNode: Record<string, unknown> = { ...news, node: undefined };
        assert.throws(() => verificationHandler.check("m1-verify", undefined, noNode), /node: is required but missing/, "only the steps' outputs may be absent");
    });

    it("reads a state written before drift was recorded as one without drift", async () => {
        assert.deepEqual(await verificationHandler.diff("m1-verify", stored, inputs()), none);
    });
});

describe("a verification and the machine's join token", () => {
    let kube: FakeKube;
    beforeEach(async () => void (kube = await fakeKube()));
    afterEach(() => kube.close());

    it("deletes the token when the verification fails, then reports the verification's failure once", async () => {
        kube.secrets.set("bootstrap-token-abcdef", { type: "bootstrap.kubernetes.io/token", data: {} });
        const ctx = recordingContext("m1-verify", kube.kubeconfig);
        ctx.joinTokens.issued("abcdef");
        await assert.rejects(verificationHandler.create(ctx, inputs({ verifySeconds: 1, tokenId: "abcdef" })), /^Error: verification of node worker-1 timed out after 1s \(timeouts\.verifySeconds\)/);
        assert.equal(kube.secrets.has("bootstrap-token-abcdef"), false, "the failed join's token is left behind");
        assert.deepEqual(ctx.joinTokens.pending, [], "the provider still holds the deleted token for its shutdown");
        assert.deepEqual(ctx.lines, ["deleted the join token abcdef of node worker-1"]);
    });

    it("leaves the registry's static token alone (no token id)", async () => {
        kube.secrets.set("bootstrap-token-zyxwvu", { type: "bootstrap.kubernetes.io/token", data: {} });
        const ctx = recordingContext("m1-verify", kube.kubeconfig);
        await assert.rejects(verificationHandler.create(ctx, inputs({ verifySeconds: 1 })), /timed out after 1s/);
        assert.equal(kube.secrets.has("bootstrap-token-zyxwvu"), true);
    });

    it("is verified again when the registration renewed the token, so the new token is deleted too", async () => {
        assert.deepEqual(await verificationHandler.diff("m1-verify", { ...stored, tokenId: "abcdef" }, inputs({ tokenId: "ghijkl" })), { changes: true, replaces: [], deleteBeforeReplace: false });
    });
});

import { strict as assert } from "node:assert";
import { deleteBootstrapToken, expireBootstrapToken, KUBEADM_NODE_GROUP, mintBootstrapToken, tokenIdOf, tokenUsable } from "../../../components/join/bootstrapTokens";
import { KubeClient } from "../../../components/kube/client";
import { parseKubeconfig } from "../../../components/kube/kubeconfig";
import { fakeKube, type FakeKube } from "../../helpers/fakeKube";

describe("join tokens of one machine", () => {
    let kube: FakeKube;
    let client: KubeClient;
    beforeEach(async () => {
        kube = await fakeKube();
        client = new KubeClient(parseKubeconfig(kube.kubeconfig), 2000);
    });
    afterEach(() => kube.close());

    it("mints a token kubeadm joins with: signing and authentication, kubeadm's node group, expiring the given minutes ahead", async () => {
        const now = Date.parse("2026-12-03T10:00:00Z");
        const t = await mintBootstrapToken(client, "worker-1", 15, now);
        assert.match(t.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
        assert.equal(t.token.split(".")[0], t.tokenId);
        assert.equal(t.expiresAt, "2026-12-03T10:15:00Z");
        const secret = kube.secrets.get(`bootstrap-token-${t.tokenId}`);
        assert.equal(secret?.type, "bootstrap.kubernetes.io/token");
        assert.deepEqual(kube.decoded(`bootstrap-token-${t.tokenId}`), {
            description: "aios-onboarding: the join of node worker-1",
            "token-id": t.tokenId,
            "token-secret": t.token.split(".")[1],
            expiration: "2026-12-03T10:15:00Z",
            "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true",
            "auth-extra-groups": KUBEADM_NODE_GROUP,
        });
    });

    it("gives each machine a token of its own, and refuses a lifetime beyond 15 minutes", async () => {
        const first = await mintBootstrapToken(client, "worker-1", 5);
        const second = await mintBootstrapToken(client, "worker-2", 5);
        assert.notEqual(first.tokenId, second.tokenId);
        assert.equal(kube.secrets.size, 2);
        await assert.rejects(mintBootstrapToken(client, "worker-1", 16), /a join token lives 1 to 15 minutes, not 16/);
        await assert.rejects(mintBootstrapToken(client, "worker-1", 0), /not 0/);
        assert.equal(kube.secrets.size, 2);
    });

    it("is usable while its Secret exists and it is not about to expire; deleted, it is not", async () => {
        const now = Date.now();
        const t = await mintBootstrapToken(client, "worker-1", 10, now);
        assert.equal(await tokenUsable(client, t, now), true);
        // Expiring within the margin (two minutes) is as good as gone: no join should start with it.
        assert.equal(await tokenUsable(client, t, now + 9 * 60_000), false);
        // A gateway token has no expiry: only its Secret says whether it still works.
        assert.equal(await tokenUsable(client, { tokenId: t.tokenId }, now), true);
        assert.equal(await deleteBootstrapToken(client, t.tokenId), true);
        assert.equal(await deleteBootstrapToken(client, t.tokenId), false);
        assert.equal(await tokenUsable(client, { tokenId: t.tokenId }, now), false);
    });

    it("gives a token AIOS minted an expiration, and says so when the token is not there", async () => {
        kube.secrets.set("bootstrap-token-abcdef", { type: "bootstrap.kubernetes.io/token", data: { "token-id": Buffer.from("abcdef").toString("base64") } });
        const now = Date.parse("2026-12-03T10:00:00Z");
        assert.equal(await expireBootstrapToken(client, "abcdef", 10, now), "2026-12-03T10:10:00Z");
        assert.equal(kube.decoded("bootstrap-token-abcdef")?.expiration, "2026-12-03T10:10:00Z");
        assert.equal(kube.decoded("bootstrap-token-abcdef")?.["token-id"], "abcdef", "the rest of the Secret is kept");
        await assert.rejects(expireBootstrapToken(client, "zzzzzz", 10, now), /the join token zzzzzz AIOS issued is not in kube-system/);
    });

    it("reads the id of a join command's token, and only its id", () => {
        assert.equal(tokenIdOf("kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:" + "a".repeat(64)), "abcdef");
        assert.throws(() => tokenIdOf("kubeadm join 10.0.0.1:6443 --token nope"), (e: Error) => !e.message.includes("nope"));
    });
});

import { strict as assert } from "node:assert";
import { JoinTokenLedger } from "../../../components/join/tokenLedger";
import { KubeClient } from "../../../components/kube/client";
import { parseKubeconfig } from "../../../components/kube/kubeconfig";
import { fakeKube, type FakeKube } from "../../helpers/fakeKube";

const TOKEN = { type: "bootstrap.kubernetes.io/token", data: {} };

describe("the join tokens a provider process still holds", () => {
    let kube: FakeKube;
    beforeEach(async () => {
        kube = await fakeKube();
    });
    afterEach(() => kube.close());
    const client = () => new KubeClient(parseKubeconfig(kube.kubeconfig), 2000);

    it("deletes at shutdown the tokens issued and not spent, and leaves the spent ones alone", async () => {
        for (const id of ["aaaaaa", "bbbbbb", "cccccc"]) kube.secrets.set(`bootstrap-token-${id}`, TOKEN);
        const ledger = new JoinTokenLedger();
        ledger.issued("aaaaaa");
        ledger.issued("bbbbbb");
        ledger.spent("bbbbbb");
        // Already gone (the token cleaner, or an operator): counts as deleted.
        ledger.issued("dddddd");
        const r = await ledger.revokeAll(client(), 2000);
        assert.deepEqual(r, { deleted: ["aaaaaa", "dddddd"], left: [] });
        assert.deepEqual([...kube.secrets.keys()].sort(), ["bootstrap-token-bbbbbb", "bootstrap-token-cccccc"]);
        assert.deepEqual(ledger.pending, []);
    });

    it("keeps a token it could not delete, with the reason, and tries again next time", async () => {
        const ledger = new JoinTokenLedger();
        ledger.issued("aaaaaa");
        const unreachable = new KubeClient({ server: "https://127.0.0.1:1", insecureSkipTlsVerify: true, token: "t" }, 500);
        const first = await ledger.revokeAll(unreachable, 2000);
        assert.deepEqual(first.deleted, []);
        assert.equal(first.left.length, 1);
        assert.equal(first.left[0].tokenId, "aaaaaa");
        assert.ok(first.left[0].reason.length > 0);
        assert.deepEqual(ledger.pending, ["aaaaaa"]);
        kube.secrets.set("bootstrap-token-aaaaaa", TOKEN);
        assert.deepEqual(await ledger.revokeAll(client(), 2000), { deleted: ["aaaaaa"], left: [] });
        assert.equal(kube.secrets.size, 0);
    });

    it("gives up on a cluster that does not answer by the deadline, well before the engine's SIGKILL", async () => {
        const ledger = new JoinTokenLedger();
        ledger.issued("aaaaaa");
        const hanging = { deleteSecret: () => new Promise<boolean>(() => undefined) };
        const started = Date.now();
        const r = await ledger.revokeAll(hanging, 300);
        const took = Date.now() - started;
        assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
        assert.deepEqual(r, { deleted: [], left: [{ tokenId: "aaaaaa", reason: "no answer within 300 ms" }] });
    });
});

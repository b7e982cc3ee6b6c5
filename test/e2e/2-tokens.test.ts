// Join credentials that expire (issue 13): no bootstrap token a join of this stack used is left in the
// cluster, with either protocol, after a join that worked or one that failed (deleted as the engine ends
// the provider); tokens the product mints, or AIOS minted for it, carry that expiry; the registry's static token is never deleted, and a never-expiring
// one is a preview warning. Every token is read from the cluster itself (kube-system Secrets), and the
// suite's token watcher saw each one as it appeared.
import { strict as assert } from "node:assert";
import {
    aios,
    assertMentions,
    assertOnboarded,
    bootstrapTokens,
    excerpt,
    getNode,
    machineFault,
    newStack,
    nodeReady,
    registerSuiteHooks,
    resetWorld,
    sleep,
    tokensSeenSince,
    ok,
} from "./harness";

registerSuiteHooks();

const MIN = 60_000;

/** The token of the registry's static joinCommand (the world's seed): shared by every joiner, never ours to delete. */
async function staticTokenId(): Promise<string> {
    const cmd = (await aios.cluster()).clusterMetadata?.additionalInfo?.joinCommand ?? "";
    const id = /--token\s+([a-z0-9]{6})\./.exec(cmd)?.[1];
    ok(id, "the registry has no static join command");
    return id;
}

/** Token ids in the cluster now. */
async function tokenIds(): Promise<string[]> {
    return (await bootstrapTokens()).map((t) => t.name.replace(/^bootstrap-token-/, ""));
}

describe("join tokens (issue 13)", function () {
    this.timeout(10 * MIN);

    beforeEach(async function () {
        this.timeout(5 * MIN);
        await resetWorld();
    });

    it("gateway: the tokens AIOS minted for the joins are deleted once the machines are verified; the Nodes stay Ready without them", async function () {
        const since = Date.now();
        const s = await newStack("tokens-gateway", { machines: ["m1", "m2"] });
        const up = await s.up();
        ok(up.ok, `up failed:\n${excerpt(up.text)}`);
        const minted = tokensSeenSince(since);
        assert.equal(minted.length, 2, `tokens seen during the up: ${JSON.stringify(minted)}`);
        const left = await tokenIds();
        for (const t of minted) ok(!left.includes(t.id), `the join token ${t.id} is still in kube-system`);
        assert.deepEqual(left, [await staticTokenId()], "only the registry's static token is left");
        assertMentions(up.text, minted.map((t) => `deleted the join token ${t.id}`));
        // The kubelets joined with a client certificate (TLS bootstrap): their heartbeats go on without the token.
        await sleep(12_000);
        for (const id of ["worker-1", "worker-2"]) {
            const node = await getNode(id);
            ok(node && nodeReady(node), `Node ${id} is not Ready after its token was deleted`);
        }
        const again = await s.preview({ expectNoChanges: true });
        ok(again.ok, `preview after up is not clean:\n${excerpt(again.text)}`);
        await s.remove();
    });

    it("a join that fails leaves no usable token: the provider deletes it when the engine ends the run; the next up gets a new one, joins with it and deletes it", async function () {
        const since = Date.now();
        const s = await newStack("tokens-failed-join", { machines: ["m1"], raw: { joinTokenMinutes: "10" } });
        await machineFault("m1", "join-fails", "error execution phase preflight: e2e injected join failure");
        const failed = await s.up();
        ok(!failed.ok, "up succeeded with a failing join");
        const first = tokensSeenSince(since);
        assert.equal(first.length, 1, `tokens seen during the failed up: ${JSON.stringify(first)}`);
        // AIOS mints it never-expiring; the registration gave it an expiration right away, and the
        // provider deleted it as the engine ended it (no verification runs after a failed join).
        ok(first[0].expiresAt && Date.parse(first[0].expiresAt) - first[0].firstSeen <= 10 * MIN + 2_000, `the failed join's token expired ${first[0].expiresAt ?? "never"}`);
        assert.deepEqual(await tokenIds(), [await staticTokenId()], "the failed join's token is left in kube-system");
        assertMentions(failed.text, [`deleted the join token(s) ${first[0].id}`]);

        await machineFault("m1", "clear");
        const preview = await s.preview();
        ok(preview.ok, `preview failed:\n${excerpt(preview.text)}`);
        assertMentions(preview.text, ["its join token is gone or expiring: the update asks for a new one"]);
        const second = Date.now();
        const up = await s.up();
        ok(up.ok, `the up after the fix failed:\n${excerpt(up.text)}`);
        await assertOnboarded("worker-1");
        const renewed = tokensSeenSince(second);
        assert.equal(renewed.length, 1, `tokens seen during the second up: ${JSON.stringify(renewed)}`);
        assert.deepEqual(await tokenIds(), [await staticTokenId()], "a token of this stack is left");
        assert.equal((await aios.registryNodes()).filter((n) => n.id === "worker-1").length, 1, "worker-1 is registered more than once");
        await s.remove();
    });

    it("parser with joinToken mint: each machine joins with its own token, expiring within joinTokenMinutes, deleted after; the static token stays", async function () {
        await aios.faults({ parser: { addNode: "intended" } });
        const since = Date.now();
        const staticId = await staticTokenId();
        const s = await newStack("tokens-mint", { machines: ["m1", "m2"], protocol: "parser", raw: { joinToken: "mint", joinTokenMinutes: "5" } });
        const preview = await s.preview();
        ok(preview.ok, `preview failed:\n${excerpt(preview.text)}`);
        ok(!/its token never expires/.test(preview.text), "the static token's warning shows although the machines do not use it");
        const up = await s.up();
        ok(up.ok, `up failed:\n${excerpt(up.text)}`);
        const minted = tokensSeenSince(since);
        assert.equal(minted.length, 2, `tokens seen during the up: ${JSON.stringify(minted)}`);
        for (const t of minted) {
            ok(t.description === `aios-onboarding: the join of node ${t.description.split(" ").pop()}`, `token ${t.id} was not minted by this stack: ${t.description}`);
            ok(t.expiresAt, `minted token ${t.id} has no expiration`);
            const ttl = Date.parse(t.expiresAt) - t.firstSeen;
            ok(ttl > 0 && ttl <= 5 * 60_000 + 2_000, `minted token ${t.id} expires ${ttl} ms after it appeared (bound: 5 min)`);
        }
        assert.deepEqual(await tokenIds(), [staticId], "a minted token is left, or the static one was deleted");
        for (const id of ["worker-1", "worker-2"]) await assertOnboarded(id);
        await s.remove();
    });

    it("parser with the registry's static token: a never-expiring token is a preview warning, and the token is never deleted", async function () {
        await aios.faults({ parser: { addNode: "intended" } });
        const staticId = await staticTokenId();
        const s = await newStack("tokens-static", { machines: ["m1"], protocol: "parser" });
        const preview = await s.preview();
        ok(preview.ok, `preview failed:\n${excerpt(preview.text)}`);
        assertMentions(preview.text, [/join-command precheck: present \(secret, not shown\); its token never expires/, /joinToken: mint/]);
        const up = await s.up();
        ok(up.ok, `up failed:\n${excerpt(up.text)}`);
        assert.deepEqual(await tokenIds(), [staticId]);
        await s.remove();
    });
});

// Adoption (BRIEF.md scenario 11, issue 11 item 5, issue 12 item 6): machines that are already joined to this
// cluster as their node are adopted by a stack that lists them: after a stack's state was lost (nothing is
// registered again, no join token is minted, no registry entry is doubled, no machine joins again), and when
// they were joined by hand (no kubeadm join; registered with AIOS because it does not know them). A machine
// joined to another cluster is still refused. Runs before the secrets audit (3-secrets), so its states are
// audited too.
import { strict as assert } from "node:assert";
import { aios, assertMentions, assertOnboarded, assertUntouched, bootstrapTokens, excerpt, getNode, kube, KUBELET_CONF, machineFile, machineJoinState, newStack, nodeReady, ok, registerSuiteHooks, resetWorld, sleep, sshOk } from "./harness";

registerSuiteHooks();

const MIN = 60_000;
const MACHINES = ["m1", "m2", "m3"];
const NODES = ["worker-1", "worker-2", "worker-3"];

/** AIOS calls that register a node or mint a join token, by counter name. */
async function registrations(): Promise<Record<string, number>> {
    const c = (await aios.state()).counters;
    return Object.fromEntries(Object.entries(c).filter(([k]) => /join-node|addNode|add_node/i.test(k)));
}

describe("11. adoption of machines already onboarded (a stack whose state was lost)", function () {
    this.timeout(10 * MIN);

    before(async function () {
        await resetWorld();
    });

    it("a new stack over already-onboarded machines registers nothing, mints no token, joins nothing and ends verified; destroy then offboards them", async function () {
        const spec = { machines: [{ m: "m1", external: true }, "m2", "m3"] };
        const first = await newStack("adoption-first", spec);
        const up = await first.up();
        ok(up.ok, `first up failed:\n${excerpt(up.text)}`);
        for (const id of NODES) await assertOnboarded(id);

        const before = {
            registrations: await registrations(),
            entries: await aios.registryEntryCounts(),
            tokens: (await bootstrapTokens()).map((t) => t.name).sort(),
            joinedAt: await Promise.all(MACHINES.map(async (m) => (await machineJoinState(m)).marker?.joinedAt)),
        };
        assert.deepEqual(before.entries, { "worker-1": 1, "worker-2": 1, "worker-3": 1 });
        ok(before.joinedAt.every(Boolean), `a machine has no join marker: ${JSON.stringify(before.joinedAt)}`);

        // The state is lost (`pulumi stack rm --force`); the machines stay joined and known to AIOS.
        await first.remove();

        const second = await newStack("adoption-second", spec);
        const again = await second.up();
        ok(again.ok, `up of the new stack failed:\n${excerpt(again.text)}`);
        for (const id of NODES) await assertOnboarded(id);
        assert.deepEqual(await registrations(), before.registrations, "AIOS was asked to register a node again (or to mint a join token)");
        assert.deepEqual(await aios.registryEntryCounts(), before.entries, "the registry holds a duplicate entry");
        assert.deepEqual((await bootstrapTokens()).map((t) => t.name).sort(), before.tokens, "a join token was minted");
        assert.deepEqual(await Promise.all(MACHINES.map(async (m) => (await machineJoinState(m)).marker?.joinedAt)), before.joinedAt, "a machine joined again");
        const verified = (again.outputs.onboarded as { nodeName?: string }[] | undefined)?.map((n) => n.nodeName).sort();
        assert.deepEqual(verified, NODES, `the new stack's outputs do not show every node verified: ${JSON.stringify(again.outputs)}`);

        const clean = await second.preview({ expectNoChanges: true });
        ok(clean.ok, `preview after the adoption wants changes:\n${excerpt(clean.text)}`);

        // From then on the stack manages them: destroy offboards every one.
        const down = await second.destroy();
        ok(down.ok, `destroy failed:\n${excerpt(down.text)}`);
        for (const m of MACHINES) await assertUntouched(m);
        await second.remove();
    });

    /** Joins a machine by hand with the cluster's own join command (the registry's static one), as an operator would. */
    async function joinByHand(m: string, nodeId: string): Promise<void> {
        const command = (await aios.cluster()).clusterMetadata?.additionalInfo?.joinCommand;
        ok(command, "the registry holds no static join command");
        await sshOk(m, `${command} --node-name ${nodeId} >/dev/null 2>&1`);
        for (let i = 0; i < 60; i++) {
            const n = await getNode(nodeId);
            if (n && nodeReady(n)) return;
            await sleep(500);
        }
        throw new Error(`Node ${nodeId} did not become Ready after the join by hand`);
    }

    it("a machine joined by hand to this cluster is adopted: preview says so, up joins nothing, AIOS registers and labels it once; destroy offboards it", async function () {
        await joinByHand("m4", "worker-4");
        const kubeletConf = await machineFile("m4", KUBELET_CONF);
        const stack = await newStack("adoption-by-hand", { machines: ["m4"] });
        const preview = await stack.preview({ diff: true });
        ok(preview.ok, `preview failed:\n${excerpt(preview.text)}`);
        assertMentions(preview.text, ["joined to aios-demo as worker-4 outside this stack", "adopted, no kubeadm join"], "preview --diff");

        const up = await stack.up();
        ok(up.ok, `up failed:\n${excerpt(up.text)}`);
        assertMentions(up.text, [/machine \S+ is already joined to cluster aios-demo as node worker-4: adopted, no kubeadm join/, "already joined to cluster aios-demo as node worker-4; nothing to do"], "up");
        await assertOnboarded("worker-4");
        assert.equal(await machineFile("m4", KUBELET_CONF), kubeletConf, "the machine was joined again");
        assert.equal(await machineFile("m4", "/var/lib/aios-onboarding/join.log"), undefined, "kubeadm join ran on the adopted machine");
        assert.deepEqual(await aios.registryEntryCounts(), { "worker-4": 1 });
        const clean = await stack.preview({ expectNoChanges: true });
        ok(clean.ok, `preview after the adoption wants changes:\n${excerpt(clean.text)}`);

        const down = await stack.destroy();
        ok(down.ok, `destroy failed:\n${excerpt(down.text)}`);
        await assertUntouched("m4");
        await stack.remove();
    });

    it("a machine joined by hand to another cluster (its kubelet trusts another CA) is still refused at preview, and left alone", async function () {
        await joinByHand("m5", "worker-5");
        // Another cluster: the kubelet config trusts another CA.
        await sshOk("m5", `sed -i 's/^\\( *certificate-authority-data:\\).*/\\1 ${Buffer.from("another cluster's CA").toString("base64")}/' ${KUBELET_CONF}`);
        const stack = await newStack("adoption-elsewhere", { machines: ["m5"] });
        try {
            const preview = await stack.preview();
            ok(!preview.ok, "preview of a machine joined to another cluster succeeded");
            assertMentions(preview.text, ["membership", "kubelet.conf exists", "the machine belongs to another cluster"], "preview");
            ok((await machineJoinState("m5")).marker === undefined, "the machine was touched");
        } finally {
            await stack.remove();
            await sshOk("m5", "kubeadm reset -f >/dev/null 2>&1");
            await kube().deleteNode("worker-5");
        }
    });
});

// Drift (issue 12): `pulumi refresh` looks at each onboarded machine again (its Node, its AIOS registry
// entry, the machine over SSH), records what is wrong, `preview` names it, and `pulumi up` repairs it.
// Each case breaks the world by hand, as an operator would, and checks the repair in the world itself.
// Runs before the secrets audit (3-secrets), so these stacks' states and outputs are audited too.
import { strict as assert } from "node:assert";
import { aios, assertMentions, assertOnboarded, changedResources, E2EStack, excerpt, getNode, kube, machine, machineFault, machineJoinState, newStack, ok, registerSuiteHooks, resetWorld, ssh, type RunResult } from "./harness";

registerSuiteHooks();

const MIN = 60_000;
const NODES = ["worker-1", "worker-2", "worker-3"];
const LABELS = { "example.com/rack": "r7" };
const TAINTS = [{ key: "example.com/gpu", value: "a100", effect: "NoSchedule" }];

/** Drops a node's entry from the registry document, as a lost AIOS write (or an operator) would. */
async function dropRegistryEntry(nodeId: string): Promise<void> {
    const kept = (await aios.registryNodes()).filter((n) => n.id !== nodeId);
    await aios.putCluster({ $set: { "nodes.nodeData": kept, "nodes.count": kept.length } });
}

/** The resources a run updates, by name. */
function updated(r: RunResult): string[] {
    return changedResources(r)
        .filter((c) => c.op === "update")
        .map((c) => c.urn.split("::").pop()!)
        .sort();
}

async function assertDeclaredOnNode(nodeId: string): Promise<void> {
    const n = await getNode(nodeId);
    ok(n, `Node ${nodeId} does not exist`);
    assert.equal(n.metadata.labels?.["example.com/rack"], "r7", `Node ${nodeId} lost its declared label: ${JSON.stringify(n.metadata.labels)}`);
    assert.deepEqual(n.spec?.taints, TAINTS, `Node ${nodeId} lost its declared taint`);
}

describe("12. drift: refresh finds what happened to each machine, up repairs it", function () {
    this.timeout(15 * MIN);
    let stack: E2EStack;

    before(async function () {
        await resetWorld();
        stack = await newStack("drift", { machines: ["m1", { m: "m2", labels: LABELS, taints: TAINTS }, "m3"] });
        const up = await stack.up();
        ok(up.ok, `up failed:\n${excerpt(up.text)}`);
    });

    after(async function () {
        const down = await stack.destroy();
        ok(down.ok, `destroy failed:\n${excerpt(down.text)}`);
        await stack.remove();
    });

    it("a refresh right after up finds nothing and changes nothing", async function () {
        const refresh = await stack.refresh({ expectNoChanges: true });
        ok(refresh.ok, `refresh after up wants changes:\n${excerpt(refresh.text)}`);
        const preview = await stack.preview({ refresh: true, expectNoChanges: true });
        ok(preview.ok, `preview --refresh after up wants changes:\n${excerpt(preview.text)}`);
    });

    it("a Node deleted, a nodeID label removed and a registry entry lost: preview --refresh names each machine and why, up --refresh repairs them", async function () {
        await kube().deleteNode("worker-1");
        await kube().patchNode("worker-2", { metadata: { labels: { nodeID: null } } });
        await dropRegistryEntry("worker-3");

        const preview = await stack.preview({ refresh: true });
        ok(preview.ok, `preview --refresh failed:\n${excerpt(preview.text)}`);
        assertMentions(preview.text, ["Node worker-1 not found in the cluster", "Node worker-2 has no nodeID=worker-2 label", "node worker-3 is not in the AIOS registry"], "preview --refresh");
        // The labels patch may be re-applied: at preview the verified Node's UID is not known yet.
        const planned = updated(preview).filter((n) => n !== "worker-2-labels");
        assert.deepEqual(planned, ["worker-1-verify", "worker-2-verify", "worker-3-verify"], `preview --refresh should update exactly the three verifications:\n${excerpt(preview.text)}`);

        const up = await stack.up({ refresh: true });
        ok(up.ok, `up --refresh failed:\n${excerpt(up.text)}`);
        for (const id of NODES) await assertOnboarded(id);
        assert.deepEqual(await aios.registryEntryCounts(), { "worker-1": 1, "worker-2": 1, "worker-3": 1 }, "the registry does not hold exactly one entry per node");
        await assertDeclaredOnNode("worker-2");
        const clean = await stack.preview({ refresh: true, expectNoChanges: true });
        ok(clean.ok, `preview --refresh after the repair wants changes:\n${excerpt(clean.text)}`);
    });

    it("a machine reset by hand: refresh records it, preview shows it, up joins it again with its declared labels and taints", async function () {
        const before = (await machineJoinState("m2")).marker?.joinedAt;
        const reset = await ssh("m2", "kubeadm reset -f");
        assert.equal(reset.code, 0, `kubeadm reset on m2: ${reset.stderr}`);

        const refresh = await stack.refresh();
        ok(refresh.ok, `refresh failed:\n${excerpt(refresh.text)}`);
        assertMentions(refresh.text, [`machine ${machine("m2").host} is not joined any more`], "refresh");
        const preview = await stack.preview();
        ok(preview.ok, `preview after the refresh failed:\n${excerpt(preview.text)}`);
        ok(updated(preview).includes("worker-2-verify"), `preview does not update worker-2-verify:\n${excerpt(preview.text)}`);

        const up = await stack.up();
        ok(up.ok, `up failed:\n${excerpt(up.text)}`);
        const after = await machineJoinState("m2");
        ok(after.kubeletConf && after.marker && after.marker.joinedAt !== before, `m2 was not joined again: ${JSON.stringify(after)}`);
        await assertOnboarded("worker-2");
        await assertDeclaredOnNode("worker-2");
        assert.deepEqual(await aios.registryEntryCounts(), { "worker-1": 1, "worker-2": 1, "worker-3": 1 });
        const clean = await stack.refresh({ expectNoChanges: true });
        ok(clean.ok, `refresh after the repair wants changes:\n${excerpt(clean.text)}`);
    });

    it("a machine that cannot be reached during refresh is a warning naming it and the cause, not taken for gone", async function () {
        await machineFault("m3", "sshd-down");
        try {
            const refresh = await stack.refresh({ expectNoChanges: true });
            ok(refresh.ok, `refresh with m3 unreachable failed or recorded drift:\n${excerpt(refresh.text)}`);
            assertMentions(refresh.text, [`machine ${machine("m3").host} of node worker-3 could not be looked at during refresh`, /Connection refused|cannot be reached/], "refresh");
        } finally {
            await machineFault("m3", "clear");
        }
        await assertOnboarded("worker-3");
    });

    it("a registry that cannot be reached fails the refresh with an error naming it, and this package's state is unchanged", async function () {
        // The kubernetes provider's NodePatch refreshes on its own (it records the Node's live
        // resourceVersion), so only this package's resources are compared.
        const ours = async () => (await stack.resources()).filter((r) => r.type.startsWith("aios-onboarding:") || r.type.startsWith("command:"));
        const before = await ours();
        await aios.faults({ registry: { mode: "down" } });
        let refresh: RunResult;
        try {
            refresh = await stack.refresh();
        } finally {
            await aios.faults({ registry: { mode: "ok" } });
        }
        ok(!refresh.ok, "refresh succeeded with the registry down");
        assertMentions(refresh.text, [/the AIOS registry at \S+ could not be read .*nothing was changed/], "refresh");
        assert.deepEqual(await ours(), before, "the failed refresh changed the state of this package's resources");
    });
});

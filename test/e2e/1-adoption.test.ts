// Adoption (BRIEF.md scenario 11, issue 11 item 5): machines that are already joined to this cluster as their
// node and already known to AIOS are adopted by a stack that lists them, as after a stack's state was lost:
// nothing is registered again, no join token is minted, no registry entry is doubled, no machine joins again,
// and each ends verified. Runs before the secrets audit (3-secrets), so its states are audited too.
import { strict as assert } from "node:assert";
import { aios, assertOnboarded, assertUntouched, bootstrapTokens, excerpt, machineJoinState, newStack, ok, registerSuiteHooks, resetWorld } from "./harness";

registerSuiteHooks();

const MIN = 60_000;
const MACHINES = ["m1", "m2", "m3"];
const NODES = ["worker-1", "worker-2", "worker-3"];

/** AIOS calls that register a node or mint a join token, by counter name. */
async function registrations(): Promise<Record<string, number>> {
    const c = (await aios.state()).counters;
    return Object.fromEntries(Object.entries(c).filter(([k]) => /join-node|addNode|add_node/i.test(k)));
}

async function registryEntries(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const n of await aios.registryNodes()) out[n.id] = (out[n.id] ?? 0) + 1;
    return out;
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
            entries: await registryEntries(),
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
        assert.deepEqual(await registryEntries(), before.entries, "the registry holds a duplicate entry");
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
});

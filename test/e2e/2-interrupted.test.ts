// An interrupted run (issue 12, item 4): the engine is killed (SIGKILL) while machines are being joined.
// The documented recovery (README, "Interrupted runs") is `pulumi cancel`, then
// `pulumi refresh --clear-pending-creates`, then `pulumi up`: every machine ends onboarded, no pending
// operation is left, and nothing is duplicated in the registry. Runs before the secrets audit.
import { strict as assert } from "node:assert";
import { aios, assertOnboarded, excerpt, machineJoinState, newStack, ok, registerSuiteHooks, resetWorld, sleep } from "./harness";

registerSuiteHooks();

const MIN = 60_000;
const MACHINES = ["m1", "m2", "m3"];
const NODES = ["worker-1", "worker-2", "worker-3"];

describe("12. an up whose engine was killed mid-join is recovered with cancel, refresh --clear-pending-creates and up", function () {
    this.timeout(15 * MIN);

    before(async function () {
        await resetWorld();
    });

    it("every machine ends onboarded, no pending operation is left, and the registry holds one entry per node", async function () {
        const stack = await newStack("interrupted", { machines: MACHINES });
        let killed: Promise<number> | undefined;
        const first = await stack.up({
            onEvent: (e) => {
                const md = e.resourcePreEvent?.metadata;
                if (!killed && md?.op === "create" && md.urn.endsWith("-join")) killed = sleep(200).then(() => stack.killEngine());
            },
        });
        ok(killed, `no join started before the up ended:\n${excerpt(first.text)}`);
        await killed;
        ok(!first.ok, "the killed up reported success");

        const locked = await stack.refresh({ clearPendingCreates: true });
        ok(!locked.ok && /locked/.test(locked.text), `the killed up should leave the stack locked:\n${excerpt(locked.text)}`);
        const cancel = await stack.cancel();
        assert.equal(cancel.code, 0, `pulumi cancel: ${cancel.stderr}`);

        const exported = (await stack.stack.exportStack()) as unknown as { deployment?: { pending_operations?: { type: string; resource: { urn: string } }[] } };
        const pending = exported.deployment?.pending_operations ?? [];
        ok(pending.length > 0, "the killed up left no pending operation: the kill came too late to test the recovery");
        console.log(`      (killed with ${pending.length} pending operation(s): ${pending.map((p) => `${p.type} ${p.resource.urn.split("::").pop()}`).join(", ")})`);

        const refresh = await stack.refresh({ clearPendingCreates: true });
        ok(refresh.ok, `refresh --clear-pending-creates failed:\n${excerpt(refresh.text)}`);
        const up = await stack.up();
        ok(up.ok, `up after the recovery failed:\n${excerpt(up.text)}`);
        ok(!/pending operation/i.test(up.text), `up after the recovery still warns about pending operations:\n${excerpt(up.text)}`);

        for (const id of NODES) await assertOnboarded(id);
        for (const m of MACHINES) ok((await machineJoinState(m)).marker, `${m} has no join marker`);
        assert.deepEqual(await aios.registryEntryCounts(), { "worker-1": 1, "worker-2": 1, "worker-3": 1 }, "the registry does not hold exactly one entry per node");
        const clean = await stack.preview({ expectNoChanges: true });
        ok(clean.ok, `preview after the recovery wants changes:\n${excerpt(clean.text)}`);
        const again = await stack.refresh({ expectNoChanges: true });
        ok(again.ok, `refresh after the recovery finds drift:\n${excerpt(again.text)}`);

        const down = await stack.destroy();
        ok(down.ok, `destroy failed:\n${excerpt(down.text)}`);
        await stack.remove();
    });
});

import { strict as assert } from "node:assert";
import { recordingContext } from "../../helpers/operationContext";
import { decodePrechecks, prechecksChanged, prechecksHandler, tableDigest, type PrechecksInputs } from "../../../components/prechecks/prechecksResource";

const beforeJoin: PrechecksInputs = {
    nodeId: "worker-1",
    checks: [
        { check: "ssh", expected: "SSH to 10.0.0.5 with the pinned host key", observed: "root@m1 (root)", status: "passed" },
        { check: "membership", expected: "not a member of any cluster", observed: "not joined to any cluster", status: "passed" },
        { check: "ports", expected: "30000-32767/tcp+udp not in use", observed: "all free", status: "passed" },
    ],
};
const afterJoin: PrechecksInputs = {
    nodeId: "worker-1",
    checks: [
        beforeJoin.checks[0],
        { check: "membership", expected: "not a member of any cluster", observed: "joined to aios-demo as worker-1", status: "passed" },
        { check: "ports", expected: "30000-32767/tcp+udp not in use", observed: "skipped: already joined to cluster aios-demo as worker-1", status: "skipped" },
    ],
};
const failing: PrechecksInputs = {
    nodeId: "worker-1",
    checks: [beforeJoin.checks[0], beforeJoin.checks[1], { check: "ports", expected: "30000-32767/tcp+udp not in use", observed: "found in use: 30080/tcp", status: "failed", fix: "stop the services" }],
};

describe("the Prechecks resource's provider side", () => {
    it("keeps the table unchanged when a machine has joined and only what its checks saw is worded anew", () => {
        assert.equal(prechecksChanged(beforeJoin, afterJoin), false);
        // check keeps the stored table, so what the engine stores and diffs is the table as it was.
        const checked = prechecksHandler.check("worker-1-prechecks", beforeJoin, afterJoin) as { inputs: PrechecksInputs };
        assert.deepEqual(checked.inputs, beforeJoin);
        const stored = { nodeId: "worker-1", digest: tableDigest(beforeJoin) };
        assert.deepEqual(prechecksHandler.diff("worker-1-prechecks", stored, checked.inputs), { changes: false });
        // A machine that keeps failing the same way is not updated on every run either.
        assert.equal(prechecksChanged(failing, failing), false);
    });

    it("updates the table when a check fails, when a failed check passes again, or when the set of checks changes", () => {
        assert.equal(prechecksChanged(afterJoin, failing), true);
        assert.equal(prechecksChanged(failing, beforeJoin), true);
        assert.equal(prechecksChanged(beforeJoin, { ...beforeJoin, checks: beforeJoin.checks.slice(0, 2) }), true);
        assert.equal(prechecksChanged(beforeJoin, { ...beforeJoin, nodeId: "worker-9" }), true);
        const checked = prechecksHandler.check("worker-1-prechecks", afterJoin, failing) as { inputs: PrechecksInputs };
        assert.deepEqual(checked.inputs, failing);
        assert.deepEqual(prechecksHandler.diff("worker-1-prechecks", { nodeId: "worker-1", digest: tableDigest(afterJoin) }, failing), { changes: true });
    });

    it("writes a new table over a stored state of another shape", () => {
        assert.deepEqual(prechecksHandler.diff("worker-1-prechecks", { check: "ssh" }, beforeJoin), { changes: true });
    });

    it("creates with the node id as its id and the table's digest as its outputs (the table is stored once, as the inputs)", async () => {
        const ctx = recordingContext("worker-1-prechecks");
        const stored = { nodeId: "worker-1", digest: tableDigest(beforeJoin) };
        assert.deepEqual(await prechecksHandler.create(ctx, beforeJoin), { id: "worker-1", outs: stored });
        assert.deepEqual(await prechecksHandler.update(ctx, stored, failing), { outs: { nodeId: "worker-1", digest: tableDigest(failing) } });
        assert.deepEqual(await prechecksHandler.read(ctx, "worker-1", stored), { id: "worker-1", props: stored });
    });

    it("rejects inputs of the wrong shape in one error that names each field and the fix", () => {
        assert.throws(
            () => decodePrechecks("worker-1-prechecks", { nodeId: "", checks: [{ check: "telepathy", expected: "x", observed: "y", status: "maybe" }], extra: 1 }),
            (e: Error) => {
                assert.match(e.message, /^prechecks resource worker-1-prechecks: 4 problems/);
                assert.match(e.message, /checks\[0\]\.check: "telepathy"/);
                assert.match(e.message, /checks\[0\]\.status: "maybe"/);
                assert.match(e.message, /nodeId/);
                assert.match(e.message, /unknown key "extra"/);
                assert.match(e.message, /fix: this resource is written by OnboardedNode/);
                return true;
            },
        );
    });
});

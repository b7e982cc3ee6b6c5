import { strict as assert } from "node:assert";
import { AiosOnboardingProvider, urnParts } from "../../../provider/provider";

const PRECHECKS_URN = "urn:pulumi:dev::aios-onboarding::aios-onboarding:index:OnboardedNode$aios-onboarding:index:Prechecks::worker-1-prechecks";

describe("the aios-onboarding provider plugin", () => {
    it("reads the type token and the name of a child's URN", () => {
        assert.deepEqual(urnParts(PRECHECKS_URN), { type: "aios-onboarding:index:Prechecks", name: "worker-1-prechecks" });
        assert.throws(() => urnParts("worker-1"), /not a resource URN: worker-1/);
    });

    it("dispatches on the type token", async () => {
        const p = new AiosOnboardingProvider("0.1.0");
        const table = { nodeId: "worker-1", checks: [{ check: "ssh", expected: "SSH works", observed: "root", status: "passed" }] };
        assert.deepEqual(await p.check(PRECHECKS_URN, {}, table), { inputs: table });
        assert.deepEqual(await p.create(PRECHECKS_URN, table), { id: "worker-1", outs: table });
        assert.deepEqual(await p.diff("worker-1", PRECHECKS_URN, table, table), { changes: false });
        await p.delete("worker-1", PRECHECKS_URN, table);
    });

    it("names a type it does not serve and says what to do", async () => {
        const p = new AiosOnboardingProvider("0.1.0");
        await assert.rejects(p.create("urn:pulumi:dev::p::aios-onboarding:index:Teleport::x", {}), /no resource type aios-onboarding:index:Teleport \(it serves aios-onboarding:index:Prechecks\).*install the plugin of the package's version/);
    });
});

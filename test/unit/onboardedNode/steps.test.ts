import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, mockHooks, unwrap } from "../../helpers/mocks";
import { after, StepRef } from "../../../components/onboardedNode/steps";

class Machine extends pulumi.ComponentResource {
    constructor(name: string) {
        super("aios-onboarding:index:OnboardedNode", name, {}, {});
    }
}

class Step extends pulumi.CustomResource {
    declare readonly out: pulumi.Output<string>;
    constructor(name: string, parent: pulumi.Resource) {
        super("aios-onboarding:index:Registration", name, { out: undefined }, { parent });
    }
}

interface OutputInternals {
    isKnown: Promise<boolean>;
    allResources(): Promise<Set<pulumi.Resource>>;
}
const internals = (o: pulumi.Output<unknown>) => o as unknown as OutputInternals;

async function urnsOf(o: pulumi.Output<unknown>): Promise<string[]> {
    const resources = [...(await internals(o).allResources())];
    return Promise.all(resources.map((r) => unwrap(r.urn)));
}

describe("a step's output handed to the next step (after)", () => {
    before(installMocks);
    afterEach(() => (mockHooks.failStep = undefined));

    const ref = (name: string, parent: pulumi.Resource): StepRef => ({ name, type: "aios-onboarding:index:Registration", parent });

    it("is the output itself, with its step as the dependency, when the step succeeded", async () => {
        const parent = new Machine("ok-1");
        const step = new Step("ok-1-registration", parent);
        const o = after(ref("ok-1-registration", parent), step.out);
        assert.equal(await internals(o).isKnown, true);
        assert.deepEqual(await urnsOf(o), ["urn:pulumi:unit::aios-onboarding::aios-onboarding:index:OnboardedNode$aios-onboarding:index:Registration::ok-1-registration"]);
    });

    it("is unknown and depends on the failed step by its URN alone (not on the machine's component) when the step failed", async () => {
        mockHooks.failStep = (_type, name) => name === "bad-1-registration";
        const parent = new Machine("bad-1");
        const step = new Step("bad-1-registration", parent);
        const o = after(ref("bad-1-registration", parent), step.out);
        assert.equal(await internals(o).isKnown, false, "a value the next step could act on");
        assert.deepEqual(await urnsOf(o), ["urn:pulumi:unit::aios-onboarding::aios-onboarding:index:OnboardedNode$aios-onboarding:index:Registration::bad-1-registration"]);
    });

    it("fails with the step's own error instead of waiting for ever when the machine's component has no URN", async () => {
        mockHooks.failStep = (type, name) => type === "aios-onboarding:index:OnboardedNode" && name === "orphan-1";
        const parent = new Machine("orphan-1");
        const step = new Step("orphan-1-registration", parent);
        const o = after(ref("orphan-1-registration", parent), step.out);
        await assert.rejects(
            Promise.race([unwrap(o), new Promise((_, reject) => setTimeout(() => reject(new Error("still waiting after 2 s")), 2000))]),
            /failed to register/,
        );
    });

    it("passes an error of the program through, to be reported as written", async () => {
        const parent = new Machine("err-1");
        const failure = new pulumi.ResourceError("machine err-1 failed 1 precheck", parent, true);
        const o = after(ref("err-1-registration", parent), pulumi.output(Promise.reject(failure)));
        await assert.rejects(unwrap(o), (e) => e === failure);
    });
});

import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { created, installMocks, unhandledRejectionsOf, unwrap } from "../../helpers/mocks";

type Mod = typeof import("../../../components/labels/labels");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("declared labels and taints (NodePatch)", () => {
    let mod: Mod;
    before(async () => {
        await installMocks();
        mod = await import("../../../components/labels/labels");
    });
    beforeEach(() => (created.length = 0));

    const patchNamed = (name: string) => created.find((r) => r.type === "kubernetes:core/v1:NodePatch" && r.name === name);
    const verified = () => pulumi.output("uid-1");

    it("patches only the node's labels, forced, under a field manager of its own, and leaves taints alone when none are declared", async () => {
        const patch = mod.declaredLabelsPatch("w1-labels", { nodeId: "w1", labels: { "example.com/rack": "r2" }, taints: [], verifiedNode: verified() }, {});
        await unwrap(patch.urn);
        const inputs = patchNamed("w1-labels")!.inputs as { metadata: Record<string, unknown>; spec?: unknown };
        assert.deepEqual(inputs.metadata, {
            name: "w1",
            labels: { "example.com/rack": "r2" },
            annotations: { "pulumi.com/patchFieldManager": "aios-onboarding-w1", "pulumi.com/patchForce": "true", "aios-onboarding/node-uid": "uid-1" },
        });
        assert.equal(inputs.spec, undefined, "a patch without taints must not own the Node's taint list");
    });

    it("sets the declared taints as the Node's taint list", async () => {
        const taints = [{ key: "example.com/gpu", value: "a100", effect: "NoSchedule" as const }];
        const patch = mod.declaredLabelsPatch("w2-labels", { nodeId: "w2", labels: {}, taints, verifiedNode: verified() }, {});
        await unwrap(patch.urn);
        const inputs = patchNamed("w2-labels")!.inputs as { metadata: Record<string, unknown>; spec: { taints: unknown } };
        assert.deepEqual(inputs.spec.taints, taints);
        assert.equal(inputs.metadata.labels, undefined);
    });

    it("records the verified Node's UID, so a Node created again by a repair is patched again", async () => {
        const again = mod.declaredLabelsPatch("w6-labels", { nodeId: "w6", labels: { a: "b" }, taints: [], verifiedNode: pulumi.output("uid-2") }, {});
        await unwrap(again.urn);
        const inputs = patchNamed("w6-labels")!.inputs as { metadata: { annotations: Record<string, string> } };
        assert.equal(inputs.metadata.annotations["aios-onboarding/node-uid"], "uid-2");
    });

    it("waits for verification before it reaches the engine", async () => {
        let resolve!: () => void;
        const gate = new Promise<void>((r) => (resolve = r));
        const later = pulumi.output(gate.then(() => "uid-3"));
        for (const [name, labels, taints] of [
            ["w3-labels", { "example.com/rack": "r1" }, []],
            ["w4-labels", {}, [{ key: "edge", effect: "NoExecute" as const }]],
        ] as const) {
            mod.declaredLabelsPatch(name, { nodeId: name.slice(0, 2), labels: { ...labels }, taints: [...taints], verifiedNode: later }, {});
        }
        await sleep(50);
        assert.equal(patchNamed("w3-labels"), undefined, "labels were patched before the Node was verified");
        assert.equal(patchNamed("w4-labels"), undefined, "taints were patched before the Node was verified");
        resolve();
        for (let i = 0; i < 50 && !(patchNamed("w3-labels") && patchNamed("w4-labels")); i++) await sleep(10);
        assert.ok(patchNamed("w3-labels") && patchNamed("w4-labels"), "the patches never registered after verification");
    });

    it("never reaches the engine when verification failed, so a missing Node is never created by the patch", async () => {
        const failure = new Error("verification failed");
        const unhandled = await unhandledRejectionsOf(async () => {
            const failed = pulumi.output(Promise.reject(failure) as Promise<string>);
            const patch = mod.declaredLabelsPatch("w5-labels", { nodeId: "w5", labels: { a: "b" }, taints: [], verifiedNode: failed }, {});
            await assert.rejects(unwrap(patch.urn));
        });
        assert.equal(patchNamed("w5-labels"), undefined);
        assert.ok(unhandled.length > 0 && unhandled.every((e) => e === failure), `the program reported ${unhandled.map(String)}`);
    });

    it("uses one field manager per node, so nodes never take each other's labels", () => {
        assert.notEqual(mod.fieldManager("worker-1"), mod.fieldManager("worker-2"));
        assert.ok(mod.fieldManager("x".repeat(300)).length <= 128);
    });
});

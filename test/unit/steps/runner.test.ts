import * as assert from "node:assert/strict";
import { runStep } from "../../../components/steps/runner";

// A step whose predecessor failed in this run is still registered (see orWhenStepFailed in
// onboardedNode.ts); it must fail at once, name the failed step, and touch nothing.
describe("steps after a failed step", () => {
    const base = { kubeconfig: "not read", nodeId: "worker-2", httpTimeoutSeconds: 1 };

    it("verify fails naming the failed join, without reading the cluster", async () => {
        const input = { ...base, verifySeconds: 1, protocol: "gateway", clusterId: "aios-demo", mode: "local_network", registeredAt: new Date(0).toISOString(), node: {}, joined: false };
        await assert.rejects(runStep("verify", JSON.stringify(input)), {
            message: "node worker-2 not verified: its join failed in this run (see the worker-2-join error); AIOS issued it a join command but wrote nothing to the registry; the next `pulumi up` retries the join",
        });
    });

    it("verify says that a parser registration stays in the registry", async () => {
        const input = { ...base, verifySeconds: 1, protocol: "parser", clusterId: "aios-demo", mode: "local_network", registeredAt: new Date(0).toISOString(), node: {}, joined: false };
        await assert.rejects(runStep("verify", JSON.stringify(input)), /it stays registered in the AIOS registry \(addNode wrote its entry\); the next `pulumi up` retries the join and keeps that one entry/);
    });
});

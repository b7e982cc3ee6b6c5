import * as assert from "node:assert/strict";
import type { ClusterDocument } from "../../../components/aios/schemas";
import type { KubeNode } from "../../../components/kube/client";
import { buildInventory } from "../../../components/machine/inventory";
import { onboardedSighting } from "../../../components/prechecks/observe";
import { healthyObservation } from "../../helpers/observations";

const entry = { ...buildInventory("worker-1", healthyObservation().facts!, ["rack-a"], {}), cluster_id: "aios-demo" };
const cluster = (nodeData: unknown[] = [entry]): ClusterDocument => ({ id: "aios-demo", nodes: { count: nodeData.length, nodeData } }) as ClusterDocument;
const node = (over: { ready?: boolean; label?: string; address?: string } = {}): KubeNode =>
    ({
        metadata: { name: "worker-1", labels: over.label === undefined ? { nodeID: "worker-1" } : { nodeID: over.label } },
        status: {
            conditions: [{ type: "Ready", status: over.ready === false ? "False" : "True" }],
            addresses: [{ type: "InternalIP", address: over.address ?? "10.0.0.5" }, { type: "Hostname", address: "worker-1" }],
        },
    }) as KubeNode;

describe("a machine the cluster already shows onboarded is not probed", () => {
    it("when its Node is Ready, labelled nodeID by AIOS, at its configured address, and AIOS holds its node document", () => {
        const seen = onboardedSighting("worker-1", cluster(), node(), ["10.0.0.5"]);
        assert.equal(seen?.address, "10.0.0.5");
        // The inventory is what AIOS holds, without the cluster_id AIOS added.
        assert.deepEqual(seen?.entry, buildInventory("worker-1", healthyObservation().facts!, ["rack-a"], {}));
    });

    it("but is probed when any of that is missing", () => {
        const cases: [string, ReturnType<typeof onboardedSighting>][] = [
            ["no Node", onboardedSighting("worker-1", cluster(), undefined, ["10.0.0.5"])],
            ["Node not Ready", onboardedSighting("worker-1", cluster(), node({ ready: false }), ["10.0.0.5"])],
            ["not labelled yet", onboardedSighting("worker-1", cluster(), node({ label: "" }), ["10.0.0.5"])],
            ["another machine holds the name", onboardedSighting("worker-1", cluster(), node({ address: "10.0.0.99" }), ["10.0.0.5"])],
            ["not in the registry", onboardedSighting("worker-1", cluster([]), node(), ["10.0.0.5"])],
            ["registered twice", onboardedSighting("worker-1", cluster([entry, entry]), node(), ["10.0.0.5"])],
            ["an entry of another shape", onboardedSighting("worker-1", cluster([{ id: "worker-1", gpus: null }]), node(), ["10.0.0.5"])],
            ["registry not read", onboardedSighting("worker-1", undefined, node(), ["10.0.0.5"])],
        ];
        for (const [why, seen] of cases) assert.equal(seen, undefined, why);
    });
});

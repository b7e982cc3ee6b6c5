import * as assert from "node:assert/strict";
import type { NodeMetadata, NodeMetadataRead } from "../../../components/kube/client";
import { nextLabelWindows } from "../../../components/verify/labelWindows";

const labelledBy = (name: string, time: string, manager = "aios-membership"): NodeMetadata => ({
    name,
    labels: { nodeID: name },
    managedFields: [
        { manager: "kubelet", operation: "Update", time: "2026-12-02T09:00:00Z", fieldsV1: { "f:metadata": { "f:labels": { "f:kubernetes.io/hostname": {} } } } },
        { manager, operation: "Update", time, fieldsV1: { "f:metadata": { "f:labels": { "f:nodeID": {} } } } },
    ],
});

describe("when a Node got its nodeID label, in this process's clock", () => {
    it("follows from the field manager's time and the API server's Date, whatever the server's clock says", () => {
        // The API server's clock is an hour ahead of ours; the label is 10 s old by the server's clock.
        const local = Date.parse("2026-12-02T10:00:00.000Z");
        const read: NodeMetadataRead = {
            nodes: [labelledBy("worker-1", "2026-12-02T10:59:50Z")],
            sentAt: local,
            receivedAt: local + 50,
            serverDate: Date.parse("2026-12-02T11:00:00Z"),
        };
        const w = nextLabelWindows(new Map(), undefined, read, "nodeID").get("worker-1");
        assert.deepEqual(w, { from: local - 11_000, until: local + 50 - 9_000 });
    });

    it("is not after the first list that showed it, and not before the list that did not", () => {
        const first: NodeMetadataRead = { nodes: [{ name: "worker-1", labels: { nodeID: "worker-1" } }], sentAt: 1_000, receivedAt: 1_100 };
        let windows = nextLabelWindows(new Map(), undefined, first, "nodeID");
        assert.deepEqual(windows.get("worker-1"), { from: undefined, until: 1_100 });
        const second: NodeMetadataRead = { nodes: [...first.nodes, { name: "worker-2", labels: { nodeID: "worker-2" } }], sentAt: 2_000, receivedAt: 2_100 };
        windows = nextLabelWindows(windows, first.sentAt, second, "nodeID");
        assert.deepEqual(windows.get("worker-1"), { from: undefined, until: 1_100 }, "an earlier list's bound is kept");
        assert.deepEqual(windows.get("worker-2"), { from: 1_000, until: 2_100 });
    });

    it("starts again for a Node labelled again after its label was removed", () => {
        const labelled = (sentAt: number): NodeMetadataRead => ({ nodes: [{ name: "worker-1", labels: { nodeID: "worker-1" } }], sentAt, receivedAt: sentAt + 10 });
        let windows = nextLabelWindows(new Map(), undefined, labelled(1_000), "nodeID");
        windows = nextLabelWindows(windows, 1_000, { nodes: [{ name: "worker-1", labels: {} }], sentAt: 2_000, receivedAt: 2_010 }, "nodeID");
        assert.equal(windows.has("worker-1"), false);
        windows = nextLabelWindows(windows, 2_000, labelled(3_000), "nodeID");
        assert.deepEqual(windows.get("worker-1"), { from: 2_000, until: 3_010 });
    });

    it("ignores field managers that did not write the label", () => {
        const meta: NodeMetadata = { ...labelledBy("worker-1", "2026-12-02T09:59:00Z"), managedFields: labelledBy("worker-1", "x").managedFields?.slice(0, 1) };
        const read: NodeMetadataRead = { nodes: [meta], sentAt: 5_000, receivedAt: 5_020, serverDate: Date.parse("2026-12-02T10:00:00Z") };
        assert.deepEqual(nextLabelWindows(new Map(), undefined, read, "nodeID").get("worker-1"), { from: undefined, until: 5_020 });
    });
});

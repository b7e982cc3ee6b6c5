import * as assert from "node:assert/strict";
import { fieldManager, mergeTaints } from "../../../components/labels/labels";

describe("declared taints", () => {
    const notReady = { key: "node.kubernetes.io/not-ready", effect: "NoSchedule" as const };
    it("keep taints set by others and replace only ours", () => {
        const current = [notReady, { key: "gpu", value: "a", effect: "NoSchedule" as const }];
        const next = mergeTaints(current, [{ key: "gpu", value: "a", effect: "NoSchedule" }], [{ key: "gpu", value: "b", effect: "NoSchedule" }]);
        assert.deepEqual(next, [notReady, { key: "gpu", value: "b", effect: "NoSchedule" }]);
    });
    it("remove ours when none are wanted", () => {
        assert.deepEqual(mergeTaints([notReady, { key: "edge", effect: "NoExecute" }], [{ key: "edge", effect: "NoExecute" }], []), [notReady]);
    });
    it("use one field manager per node, so nodes never steal each other's labels", () => {
        assert.notEqual(fieldManager("worker-1"), fieldManager("worker-2"));
        assert.ok(fieldManager("x".repeat(300)).length <= 128);
    });
});

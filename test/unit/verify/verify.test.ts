import * as assert from "node:assert/strict";
import type { KubeNode } from "../../../components/kube/client";
import { AIOS_WAITER_WINDOW_SECONDS, rearmAt, WAITER_GONE_AFTER_READY_SECONDS } from "../../../components/verify/verify";

function node(ready: "True" | "False", readySince: string, labels: Record<string, string> = {}): KubeNode {
    return {
        metadata: { name: "worker-1", labels },
        status: { conditions: [{ type: "Ready", status: ready, lastTransitionTime: readySince }] },
    } as KubeNode;
}

describe("when verification asks AIOS for a new membership waiter", () => {
    const issued = "2026-11-24T10:00:00.000Z";
    const t = (s: number) => Date.parse(issued) + s * 1000;

    it("never while the node is not Ready or already labelled", () => {
        assert.equal(rearmAt("worker-1", undefined, issued), undefined);
        assert.equal(rearmAt("worker-1", node("False", issued), issued), undefined);
        assert.equal(rearmAt("worker-1", node("True", issued, { nodeID: "worker-1" }), issued), undefined);
    });

    it("once the node has been Ready long enough that a live waiter would have labelled it", () => {
        const readySince = new Date(t(30)).toISOString();
        assert.equal(rearmAt("worker-1", node("True", readySince), issued), t(30 + WAITER_GONE_AFTER_READY_SECONDS));
    });

    it("at the latest when the waiter's window closes", () => {
        const readySince = new Date(t(AIOS_WAITER_WINDOW_SECONDS - 5)).toISOString();
        assert.equal(rearmAt("worker-1", node("True", readySince), issued), t(AIOS_WAITER_WINDOW_SECONDS));
        assert.equal(rearmAt("worker-1", node("True", "not a time"), issued), t(AIOS_WAITER_WINDOW_SECONDS));
    });
});

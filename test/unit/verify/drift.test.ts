import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import type { KubeNode } from "../../../components/kube/client";
import type { MachineFacts } from "../../../components/machine/probe";
import { driftReasons, machineState, nodeFinding, type Findings } from "../../../components/verify/drift";
import { joinScriptWithConfiguration } from "../../../components/join/scripts";

const ids = { clusterId: "aios-demo", nodeId: "worker-1" };
const facts = (kubelet: MachineFacts["kubelet"], marker?: MachineFacts["marker"]) => ({ kubelet, marker }) as MachineFacts;
const node = (labels: Record<string, string>, ready: "True" | "False" = "True") =>
    ({ metadata: { name: "worker-1", labels }, status: { conditions: [{ type: "Ready", status: ready }] } }) as KubeNode;
const healthy: Findings = { node: "ok", registryEntries: 1, machine: { state: "joined" } };
const where = { ...ids, host: "10.0.0.11" };

describe("what a refresh finds wrong with an onboarded machine", () => {
    it("finds nothing when the Node is Ready and labelled, the registry holds one entry and the machine is joined as this node", () => {
        assert.equal(nodeFinding("worker-1", node({ nodeID: "worker-1" })), "ok");
        assert.deepEqual(machineState(ids, facts({ kind: "present", server: "https://10.0.0.1:6443" }, { clusterId: "aios-demo", nodeId: "worker-1" })), { state: "joined" });
        assert.deepEqual(driftReasons(where, healthy), []);
    });

    it("names a deleted Node, a removed label, a lost or doubled registry entry and a reset machine, in a fixed order", () => {
        assert.equal(nodeFinding("worker-1", undefined), "missing");
        assert.equal(nodeFinding("worker-1", node({ nodeID: "worker-9" })), "unlabelled");
        assert.deepEqual(machineState(ids, facts({ kind: "absent" }, { clusterId: "aios-demo", nodeId: "worker-1" })), { state: "reset" });
        assert.deepEqual(driftReasons(where, { node: "missing", registryEntries: 0, machine: { state: "reset" } }), [
            "Node worker-1 not found in the cluster",
            "node worker-1 is not in the AIOS registry of cluster aios-demo",
            "machine 10.0.0.11 is not joined any more (no kubelet config: reset by hand?)",
        ]);
        assert.deepEqual(driftReasons(where, { ...healthy, node: "unlabelled", registryEntries: 2 }), [
            "Node worker-1 has no nodeID=worker-1 label",
            "the AIOS registry of cluster aios-demo holds 2 entries for node worker-1",
        ]);
    });

    it("names a machine joined to another cluster, or by hand, with the API server its kubelet points at", () => {
        const state = machineState(ids, facts({ kind: "present", server: "https://10.9.9.9:6443" }));
        assert.deepEqual(state, { state: "joined-elsewhere", server: "https://10.9.9.9:6443" });
        assert.deepEqual(driftReasons(where, { ...healthy, machine: state }), ["machine 10.0.0.11 is joined to another cluster (its kubelet points at https://10.9.9.9:6443)"]);
    });

    it("takes a machine it could not look at, or a NotReady Node, for no drift", () => {
        assert.equal(nodeFinding("worker-1", node({ nodeID: "worker-1" }, "False")), "not-ready");
        assert.deepEqual(machineState(ids, facts({ kind: "unknown" })).state, "unknown");
        assert.deepEqual(driftReasons(where, { ...healthy, node: "not-ready", machine: { state: "unknown", reason: "connection refused" } }), []);
    });
});

describe("the join script of a repair, whose session's stdin is the script", () => {
    it("hands the join configuration to the join script as a quoted here-document, never on a command line", () => {
        const config = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n  token: abcdef.0123456789abcdef";
        const script = joinScriptWithConfiguration({ ...ids, joinTimeoutSeconds: 60 }, config);
        assert.match(script, /\naios_join <<'AIOS_ONBOARDING_JOIN_CONFIGURATION_END'\napiVersion[^]*abcdef\.0123456789abcdef\nAIOS_ONBOARDING_JOIN_CONFIGURATION_END\n$/);
        assert.equal(script.split("abcdef.0123456789abcdef").length, 2, "the token appears once, in the here-document");
        const syntax = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
        assert.equal(syntax.status, 0, `sh -n: ${syntax.stderr}`);
    });

    it("refuses a configuration that would end the here-document early", () => {
        assert.throws(() => joinScriptWithConfiguration({ ...ids, joinTimeoutSeconds: 60 }, "a\nAIOS_ONBOARDING_JOIN_CONFIGURATION_END\nb"), /holds the line AIOS_ONBOARDING_JOIN_CONFIGURATION_END/);
    });
});

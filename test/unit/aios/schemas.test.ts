import * as assert from "node:assert/strict";
import { AiosError, parseClusterDocument, parseNodeDocument, RegistryClient } from "../../../components/aios";
import { reply, startServer } from "./helpers/servers";
import { loadClusterExample, loadVectors } from "./helpers/vectors";

describe("cluster document schema", function () {
    it("reads the docs' example cluster document, including its `status`, from where the onboarding looks", function () {
        const parsed = parseClusterDocument(loadClusterExample());
        assert.ok(parsed.ok, parsed.ok ? "" : parsed.problems.join("; "));
        const doc = parsed.value;
        assert.equal(doc.status, "live");
        assert.equal(doc.config?.allowExternalNodes, true);
        assert.equal(doc.config?.publicHostname, "cluster-west-vision-001.company.net");
        assert.equal(doc.clusterMetadata?.additionalInfo?.kubeadmVersion, "v28.0.1");
        assert.equal(doc.clusterMetadata?.additionalInfo?.joinCommand, "");
        assert.deepEqual(doc.nodes?.nodeData?.map((e) => e.id), ["node-1", "node-2"]);
    });

    it("accepts a document with only an id: status, config, clusterMetadata and nodes are all optional", function () {
        const parsed = parseClusterDocument({ id: "demo", _id: "66b1", __v: 0 });
        assert.deepEqual(parsed, { ok: true, value: { id: "demo" } });
    });

    it("keeps every key of the nodeData entries, so they can be written back unchanged", function () {
        const entry = { id: "n1", cluster_id: "demo", gpus: { count: 1, custom: [1] }, nodeMetadata: { rack: "r2" } };
        const parsed = parseClusterDocument({ id: "demo", nodes: { count: 1, nodeData: [entry] } });
        assert.ok(parsed.ok);
        assert.deepEqual(parsed.value.nodes?.nodeData, [entry]);
    });

    it("lists every bad path of a malformed document, each with what was expected and what was found", function () {
        const parsed = parseClusterDocument({
            id: "demo",
            nodes: { count: "two", nodeData: { id: "n1" } },
            config: { allowExternalNodes: "yes", certHash: 42, secondaryIPs: ["10.0.0.2"], urlMap: { membershipServer: null } },
            clusterMetadata: { additionalInfo: "kubeadm v1.29" },
        });
        assert.ok(!parsed.ok);
        assert.deepEqual(parsed.problems.sort(), [
            'clusterMetadata.additionalInfo: expected object, found string "kubeadm v1.29"',
            "config.allowExternalNodes: expected boolean, found string \"yes\"",
            "config.certHash: expected string, found number 42",
            "config.secondaryIPs: expected object, found array of 1",
            "config.urlMap.membershipServer: expected string, found null",
            "nodes.count: expected number, found string \"two\"",
            "nodes.nodeData: expected array, found object",
        ]);
    });

    it("names array elements by index, and a document that is not an object as a whole", function () {
        const bad = parseClusterDocument({ id: "demo", nodes: { nodeData: [{ id: "a" }, { id: 7 }, "n3"] } });
        assert.ok(!bad.ok);
        assert.deepEqual(bad.problems, ["nodes.nodeData[1].id: expected string, found number 7", 'nodes.nodeData[2]: expected object, found string "n3"']);
        const notObject = parseClusterDocument([]);
        assert.ok(!notObject.ok);
        assert.deepEqual(notObject.problems, ["(document): expected object, found array of 0"]);
    });

    it("makes the registry client fail with ONE error that names the cluster, the registry and every bad path", async function () {
        const server = await startServer((_req, res) =>
            reply(res, 200, { id: "demo", config: { allowExternalNodes: "yes" }, nodes: { nodeData: {} }, clusterMetadata: { additionalInfo: "x" } }),
        );
        try {
            const e = await new RegistryClient(server.url).getCluster("demo").then(
                () => assert.fail("a malformed document must not parse"),
                (err: unknown) => err as AiosError,
            );
            assert.ok(AiosError.isInstance(e));
            assert.equal(e.kind, "malformed");
            assert.ok(
                e.message.startsWith(
                    `cluster "demo" from registry ${server.url}/clusters/demo: ` +
                        "nodes.nodeData: expected array, found object; " +
                        'config.allowExternalNodes: expected boolean, found string "yes"; ' +
                        'clusterMetadata.additionalInfo: expected object, found string "x"',
                ),
                e.message,
            );
        } finally {
            await server.close();
        }
    });
});

describe("node document schema", function () {
    const good = () => ({
        id: "gpu-node-7",
        gpus: { count: 1, memory: 24576, gpus: [{ modelName: "NVIDIA L4", memory: 24576 }], modelNames: ["NVIDIA L4"], features: ["fp16"] },
        vcpus: { count: 16 },
        memory: 64000,
        swap: 0,
        storage: { disks: 1, size: 500000 },
        network: { interfaces: 2, txBandwidth: 0, rxBandwidth: 0 },
        tags: ["gpu"],
        nodeMetadata: { rack: "r2" },
    });

    it("accepts every node document the recorded vectors sent to join-node and the dry runs", function () {
        const vectors = loadVectors();
        for (const i of [12, 15, 19, 22, 24, 30]) {
            const json = vectors[i].request?.json as { node_data?: unknown };
            assert.doesNotThrow(() => parseNodeDocument(json.node_data ?? json), `vector ${i}`);
        }
    });

    it("rejects null arrays (the Go client's CPU-only bug, contract §9.2), fractional MB and an uppercase id, all in one error", function () {
        const node = { ...good(), id: "GPU_Node", memory: 64000.5, tags: null, gpus: { count: 0, memory: 0, gpus: null, modelNames: null, features: null } };
        assert.throws(
            () => parseNodeDocument(node),
            (e: Error) => {
                for (const part of [
                    'invalid node document for "GPU_Node"',
                    'id: must be a lowercase DNS-1123 name (it becomes the Kubernetes node name), found string "GPU_Node"',
                    "gpus.gpus: expected array, found null",
                    "gpus.modelNames: expected array, found null",
                    "gpus.features: expected array, found null",
                    "memory: expected integer, found number 64000.5",
                    "tags: expected array, found null",
                ]) {
                    assert.ok(e.message.includes(part), `${JSON.stringify(part)} missing from: ${e.message}`);
                }
                return true;
            },
        );
    });

    it("refuses the recorded node without hardware sections (vector 8) before anything is sent", function () {
        const json = loadVectors()[8].request?.json as { body: { spec: { values: { nodeData: unknown } } } };
        assert.throws(() => parseNodeDocument(json.body.spec.values.nodeData), /gpus: expected object, found nothing; vcpus: expected object, found nothing; memory: expected number/);
    });

    it("accepts a complete, valid node document unchanged", function () {
        assert.deepEqual(parseNodeDocument(good()), good());
    });
});

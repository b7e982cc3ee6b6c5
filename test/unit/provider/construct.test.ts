import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { onboardedNodeArgs } from "../../../provider/construct";

const plain = {
    cluster: { clusterId: "aios-demo", registryUrl: "http://r", gatewayUrl: "http://g", kubeconfig: pulumi.secret("kubeconfig") },
    nodeId: "worker-1",
    host: "10.0.0.5",
    hostKey: "ssh-ed25519 AAAA",
    privateKey: pulumi.secret("key"),
};

describe("OnboardedNode through construct", () => {
    it("takes the SSH key and the kubeconfig as secrets or outputs", () => {
        assert.equal(onboardedNodeArgs("worker-1", plain).nodeId, "worker-1");
    });

    it("takes a missing SSH key and kubeconfig from the serving provider, as secrets", async () => {
        const { privateKey: _key, ...noKey } = plain;
        const inputs = { ...noKey, cluster: { clusterId: "aios-demo", registryUrl: "http://r", gatewayUrl: "http://g" } };
        const args = onboardedNodeArgs("worker-1", inputs, { kubeconfig: "provider kubeconfig", privateKey: "provider key" });
        for (const o of [args.privateKey, args.cluster.kubeconfig]) {
            assert.ok(pulumi.Output.isInstance(o));
            assert.equal(await pulumi.isSecret(pulumi.output(o)), true);
        }
    });

    it("says which provider setting is missing when neither the node nor its provider gives the SSH key or the kubeconfig", () => {
        const { privateKey: _key, ...noKey } = plain;
        const inputs = { ...noKey, cluster: { clusterId: "aios-demo", registryUrl: "http://r", gatewayUrl: "http://g" } };
        assert.throws(
            () => onboardedNodeArgs("worker-1", inputs, {}),
            (e: Error) => {
                assert.match(e.message, /- cluster\.kubeconfig: is missing, and the aios-onboarding provider serving this component has no kubeconfig; fix: set kubeconfig on the provider given in options\.providers/);
                assert.match(e.message, /- privateKey: is missing, and the aios-onboarding provider serving this component has no privateKey; fix: set privateKey on the provider/);
                return true;
            },
        );
    });

    it("tells a YAML user whose cluster became a secret as a whole to leave the kubeconfig out of it", () => {
        const inputs = { ...plain, cluster: pulumi.secret(plain.cluster) };
        assert.throws(
            () => onboardedNodeArgs("worker-1", inputs, {}),
            /- cluster: is a secret as a whole \(Pulumi YAML makes an object secret when one of its fields is.*fix: leave kubeconfig out of cluster/,
        );
    });

    it("refuses any other input given as a secret or another resource's output, in one error naming each", () => {
        const inputs = { ...plain, host: pulumi.output("10.0.0.5"), cluster: { ...plain.cluster, clusterId: pulumi.secret("aios-demo") }, labels: { a: pulumi.output("b") } };
        assert.throws(
            () => onboardedNodeArgs("worker-1", inputs),
            (e: Error) => {
                assert.match(e.message, /invalid arguments for OnboardedNode "worker-1": 3 problems/);
                for (const p of ["cluster.clusterId", "host", "labels.a"]) assert.match(e.message, new RegExp(`- ${p.replace(".", "\\.")}: is a secret or another resource's output; only privateKey and cluster\\.kubeconfig may be; fix: give it as a literal`));
                return true;
            },
        );
    });
});

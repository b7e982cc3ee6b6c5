import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { created, installMocks, unwrap } from "../../helpers/mocks";
import { healthyObservation } from "../../helpers/observations";
import { parseStackConfig, RawStackConfig } from "../../../components/config/stackConfig";

type FleetMod = typeof import("../../../components/fleet/fleet");
type ObserveMod = typeof import("../../../components/prechecks/observe");

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMx2KjnQ3i4Sr7mE3z0Gv3gpQH6wL8Lx0cC8i0Y1b0k1";

describe("a cluster stack", () => {
    let fleet: FleetMod;
    let observeMod: ObserveMod;
    before(async () => {
        await installMocks();
        fleet = await import("../../../components/fleet/fleet");
        observeMod = await import("../../../components/prechecks/observe");
        observeMod.useObserverForTesting(async () => healthyObservation());
    });
    after(() => observeMod.useObserverForTesting(undefined));
    beforeEach(() => (created.length = 0));

    function stack(machines: RawStackConfig["machines"]) {
        const config = parseStackConfig(
            {
                clusterId: "aios-demo",
                registryUrl: "http://127.0.0.1:30101",
                protocol: "gateway",
                gatewayUrl: "http://127.0.0.1:30600",
                machines,
                hasKubeconfig: true,
                hasSshPrivateKey: true,
            },
            "aios-onboarding",
            "unit",
        );
        return { config, kubeconfig: pulumi.secret("apiVersion: v1\nkind: Config"), sshPrivateKey: pulumi.secret("key") };
    }
    const machine = (nodeId: string, host: string, over: Record<string, unknown> = {}) => ({ nodeId, host, hostKey: HOST_KEY, ...over });
    const providers = () => created.filter((r) => r.type === "pulumi:providers:kubernetes").map((r) => r.name);
    const patches = async (n: number) => {
        for (let i = 0; i < 200 && created.filter((r) => r.type === "kubernetes:core/v1:NodePatch").length < n; i++) await new Promise((r) => setTimeout(r, 10));
        return created.filter((r) => r.type === "kubernetes:core/v1:NodePatch").map((r) => r.name).sort();
    };

    it("patches every machine's labels through one shared kubernetes provider", async () => {
        const nodes = fleet.onboardCluster(
            stack([
                machine("fl-1", "10.0.0.5", { labels: { "example.com/rack": "r1" } }),
                machine("fl-2", "10.0.0.6", { taints: [{ key: "example.com/edge", effect: "NoSchedule" }] }),
                machine("fl-3", "10.0.0.7"),
            ]),
        );
        await Promise.all(Object.values(nodes).map((n) => unwrap(n.nodeName)));
        assert.deepEqual(await patches(2), ["fl-1-labels", "fl-2-labels"]);
        assert.deepEqual(providers(), ["kubernetes"]);
        const provider = created.find((r) => r.type === "pulumi:providers:kubernetes")!;
        assert.equal(provider.inputs.clusterIdentifier, "aios-demo");
    });

    it("starts no kubernetes provider when no machine declares labels or taints", async () => {
        const nodes = fleet.onboardCluster(stack([machine("fl-4", "10.0.0.5")]));
        await Promise.all(Object.values(nodes).map((n) => unwrap(n.nodeName)));
        assert.deepEqual(providers(), []);
    });
});

import * as assert from "node:assert/strict";
import { CheckSettings, evaluatePrechecks, failureMessage } from "../../../components/prechecks/checks";
import { buildInventory } from "../../../components/machine/inventory";
import { healthyObservation } from "../../helpers/observations";

const base: CheckSettings = { nodeId: "worker-1", clusterId: "aios-demo", registryUrl: "http://r", protocol: "gateway", external: false, host: "10.0.0.5" };
const status = (s: CheckSettings, obs = healthyObservation()) => Object.fromEntries(evaluatePrechecks(s, obs).map((r) => [r.check, r]));

describe("prechecks", () => {
    it("pass on a healthy machine that is not joined", () => {
        const rs = evaluatePrechecks({ ...base, external: true, vpn: { interface: "wg0", cidr: "10.8.0.0/24" } }, healthyObservation());
        assert.deepEqual(rs.filter((r) => r.status !== "passed"), []);
        assert.equal(failureMessage("worker-1", "10.0.0.5", rs), undefined);
    });

    it("give a fix only to failed checks and warnings, so a passed machine's stored table holds none", () => {
        const passed = evaluatePrechecks({ ...base, external: true }, healthyObservation());
        assert.deepEqual(passed.filter((r) => "fix" in r).map((r) => r.check), []);
        const r = status(base, healthyObservation({}, { kubeadm: "v1.35.2\nexit=0" })).kubeadm;
        assert.equal(r.fix, "install kubeadm 1.36.x on the machine");
    });

    it("fail kubeadm on a minor mismatch and say what was compared", () => {
        const r = status(base, healthyObservation({}, { kubeadm: "v1.35.2\nexit=0" })).kubeadm;
        assert.equal(r.status, "failed");
        assert.match(r.observed, /v1\.35\.2 \(compared 1\.35 with 1\.36\)/);
    });

    it("read the AIOS docs' malformed v28.0.1 as 1.28 and say so", () => {
        const obs = healthyObservation();
        obs.cluster!.clusterMetadata!.additionalInfo!.kubeadmVersion = "v28.0.1";
        const r = status(base, obs).kubeadm;
        assert.equal(r.status, "failed");
        assert.match(r.expected, /kubeadm 1\.28\.x .*"v28\.0\.1".*read as 1\.28/);
    });

    it("fall back to the API server version when the registry has none", () => {
        const obs = healthyObservation();
        delete obs.cluster!.clusterMetadata!.additionalInfo!.kubeadmVersion;
        const r = status(base, obs).kubeadm;
        assert.equal(r.status, "passed");
        assert.match(r.expected, /the API server's \/version "v1\.36\.3"/);
    });

    it("fail when kubeadm is missing", () => {
        assert.match(status(base, healthyObservation({}, { kubeadm: "missing" })).kubeadm.observed, /not installed/);
    });

    it("fail an external machine on a cluster that forbids external nodes", () => {
        const obs = healthyObservation();
        obs.cluster!.config!.allowExternalNodes = false;
        const r = status({ ...base, external: true }, obs)["external-allowed"];
        assert.equal(r.status, "failed");
        assert.equal(r.observed, "config.allowExternalNodes = false");
    });

    it("fail static-ip when the address is not the machine's or is DHCP-assigned", () => {
        const s = { ...base, external: true, address: "203.0.113.9" };
        const missing = status(s, healthyObservation({ configuredAddresses: ["203.0.113.9"] }))["static-ip"];
        assert.equal(missing.status, "failed");
        assert.match(missing.observed, /not found; the machine has 10\.0\.0\.5 \(eth0\)/);
        const dynamic = status(base.external ? base : { ...base, external: true }, healthyObservation({}, { addr: "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global dynamic eth0" }))["static-ip"];
        assert.match(dynamic.observed, /DHCP-assigned/);
    });

    it("fail ports when 10250 (external) or a NodePort is taken", () => {
        const tcp = "   0: 00000000:280A 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n   1: 00000000:7D00 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 2 1";
        const ext = status({ ...base, external: true }, healthyObservation({}, { tcp })).ports;
        assert.equal(ext.status, "failed");
        assert.match(ext.observed, /10250\/tcp.*32000\/tcp/);
        const internal = status(base, healthyObservation({}, { tcp: "   0: 00000000:280A 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1" })).ports;
        assert.equal(internal.status, "passed", "an internal machine only needs the NodePort range");
    });

    it("fail vpn when the interface is missing or outside the CIDR", () => {
        const s = { ...base, vpn: { interface: "wg0", cidr: "10.9.0.0/24" } };
        assert.match(status(s).vpn.observed, /wg0 has 10\.8\.0\.5/);
        const gone = status({ ...base, vpn: { interface: "tailscale0" } }).vpn;
        assert.match(gone.observed, /no interface tailscale0/);
    });

    it("treat a machine joined as this node of this cluster as done and skip pre-join checks", () => {
        const joined = healthyObservation({}, { kubelet: "present\nhttps://10.0.0.1:6443", marker: '{"clusterId":"aios-demo","nodeId":"worker-1","endpoint":"10.0.0.1:6443"}', tcp: "   0: 00000000:280A 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1", kubeadm: "v1.35.0\nexit=0" });
        const rs = status({ ...base, external: true }, joined);
        assert.equal(rs.membership.status, "passed");
        assert.equal(rs.ports.status, "skipped");
        assert.equal(rs.kubeadm.status, "skipped");
    });

    it("pass a machine the cluster shows onboarded without its machine facts, and say it was not probed", () => {
        const entry = buildInventory("worker-1", healthyObservation().facts!, [], {});
        const rs = evaluatePrechecks({ ...base, external: true, vpn: { interface: "wg0" } }, healthyObservation({ facts: undefined, onboarded: { address: "10.0.0.5", entry } }));
        assert.equal(failureMessage("worker-1", "10.0.0.5", rs), undefined);
        const by = Object.fromEntries(rs.map((r) => [r.check, r]));
        assert.equal(by.membership.status, "passed");
        assert.match(by.membership.observed, /joined to aios-demo as worker-1 \(Node Ready at 10\.0\.0\.5, labelled nodeID=worker-1\)/);
        for (const check of ["ssh", "static-ip", "ports", "vpn", "kubeadm", "gpu-driver"]) {
            assert.equal(by[check].status, "skipped", check);
            assert.match(by[check].observed, /already onboarded .*not probed/, check);
        }
        // Checks that read the cluster still run.
        assert.equal(by.registry.status, "passed");
        assert.equal(by["external-allowed"].status, "passed");
    });

    it("adopt a machine joined to this cluster outside this stack: its kubelet trusts the cluster's CA and the Node of its name is at its address", () => {
        const ca = "b".repeat(64);
        const node = { metadata: { name: "worker-1" }, status: { addresses: [{ type: "InternalIP", address: "10.0.0.5" }] } };
        const byHand = healthyObservation({ clusterCaSha256: ca, kubeNode: node }, { kubelet: `present\nhttps://10.0.0.1:6443\nca-sha256 ${ca}`, tcp: "   0: 00000000:280A 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1" });
        const rs = status({ ...base, external: true }, byHand);
        assert.equal(rs.membership.status, "passed");
        assert.match(rs.membership.observed, /joined to aios-demo as worker-1 outside this stack \(its kubelet trusts the cluster's CA; Node worker-1 at 10\.0\.0\.5\): adopted, no kubeadm join/);
        assert.equal(rs.ports.status, "skipped", "the kubelet's own ports are no reason to refuse it");
        // Another CA, another machine holding the name, or no Node at all: refused as before.
        for (const [what, obs] of [
            ["another cluster's CA", healthyObservation({ clusterCaSha256: ca, kubeNode: node }, { kubelet: `present\nhttps://10.9.9.9:6443\nca-sha256 ${"c".repeat(64)}` })],
            ["the name held by another machine", healthyObservation({ clusterCaSha256: ca, kubeNode: { ...node, status: { addresses: [{ type: "InternalIP", address: "10.0.0.99" }] } } }, { kubelet: `present\nhttps://10.0.0.1:6443\nca-sha256 ${ca}` })],
            ["no Node of its name", healthyObservation({ clusterCaSha256: ca }, { kubelet: `present\nhttps://10.0.0.1:6443\nca-sha256 ${ca}` })],
        ] as const) {
            const m = status(base, obs).membership;
            assert.equal(m.status, "failed", what);
            assert.match(m.observed, /kubelet\.conf exists/, what);
        }
    });

    it("fail membership when the machine belongs to another cluster or the name is taken", () => {
        const other = status(base, healthyObservation({}, { kubelet: "present\nhttps://other:6443" })).membership;
        assert.equal(other.status, "failed");
        assert.match(other.observed, /kubelet\.conf exists pointing at https:\/\/other:6443/);
        const taken = status(base, healthyObservation({ kubeNode: { metadata: { name: "worker-1" }, status: { addresses: [{ type: "InternalIP", address: "10.0.0.99" }] } } })).membership;
        assert.match(taken.observed, /a different machine already holds the name/);
        const elsewhere = status(base, healthyObservation({ otherCluster: "cluster-b" })).membership;
        assert.match(elsewhere.observed, /registered in AIOS cluster cluster-b/);
    });

    it("report an unreachable machine once, naming the SSH failure, not as every check", () => {
        const rs = evaluatePrechecks(base, healthyObservation({ facts: undefined, sshError: "root@10.0.0.5:22: the SSH port cannot be reached (Connection refused)" }));
        const msg = failureMessage("worker-1", "10.0.0.5", rs)!;
        assert.match(msg, /failed 1 precheck;/);
        assert.match(msg, /ssh: expected SSH to 10\.0\.0\.5 with the pinned host key; found root@10\.0\.0\.5:22: the SSH port cannot be reached/);
        assert.match(msg, /not evaluated until then: membership, ports, kubeadm, gpu-driver/);
    });

    it("let an unreachable machine through when forceRemove is set (it is being removed)", () => {
        const rs = evaluatePrechecks({ ...base, forceRemove: true }, healthyObservation({ facts: undefined, sshError: "root@10.0.0.5:22: the SSH port cannot be reached (Connection refused)" }));
        assert.equal(failureMessage("worker-1", "10.0.0.5", rs), undefined);
        const ssh = rs.find((r) => r.check === "ssh")!;
        assert.equal(ssh.status, "skipped");
        assert.match(ssh.observed, /cannot be reached.*not blocking: forceRemove is set/);
        assert.deepEqual(rs.filter((r) => r.status === "skipped").map((r) => r.check), ["ssh", "membership", "ports", "kubeadm", "gpu-driver"]);
        // A reachable machine with forceRemove is still checked.
        assert.match(failureMessage("worker-1", "10.0.0.5", evaluatePrechecks({ ...base, forceRemove: true }, healthyObservation({}, { kubeadm: "v1.35.0\nexit=0" })))!, /kubeadm: expected/);
    });

    it("fail the registry check with the registry's error", () => {
        const r = status(base, healthyObservation({ cluster: undefined, clusterError: "registry http://r unreachable (ECONNREFUSED)" })).registry;
        assert.equal(r.status, "failed");
        assert.match(r.observed, /ECONNREFUSED/);
    });

    it("need a static join command for the parser protocol and never show it", () => {
        const ok = status({ ...base, protocol: "parser" })["join-command"];
        assert.equal(ok.observed, "present (secret, not shown)");
        const obs = healthyObservation();
        obs.cluster!.clusterMetadata!.additionalInfo!.joinCommand = "";
        assert.equal(status({ ...base, protocol: "parser" }, obs)["join-command"].observed, "empty");
    });

    it("report the static join token's expiry: a warning when it never expires, a failure when it expired or is not in the cluster", () => {
        const parser = { ...base, protocol: "parser" as const };
        const withToken = (staticToken: NonNullable<ReturnType<typeof healthyObservation>["staticToken"]>) => ({ ...healthyObservation(), staticToken });
        const never = status(parser, withToken({ present: true }))["join-command"];
        assert.equal(never.status, "warning");
        assert.match(never.observed, /its token never expires/);
        assert.match(never.fix ?? "", /joinToken: mint/);
        const later = new Date(Date.now() + 3_600_000).toISOString();
        assert.deepEqual(status(parser, withToken({ present: true, expiresAt: later }))["join-command"], { check: "join-command", expected: "a kubeadm join command in clusterMetadata.additionalInfo.joinCommand", observed: `present (secret, not shown); its token expires at ${later}`, status: "passed" });
        assert.equal(status(parser, withToken({ present: true, expiresAt: "2020-01-01T00:00:00Z" }))["join-command"].status, "failed");
        assert.equal(status(parser, withToken({ present: false }))["join-command"].status, "failed");
        // With a token minted per machine, the static token's expiry does not matter.
        const minted = status({ ...parser, joinToken: "mint", joinTokenMinutes: 10 }, withToken({ present: true }))["join-command"];
        assert.equal(minted.status, "passed");
        assert.match(minted.observed, /a token minted for it, expiring 10 min after minting and deleted after the join/);
        // A warning does not stop the machine.
        assert.equal(failureMessage("worker-1", "10.0.0.5", evaluatePrechecks(parser, withToken({ present: true }))), undefined);
    });

    it("fail gpu-driver when nvidia-smi is installed but broken", () => {
        const r = status(base, healthyObservation({}, { gpus: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\nexit=9" }))["gpu-driver"];
        assert.equal(r.status, "failed");
    });
});

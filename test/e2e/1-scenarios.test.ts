// The acceptance scenarios of the product brief (../shared/BRIEF.md, "Acceptance scenarios" 1–7 and 9; 8, the
// secrets audit, is 3-secrets.test.ts), each run with the real engine against the local world and checked in
// the world itself: the API server's Nodes, the AIOS registry document and state, the machines' files.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import {
    anotherCheckout,
    aios,
    assertMentions,
    assertOnboarded,
    assertUntouched,
    changedResources,
    crashReport,
    resourcesWithErrors,
    createBootstrapToken,
    E2EStack,
    errorDiagnostics,
    excerpt,
    assertNoSteps,
    getNode,
    kube,
    KUBELET_CONF,
    listNodes,
    machine,
    machineFault,
    machineFile,
    machineJoinState,
    newStack,
    nodeReady,
    registerSuiteHooks,
    resetWorld,
    samplePs,
    samplePsHost,
    ssh,
    world,
    ok,
    PWNED,
    repoRoot,
} from "./harness";
import type { KubeNode } from "../../components/kube/client";

registerSuiteHooks();

const MIN = 60_000;

/** Gateway, parser and membership calls so far: what "nothing was registered" is checked against. */
async function aiosWrites(): Promise<Record<string, number>> {
    const c = (await aios.state()).counters;
    return Object.fromEntries(Object.entries(c).filter(([k]) => /^(gateway|parser|membership) /.test(k) || /^registry (PUT|POST|DELETE) /.test(k)).filter(([k]) => !/query/.test(k)));
}

/** The machine's join marker time (changes only when it joins again). */
async function joinedAt(m: string): Promise<string | undefined> {
    return (await machineJoinState(m)).marker?.joinedAt;
}

describe("acceptance scenarios (BRIEF.md)", function () {
    this.timeout(10 * MIN);

    // Scenarios 1, 2 and 7 share one stack: it is onboarded, previewed, has a machine removed, and is destroyed.
    let main: E2EStack | undefined;
    const mainSpec = { machines: [{ m: "m1", external: true }, "m2", "m3"] };

    before(async function () {
        this.timeout(10 * MIN);
        await resetWorld();
    });

    it("1. a fresh stack of 3 machines (one external, one with GPUs): preview lists them, up onboards all, Nodes Ready and labelled by the controller, outputs show them", async function () {
        main = await newStack("scenario1", mainSpec);
        const preview = await main.preview({ diff: true });
        ok(preview.ok, `preview failed:\n${excerpt(preview.text)}`);
        for (const id of ["worker-1", "worker-2", "worker-3"]) {
            for (const child of ["registration", "join", "verify"]) {
                ok(
                    changedResources(preview).some((c) => c.op === "create" && c.urn.endsWith(`::${id}-${child}`)),
                    `preview does not list ${id}-${child} as a create:\n${excerpt(preview.text)}`,
                );
            }
            assertMentions(preview.text, [id]);
        }
        // Preview changed nothing.
        assert.deepEqual(await listNodes(), []);
        assert.deepEqual(await aios.registryNodes(), []);
        assert.deepEqual(await aiosWrites(), {});

        // Sample the process lists while the joins run (the secrets audit reads them).
        const samplers = ["m1", "m2", "m3"].map((m) => samplePs(m));
        const host = samplePsHost();
        const up = await main.up();
        const seen = (await Promise.all(samplers.map((s) => s.stop()))).flat();
        await host.stop();
        ok(up.ok, `up failed:\n${excerpt(up.text)}`);
        ok(seen.some((l) => /kubeadm join/.test(l)), "no ps sample caught a kubeadm join");

        const reg = await aios.registryNodes();
        for (const m of ["m1", "m2", "m3"]) {
            const { nodeId, host: ip } = machine(m);
            const node = await assertOnboarded(nodeId);
            ok(node.status?.addresses?.some((a) => a.address === ip), `Node ${nodeId} lacks address ${ip}`);
            assert.equal(reg.filter((n) => n.id === nodeId).length, 1, `registry entries for ${nodeId}: ${JSON.stringify(reg.map((n) => n.id))}`);
            const st = await machineJoinState(m);
            ok(st.kubeletConf && st.kubeletRunning, `${m} is not joined: ${JSON.stringify(st)}`);
            assert.equal(st.marker?.clusterId, world().aios.clusterId);
        }
        // The GPU machine's inventory reached AIOS; the others have none.
        const gpuEntry = reg.find((n) => n.id === "worker-2")!;
        assert.equal(gpuEntry.gpus?.count, 2, `worker-2 gpus: ${JSON.stringify(gpuEntry.gpus)}`);
        assert.deepEqual(gpuEntry.gpus?.modelNames, ["NVIDIA A100-SXM4-40GB"]);
        assert.equal(gpuEntry.gpus?.memory, 81920);
        assert.equal(reg.find((n) => n.id === "worker-1")!.gpus?.count, 0);
        // The external machine went through the external checks.
        // Each machine's prechecks are one resource whose inputs are the table of checks (its outputs, the table's digest).
        const res = await main.resources();
        const table = (id: string) => {
            const r = res.find((x) => x.urn.endsWith(`::${id}-prechecks`) && x.type === "aios-onboarding:index:Prechecks");
            ok(r, `no ${id}-prechecks resource`);
            ok(typeof r.outputs?.digest === "string", `${id}-prechecks outputs: ${JSON.stringify(r.outputs)}`);
            return ((r.inputs as { checks?: { check: string; status: string; expected: string; observed: string }[] } | undefined)?.checks ?? []);
        };
        for (const check of ["external-allowed", "static-ip"]) {
            const row = table("worker-1").find((c) => c.check === check);
            assert.equal(row?.status, "passed", `worker-1-prechecks ${check}: ${JSON.stringify(row)}`);
        }
        ok(!table("worker-2").some((c) => c.check === "external-allowed"), "worker-2 is not external but has the external check");
        ok(table("worker-3").every((c) => c.status === "passed" && c.expected && c.observed), `worker-3-prechecks: ${JSON.stringify(table("worker-3"))}`);
        // The preview (--diff) listed each machine's prechecks with what they expected and found.
        assertMentions(preview.text, [/worker-1-prechecks/, /check\s*: "static-ip"/, /expected\s*: "not a member of any cluster/, /observed\s*: "not joined to any cluster"/]);

        // Stack outputs.
        const onboarded = up.outputs.onboarded as { nodeId: string; nodeName: string; nodeID: string; kubeletVersion: string; addresses: string[] }[];
        assert.deepEqual(onboarded.map((o) => o.nodeId).sort(), ["worker-1", "worker-2", "worker-3"]);
        for (const o of onboarded) {
            assert.equal(o.nodeName, o.nodeId);
            assert.equal(o.nodeID, o.nodeId);
            assert.equal(o.kubeletVersion, machine(`m${o.nodeId.slice(-1)}`).kubeadmVersion);
            ok(o.addresses.includes(`InternalIP=${machine(`m${o.nodeId.slice(-1)}`).host}`), JSON.stringify(o.addresses));
        }
    });

    it("2. preview --expect-no-changes right after up, and again after the registry's static join token rotated (gateway and parser)", async function () {
        ok(main, "scenario 1 did not create the stack");
        const clean = await main.preview({ expectNoChanges: true });
        ok(clean.ok, `preview --expect-no-changes after up failed:\n${excerpt(clean.text)}`);
        assert.deepEqual(changedResources(clean), []);

        // A parser-protocol stack (it joins with the registry's static join command) on m4, beside the gateway one.
        await aios.faults({ parser: { addNode: "intended" } });
        const parser = await newStack("scenario2-parser", { protocol: "parser", machines: ["m4"] });
        try {
            const up = await parser.up();
            ok(up.ok, `parser up failed:\n${excerpt(up.text)}`);
            await assertOnboarded("worker-4");
            const p1 = await parser.preview({ expectNoChanges: true });
            ok(p1.ok, `parser preview --expect-no-changes failed:\n${excerpt(p1.text)}`);

            const before = Object.fromEntries(await Promise.all(["m1", "m2", "m3", "m4"].map(async (m) => [m, await joinedAt(m)] as const)));
            // Rotate: a new bootstrap token in the API server, the registry's joinCommand now names it.
            const oldCommand = (await aios.cluster()).clusterMetadata?.additionalInfo?.joinCommand ?? "";
            const token = await createBootstrapToken();
            const command = `kubeadm join ${world().kubernetes.server.replace(/^https:\/\//, "")} --token ${token} --discovery-token-ca-cert-hash ${world().kubernetes.caCertHash}`;
            await aios.putCluster({ $set: { "clusterMetadata.additionalInfo.joinCommand": command } });
            const readBack = (await aios.getCluster()).body.clusterMetadata?.additionalInfo?.joinCommand;
            assert.equal(readBack, command, "the registry did not take the rotated joinCommand");
            assert.notEqual(readBack, oldCommand);

            const g = await main.preview({ expectNoChanges: true });
            ok(g.ok, `gateway preview --expect-no-changes after the rotation failed:\n${excerpt(g.text)}`);
            const p2 = await parser.preview({ expectNoChanges: true });
            ok(p2.ok, `parser preview --expect-no-changes after the rotation failed:\n${excerpt(p2.text)}`);
            // Nothing re-joined.
            for (const m of ["m1", "m2", "m3", "m4"]) assert.equal(await joinedAt(m), before[m], `${m} joined again`);

            // A machine added now joins with the rotated token (its kubelet's certificate request was made with it),
            // and only that machine changes.
            await parser.configure({ protocol: "parser", machines: ["m4", "m5"] });
            const add = await parser.up();
            ok(add.ok, `parser up of m5 failed:\n${excerpt(add.text)}`);
            const changed = changedResources(add);
            ok(changed.length > 0 && changed.every((c) => c.urn.includes("worker-5")), `not only worker-5 changed: ${JSON.stringify(changed)}`);
            await assertOnboarded("worker-5");
            const csrs = await kube().request<{ items?: { spec: { username?: string; request?: string } }[] }>("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests");
            const requesters = (csrs.body.items ?? []).map((c) => c.spec.username);
            ok(requesters.includes(`system:bootstrap:${token.split(".")[0]}`), `m5 did not join with the rotated token: certificate requests by ${JSON.stringify(requesters)}`);
            assert.equal(await joinedAt("m4"), before.m4, "m4 joined again");

            // Parser offboarding removes the registry entries.
            const down = await parser.destroy();
            ok(down.ok, `parser destroy failed:\n${excerpt(down.text)}`);
            await assertUntouched("m4");
            await assertUntouched("m5");
        } finally {
            await parser.remove();
        }
    });

    it("2b. the same stack previewed from another checkout (another folder, its own node_modules and Node binary) shows no changes; no resource's inputs or outputs hold a path of this machine", async function () {
        ok(main, "scenario 1 did not create the stack");
        const other = await anotherCheckout();
        const there = await main.previewFrom(other, { expectNoChanges: true });
        ok(there.ok, `preview --expect-no-changes from ${other.root} failed:\n${excerpt(there.text)}`);
        assert.deepEqual(changedResources(there), []);
        // Inputs and outputs; the engine's own stackTrace and sourcePosition of each resource are relative to the project.
        const values = JSON.stringify((await main.resources()).map((r) => ({ urn: r.urn, inputs: r.inputs, outputs: r.outputs })));
        for (const local of [repoRoot, process.execPath, os.homedir()]) ok(!values.includes(local), `a resource's inputs or outputs hold the machine-local path ${local}`);
    });

    it("declared labels and taints: a NodePatch after verification sets them, a config change changes only them, removing them removes them; nodeID and others' labels stay", async function () {
        ok(main, "scenario 1 did not create the stack");
        const node = async () => {
            const n = await getNode("worker-2");
            ok(n, "worker-2 is gone");
            return n as KubeNode & { metadata: { managedFields?: { manager: string; fieldsV1?: unknown }[]; annotations?: Record<string, string> } };
        };
        // Another writer's label, which the patch must never touch.
        const other = await kube().request<{ message?: string }>("PATCH", "/api/v1/nodes/worker-2?fieldManager=e2e-other", { metadata: { labels: { "e2e.example.com/owner": "someone-else" } } }, "application/merge-patch+json");
        assert.equal(other.status, 200, `labelling worker-2 as another writer: ${other.body?.message}`);
        const gpuTaint = { key: "e2e.example.com/gpu", value: "a100", effect: "NoSchedule" };
        const spec = (labels: Record<string, string> | undefined, taints: typeof gpuTaint[] | undefined) => ({
            machines: [{ m: "m1", external: true }, { m: "m2", labels, taints }, "m3"],
        });

        await main.configure(spec({ "e2e.example.com/rack": "r1", "e2e.example.com/tier": "gpu" }, [gpuTaint]));
        const preview = await main.preview();
        ok(preview.ok, `preview with labels failed:\n${excerpt(preview.text)}`);
        const planned = changedResources(preview);
        ok(planned.some((c) => c.op === "create" && c.urn.endsWith("::worker-2-labels")), `preview does not create worker-2-labels: ${JSON.stringify(planned)}`);
        ok(planned.every((c) => /::(worker-2-labels|kubernetes)$/.test(c.urn)), `preview changes more than the labels: ${JSON.stringify(planned)}`);
        const up = await main.up();
        ok(up.ok, `up with labels failed:\n${excerpt(up.text)}`);
        let n = await node();
        assert.equal(n.metadata.labels?.["e2e.example.com/rack"], "r1");
        assert.equal(n.metadata.labels?.["e2e.example.com/tier"], "gpu");
        assert.equal(n.metadata.labels?.nodeID, "worker-2", "the controller's label is gone");
        assert.equal(n.metadata.labels?.["e2e.example.com/owner"], "someone-else");
        assert.deepEqual(n.spec?.taints, [gpuTaint]);
        ok(n.metadata.managedFields?.some((f) => f.manager === "aios-onboarding-worker-2"), `no field manager aios-onboarding-worker-2: ${JSON.stringify(n.metadata.managedFields?.map((f) => f.manager))}`);
        const res = await main.resources();
        ok(res.some((r) => r.type === "kubernetes:core/v1:NodePatch" && r.urn.endsWith("::worker-2-labels")), "no NodePatch worker-2-labels in the state");
        assert.equal(res.filter((r) => r.type === "pulumi:providers:kubernetes").length, 1, "the stack needs one kubernetes provider");
        const clean = await main.preview({ expectNoChanges: true });
        ok(clean.ok, `preview --expect-no-changes after the labels failed:\n${excerpt(clean.text)}`);

        // A change: one label dropped, one added, the taint's value changed; only the patch changes.
        await main.configure(spec({ "e2e.example.com/tier": "gpu", "e2e.example.com/zone": "z1" }, [{ ...gpuTaint, value: "h100" }]));
        const change = await main.up();
        ok(change.ok, `up with changed labels failed:\n${excerpt(change.text)}`);
        const changed = changedResources(change);
        ok(changed.length > 0 && changed.every((c) => c.urn.endsWith("::worker-2-labels") && c.op === "update"), `not only the patch was updated: ${JSON.stringify(changed)}`);
        n = await node();
        assert.equal(n.metadata.labels?.["e2e.example.com/rack"], undefined, "a label dropped from the config stayed");
        assert.equal(n.metadata.labels?.["e2e.example.com/zone"], "z1");
        assert.equal(n.metadata.labels?.["e2e.example.com/tier"], "gpu");
        assert.equal(n.metadata.labels?.nodeID, "worker-2");
        assert.equal(n.metadata.labels?.["e2e.example.com/owner"], "someone-else");
        assert.deepEqual(n.spec?.taints, [{ ...gpuTaint, value: "h100" }]);

        // None declared any more: the patch is deleted and takes only its own labels and taints with it.
        await main.configure(mainSpec);
        const removed = await main.up();
        ok(removed.ok, `up without labels failed:\n${excerpt(removed.text)}`);
        n = await node();
        for (const k of ["e2e.example.com/zone", "e2e.example.com/tier"]) assert.equal(n.metadata.labels?.[k], undefined, `${k} stayed after the patch was deleted`);
        assert.equal(n.metadata.labels?.nodeID, "worker-2");
        assert.equal(n.metadata.labels?.["e2e.example.com/owner"], "someone-else");
        assert.deepEqual(n.spec?.taints ?? [], []);
        ok(nodeReady(n), "worker-2 is not Ready any more");
        const after = await main.resources();
        ok(!after.some((r) => r.type === "kubernetes:core/v1:NodePatch" || r.type === "pulumi:providers:kubernetes"), "the patch or its provider stayed in the state");
    });

    it("7. removing a machine from the config offboards it: cordoned and drained, deregistered, reset, Node deleted; the others untouched", async function () {
        ok(main, "scenario 1 did not create the stack");
        const before = { m1: await joinedAt("m1"), m2: await joinedAt("m2") };
        const removeCalls = (await aios.state()).counters["gateway POST /remove-node/:cid"] ?? 0;
        // Watch worker-3 until it is deleted, recording every version of it.
        const versions: (KubeNode | undefined)[] = [];
        const watched = kube().watchNode("worker-3", Date.now() + 5 * MIN, (n) => n === undefined, (n) => versions.push(n));

        await main.configure({ machines: [{ m: "m1", external: true }, "m2"] });
        const up = await main.up();
        ok(up.ok, `up without m3 failed:\n${excerpt(up.text)}`);
        ok(await watched, "worker-3 was not deleted");

        const changed = changedResources(up);
        ok(changed.length > 0 && changed.every((c) => c.urn.includes("worker-3") && c.op === "delete"), `not only worker-3 was deleted: ${JSON.stringify(changed)}`);
        // Cordoned before it was deleted (and drained: the AIOS remove-node call drains, and so does the product).
        const cordoned = versions.findIndex((n) => n?.spec?.unschedulable === true);
        ok(cordoned >= 0, "worker-3 was never cordoned before its deletion");
        ok(versions.slice(0, cordoned).every((n) => n !== undefined), "worker-3 vanished before it was cordoned");
        ok(((await aios.state()).counters["gateway POST /remove-node/:cid"] ?? 0) > removeCalls, "the gateway's remove-node was not called");
        assertMentions(up.text, [/drained worker-3/]);
        // Deregistered, reset, Node deleted.
        await assertUntouched("m3");
        assert.equal(await machineFile("m3", KUBELET_CONF), undefined);
        // The others stay onboarded and were not touched.
        for (const [m, id] of [["m1", "worker-1"], ["m2", "worker-2"]] as const) {
            await assertOnboarded(id);
            assert.equal(await joinedAt(m), before[m]);
        }
        assert.deepEqual((await aios.registryNodes()).map((n) => n.id).sort(), ["worker-1", "worker-2"]);
        const again = await main.preview({ expectNoChanges: true });
        ok(again.ok, `preview after the removal wants changes:\n${excerpt(again.text)}`);
    });

    it("7b. pulumi destroy offboards every machine of the stack", async function () {
        ok(main, "scenario 1 did not create the stack");
        const down = await main.destroy();
        ok(down.ok, `destroy failed:\n${excerpt(down.text)}`);
        for (const m of ["m1", "m2", "m3"]) await assertUntouched(m);
        assert.deepEqual(await listNodes(), []);
        assert.deepEqual(await aios.registryNodes(), []);
        await main.remove();
        main = undefined;
    });

    describe("3. a precheck failure fails preview naming machine, check, expected and found; nothing changes", function () {
        const cases: { name: string; m: string; inject: () => Promise<void>; expect: (string | RegExp)[] }[] = [
            {
                name: "wrong kubeadm version",
                m: "m2",
                inject: () => machineFault("m2", "version", "v1.35.2"),
                expect: ["machine worker-2 (10.213.1.2)", /kubeadm: expected kubeadm 1\.36\.x \(from registry clusterMetadata\.additionalInfo\.kubeadmVersion "v1\.36\.3"\); found v1\.35\.2/],
            },
            {
                name: "an external machine on a cluster that forbids external nodes",
                m: "m1",
                inject: async () => void (await aios.putCluster({ $set: { "config.allowExternalNodes": false } })),
                expect: ["machine worker-1 (10.213.1.1)", /external-allowed: expected cluster config\.allowExternalNodes = true; found config\.allowExternalNodes = false/],
            },
            {
                name: "VPN missing",
                m: "m3",
                inject: () => machineFault("m3", "vpn-missing"),
                expect: ["machine worker-3 (10.213.1.3)", /vpn: expected interface wg0 up with an address in 10\.213\.200\.0\/24; found no interface wg0/],
            },
            {
                name: "port taken",
                m: "m2",
                inject: () => machineFault("m2", "port-taken", "30080"),
                expect: ["machine worker-2 (10.213.1.2)", /ports: expected 30000-32767\/tcp\+udp not in use on the machine; found in use: 30080\/tcp/],
            },
        ];
        for (const c of cases) {
            it(`3. ${c.name}`, async function () {
                await resetWorld();
                const s = await newStack(`scenario3-${c.name}`, mainSpec);
                try {
                    await c.inject();
                    const docBefore = JSON.stringify(await aios.cluster());
                    const writesBefore = await aiosWrites();
                    const p = await s.preview();
                    ok(!p.ok, `preview passed despite: ${c.name}`);
                    assertMentions(p.text, [...c.expect, "nothing was changed"]);
                    assert.deepEqual(await aiosWrites(), writesBefore);
                    assert.equal(JSON.stringify(await aios.cluster()), docBefore);
                    for (const m of ["m1", "m2", "m3"]) await assertUntouched(m);
                    assert.deepEqual(await s.resources(), [], "preview wrote resources into the state");
                    // Only the faulty machine is reported, and only for its fault.
                    assert.equal(errorDiagnostics(p).filter((d) => /failed \d+ precheck/.test(d)).length, 1, `more than one machine reported:\n${errorDiagnostics(p).join("\n")}`);
                } finally {
                    await s.remove();
                }
            });
        }
    });

    it("4. a policy rejection shows the policy's reason; nothing joined; the registry unchanged", async function () {
        await resetWorld();
        const reason = "e2e: this cluster admits GPU nodes only";
        await aios.faults({ policies: { "cluster:aios-demo": { add_node: { deny: reason } } } });
        const docBefore = JSON.stringify(await aios.cluster());
        const tokensBefore = (await aios.state()).counters["membership POST /join-node"] ?? 0;
        const s = await newStack("scenario4", { machines: ["m1", "m3"] });
        try {
            const up = await s.up({ continueOnError: true });
            ok(!up.ok, "up passed despite the policy");
            assertMentions(up.text, [/AIOS policy rejected node worker-1 for cluster aios-demo: .*e2e: this cluster admits GPU nodes only/, /AIOS policy rejected node worker-3/]);
            assert.equal(JSON.stringify(await aios.cluster()), docBefore, "the registry document changed");
            assert.equal((await aios.state()).counters["membership POST /join-node"] ?? 0, tokensBefore, "a join command was issued");
            for (const m of ["m1", "m3"]) await assertUntouched(m);
            assert.deepEqual(await listNodes(), []);
        } finally {
            await s.remove();
        }
    });

    it("5. kubeadm join fails on one of 3 machines: the other two are onboarded, the error shows the redacted stderr, the next up completes only the failed one", async function () {
        await resetWorld();
        const fakeToken = "abcdef.0123456789abcdef";
        await machineFault("m2", "join-fails", `error execution phase kubelet-start: e2e injected failure while using token ${fakeToken}`);
        const s = await newStack("scenario5", mainSpec);
        try {
            const up = await s.up({ continueOnError: true });
            ok(!up.ok, "up passed despite the join failure");
            assertMentions(up.text, [/kubeadm join on node worker-2 exited with status 1/, /e2e injected failure while using token <redacted-token>/]);
            ok(!up.text.includes(fakeToken), "the token in kubeadm's stderr was not redacted");
            assert.deepEqual(resourcesWithErrors(up), { "worker-2-join": 1 }, `the failed join is reported once, and its verification is skipped:\n${excerpt(errorDiagnostics(up).join("\n"))}`);
            // A clear error, not a crash report of the program (checked last, so that the recovery is still tested).
            const crash = crashReport(up);
            await assertOnboarded("worker-1");
            await assertOnboarded("worker-3");
            assert.equal(await getNode("worker-2"), undefined);
            assert.equal((await machineJoinState("m2")).kubeletConf, false);
            const before = { m1: await joinedAt("m1"), m3: await joinedAt("m3") };

            await machineFault("m2", "clear");
            const again = await s.up();
            ok(again.ok, `the second up failed:\n${excerpt(again.text)}`);
            const changed = changedResources(again);
            ok(changed.length > 0 && changed.every((c) => c.urn.includes("worker-2")), `the second up changed more than worker-2: ${JSON.stringify(changed)}`);
            await assertOnboarded("worker-2");
            assert.equal(await joinedAt("m1"), before.m1);
            assert.equal(await joinedAt("m3"), before.m3);
            assert.equal((await aios.registryNodes()).filter((n) => n.id === "worker-2").length, 1, "worker-2 is registered more than once");
            ok(!crash, `the join failure was reported as a crash of the program (unhandled exception):\n${crash}`);
        } finally {
            await s.remove();
        }
    });

    it("6. the controller never labels the node: up fails after the configured timeout saying what it saw", async function () {
        await resetWorld();
        await aios.faults({ controller: { labelling: "never" } });
        const verifySeconds = 12;
        // With a declared label: it must not be applied to a Node that failed verification.
        const s = await newStack("scenario6", { machines: [{ m: "m1", labels: { "e2e.example.com/rack": "r6" } }], timeouts: { verifySeconds } });
        try {
            // --continue-on-error: the engine goes on after the failed verification, so the patch's turn comes.
            const up = await s.up({ continueOnError: true });
            ok(!up.ok, "up passed without the label");
            assertMentions(up.text, [
                `verification of node worker-1 timed out after ${verifySeconds}s (timeouts.verifySeconds)`,
                /Node worker-1 exists, Ready=True \(KubeletReady\), no nodeID label/,
            ]);
            assert.deepEqual(resourcesWithErrors(up), { "worker-1-verify": 1 }, "the failed verification is reported once, and the labels' patch is skipped");
            const crash = crashReport(up);
            ok(!crash, `the failure was reported as a crash of the program:\n${crash}`);
            ok(!(await s.resources()).some((r) => r.type === "kubernetes:core/v1:NodePatch"), "a NodePatch was created after the failed verification");
            ok(up.seconds >= verifySeconds, `up ended after ${up.seconds}s, before the ${verifySeconds}s timeout`);
            const node = await getNode("worker-1");
            ok(node, "worker-1 does not exist");
            assert.equal(node.metadata.labels?.nodeID, undefined, "somebody labelled worker-1");
            assert.equal(node.metadata.labels?.["e2e.example.com/rack"], undefined, "the declared label reached a Node that failed verification");
            ok((await aios.state()).waiters.some((w) => w.nodeId === "worker-1" && w.state === "not-labelled"));
        } finally {
            await s.remove();
        }
    });

    describe("9. bad input: a clear error and nothing half-done", function () {
        async function nothingHappened(s: E2EStack): Promise<void> {
            assert.deepEqual(await aiosWrites(), {});
            assert.deepEqual(await listNodes(), []);
            await assertUntouched("m1");
            assertNoSteps(await s.resources());
        }

        it("9a. a malformed stack config", async function () {
            await resetWorld();
            const s = await newStack("scenario9-config", {
                machines: [{ m: "m1", nodeId: "Worker_1", hostKey: "not a host key" }],
                raw: { parallelism: "lots", protocol: "carrier-pigeon", timeouts: JSON.stringify({ joinSeconds: 1 }) },
            });
            try {
                const up = await s.up();
                ok(!up.ok, `up passed despite the bad input:\n${excerpt(up.text)}`);
                assertMentions(up.text, [
                    /invalid stack config for stack "e2e-scenario9-config-\d+": \d+ problems/,
                    /aios-onboarding:protocol: .*carrier-pigeon/,
                    /aios-onboarding:parallelism: /,
                    /aios-onboarding:timeouts\.joinSeconds: /,
                    /aios-onboarding:machines\[0\]\.nodeId: .*Worker_1/,
                    /aios-onboarding:machines\[0\]\.hostKey: /,
                ]);
                ok(!/ at .*\.ts:\d+/.test(up.text), `the error carries a stack trace:\n${excerpt(up.text)}`);
                await nothingHappened(s);
            } finally {
                await s.remove();
            }
        });

        it("9b. a malformed cluster document", async function () {
            await resetWorld();
            await aios.faults({ registry: { mode: "malformed" } });
            const s = await newStack("scenario9-document", { machines: ["m1"] });
            try {
                const up = await s.up();
                ok(!up.ok, `up passed despite the bad input:\n${excerpt(up.text)}`);
                assertMentions(up.text, ["machine worker-1", /registry: expected cluster aios-demo readable from http:\/\/127\.0\.0\.1:30101; found .*clusterMetadata\.additionalInfo/]);
                await nothingHappened(s);
            } finally {
                await s.remove();
            }
        });

        it("9c. a node id with shell metacharacters", async function () {
            await resetWorld();
            const evil = `worker-1$(touch ${PWNED})`;
            const s = await newStack("scenario9-nodeid", { machines: [{ m: "m1", nodeId: evil }] });
            try {
                const up = await s.up();
                ok(!up.ok, `up passed despite the bad input:\n${excerpt(up.text)}`);
                assertMentions(up.text, [/aios-onboarding:machines\[0\]\.nodeId: /, evil]);
                ok(!fs.existsSync(PWNED), "the node id ran a command on the host");
                assert.equal((await ssh("m1", `test -e ${PWNED}`)).code, 1, "the node id ran a command on the machine");
                await nothingHappened(s);
            } finally {
                await s.remove();
            }
        });

        it("9d. an unreachable registry", async function () {
            await resetWorld();
            const s = await newStack("scenario9-registry", { machines: ["m1"], registryUrl: "http://127.0.0.1:1" });
            try {
                const up = await s.up();
                ok(!up.ok, `up passed despite the bad input:\n${excerpt(up.text)}`);
                assertMentions(up.text, ["machine worker-1", /registry: expected cluster aios-demo readable from http:\/\/127\.0\.0\.1:1; found .*(unreachable|ECONNREFUSED|refused)/i]);
                await nothingHappened(s);
            } finally {
                await s.remove();
            }
        });
    });
});

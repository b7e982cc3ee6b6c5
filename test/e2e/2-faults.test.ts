// The fault matrix: each case injects one fault into the world (AIOS, a machine, the stack config), runs
// `pulumi up`, and checks that it ends in an error naming the machine and the cause, that nothing is left
// half-done (read from the world itself), and that the next `pulumi up` after the fault is removed finishes
// the work. Table-driven where the cases share a shape; the delete, concurrency and five-machine cases are
// their own tests.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    aios,
    assertMentions,
    assertNoSteps,
    assertOnboarded,
    assertUntouched,
    changedResources,
    crashReport,
    resourcesWithErrors,
    E2EStack,
    errorDiagnostics,
    excerpt,
    getNode,
    hostPath,
    ledger,
    machine,
    machineFault,
    machineJoinState,
    machineProcesses,
    newStack,
    nodeReady,
    registerSuiteHooks,
    resetWorld,
    run,
    RunResult,
    samplePs,
    StackSpec,
    suiteInfo,
    ok,
    PWNED,
} from "./harness";
import { LocalWorkspace } from "@pulumi/pulumi/automation";

registerSuiteHooks();

const MIN = 60_000;

interface FaultCase {
    /** What is broken. */
    title: string;
    /** The stack (default: m1 alone, gateway protocol). */
    spec?: StackSpec;
    inject: (s: E2EStack) => Promise<void>;
    /** The error must match each (in addition to naming the machine). */
    expect: (string | RegExp)[];
    /** How the error names the machine (default: its node id). */
    names?: string | RegExp;
    /** Checks of the world after the failure; default: nothing of the onboarding exists. */
    halfDone?: (s: E2EStack, r: RunResult) => Promise<void>;
    /** Removes the fault (and fixes the config when the fault was in it). */
    clear: (s: E2EStack) => Promise<void>;
    /** Extra checks after the recovery `up`. */
    recovered?: (s: E2EStack, r: RunResult) => Promise<void>;
    /** Runs while the failing `up` runs; its result goes to `during`. */
    during?: () => { stop(): Promise<string[]> };
    checkDuring?: (lines: string[]) => void;
}

const m1Only: StackSpec = { machines: ["m1"] };
const clearM1 = () => machineFault("m1", "clear");

/** The config error cases leave no step in the state and the machine untouched; no injected command ran. */
async function configRejected(s: E2EStack): Promise<void> {
    assertNoSteps(await s.resources());
    await assertUntouched("m1");
    ok(!fs.readdirSync(path.dirname(PWNED)).some((f) => f.startsWith(path.basename(PWNED))), "an injected command ran on the host");
    ok(!fs.readdirSync(hostPath("m1", path.dirname(PWNED))).some((f) => f.startsWith(path.basename(PWNED))), "an injected command ran on the machine");
}

/** A step failed after registration: no Node, the machine not joined; the registry lists the node at most once. */
async function notJoined(): Promise<void> {
    assert.equal(await getNode("worker-1"), undefined, "Node worker-1 exists");
    const st = await machineJoinState("m1");
    assert.equal(st.kubeletConf, false, "m1 has kubelet.conf");
    assert.equal(st.marker, undefined, "m1 has the onboarding marker");
    ok((await aios.registryNodes()).filter((n) => n.id === "worker-1").length <= 1, "worker-1 is registered twice");
}

async function registeredOnce(): Promise<void> {
    const ids = (await aios.registryNodes()).map((n) => n.id);
    assert.equal(ids.filter((id) => id === "worker-1").length, 1, `registry entries: ${JSON.stringify(ids)}`);
}

let otherKey: string | undefined;
async function foreignKey(): Promise<string> {
    if (!otherKey) {
        const dir = fs.mkdtempSync(path.join(suiteInfo().tmp, "key-"));
        const r = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e-foreign", "-f", path.join(dir, "id")]);
        assert.equal(r.code, 0, r.stderr);
        otherKey = fs.readFileSync(path.join(dir, "id"), "utf8");
        fs.rmSync(dir, { recursive: true, force: true });
        ledger.privateKeys.push(otherKey);
    }
    return otherKey;
}

const cases: FaultCase[] = [
    // ---- the AIOS registry
    {
        title: "registry unreachable",
        inject: () => aios.faults({ registry: { mode: "down" } }),
        expect: [/registry: expected cluster aios-demo readable from http:\/\/127\.0\.0\.1:30101; found .*(ECONNREFUSED|unreachable|refused)/i],
        clear: () => aios.faults({ registry: { mode: "ok" } }),
    },
    {
        title: "registry 404: the cluster id is unknown",
        spec: { machines: ["m1"], clusterId: "aios-elsewhere" },
        inject: async () => undefined,
        expect: [/registry: expected cluster aios-elsewhere readable from .*; found .*(Cluster not found|404)/],
        clear: (s) => s.configure(m1Only),
    },
    {
        title: "registry answers 500",
        inject: () => aios.faults({ registry: { mode: "error500" } }),
        expect: [/registry: expected cluster aios-demo readable .*; found .*(500|buffering timed out)/],
        clear: () => aios.faults({ registry: { mode: "ok" } }),
    },
    {
        title: "registry slower than timeouts.httpSeconds",
        spec: { machines: ["m1"], timeouts: { httpSeconds: 2 } },
        inject: () => aios.faults({ registry: { mode: "slow", delayMs: 8000 } }),
        expect: [/registry: expected cluster aios-demo readable .*; found .*did not answer in time \(no complete response within 2000 ms\)/],
        clear: () => aios.faults({ registry: { mode: "ok" } }),
    },
    {
        title: "registry serves a malformed cluster document",
        inject: () => aios.faults({ registry: { mode: "malformed" } }),
        expect: [/registry: expected cluster aios-demo readable .*; found .*clusterMetadata\.additionalInfo/],
        clear: () => aios.faults({ registry: { mode: "ok" } }),
    },
    // ---- AIOS registration
    {
        title: "parser answers 200 carrying a failure",
        spec: { machines: ["m1"], protocol: "parser" },
        inject: () => aios.faults({ parser: { addNode: "head" } }),
        expect: [/Expecting value/],
        clear: () => aios.faults({ parser: { addNode: "intended" } }),
    },
    {
        title: "network policy denies add_node",
        inject: () => aios.faults({ policies: { network: { add_node: { deny: "e2e: the network is full" } } } }),
        expect: [/AIOS policy rejected node worker-1 for cluster aios-demo: .*e2e: the network is full/],
        clear: () => aios.faults({ policies: { network: { add_node: null } } }),
    },
    {
        title: "cluster policy denies add_node (the gateway hides the reason)",
        inject: () => aios.faults({ policies: { "cluster:aios-demo": { add_node: { deny: "e2e: GPU nodes only" } } } }),
        expect: [/AIOS policy rejected node worker-1 for cluster aios-demo: .*e2e: GPU nodes only/],
        clear: () => aios.faults({ policies: { "cluster:aios-demo": { add_node: null } } }),
    },
    // ---- SSH
    {
        title: "SSH connection refused",
        inject: () => machineFault("m1", "sshd-down"),
        expect: ["machine worker-1 (10.213.1.1)", /ssh: expected SSH to 10\.213\.1\.1 with the pinned host key; found .*the SSH port cannot be reached .*Connection refused/],
        clear: clearM1,
    },
    {
        title: "wrong host key",
        inject: () => machineFault("m1", "host-key-rotated"),
        expect: ["machine worker-1 (10.213.1.1)", /ssh: .*the host key does not match the pinned hostKey/],
        clear: clearM1,
    },
    {
        title: "SSH authentication failure",
        inject: async (s) => s.configure({ ...m1Only, sshPrivateKey: await foreignKey() }),
        expect: ["machine worker-1 (10.213.1.1)", /ssh: .*SSH authentication was refused/],
        clear: (s) => s.configure(m1Only),
    },
    {
        title: "host unreachable (no machine at the address)",
        spec: { machines: [{ m: "m1", host: "10.213.1.99" }] },
        inject: async () => undefined,
        expect: ["machine worker-1 (10.213.1.99)", /ssh: expected SSH to 10\.213\.1\.99 .*; found .*(cannot be reached|timed out)/i],
        clear: (s) => s.configure(m1Only),
    },
    // ---- machine prechecks
    {
        title: "kubeadm missing",
        inject: () => machineFault("m1", "kubeadm-missing"),
        expect: ["machine worker-1 (10.213.1.1)", /kubeadm: expected kubeadm 1\.36\.x .*; found kubeadm is not installed/],
        clear: clearM1,
    },
    {
        title: "kubeadm version mismatch",
        inject: () => machineFault("m1", "version", "v1.35.2"),
        expect: ["machine worker-1 (10.213.1.1)", /kubeadm: expected kubeadm 1\.36\.x .*; found v1\.35\.2 \(compared 1\.35 with 1\.36\)/],
        clear: clearM1,
    },
    {
        title: "a NodePort taken (TCP)",
        inject: () => machineFault("m1", "port-taken", "30080"),
        expect: ["machine worker-1 (10.213.1.1)", /ports: .*found in use: 30080\/tcp/],
        clear: clearM1,
    },
    {
        title: "a NodePort taken (UDP)",
        inject: () => machineFault("m1", "port-taken", "31000/udp"),
        expect: ["machine worker-1 (10.213.1.1)", /ports: .*found in use: 31000\/udp/],
        clear: clearM1,
    },
    {
        title: "the kubelet port 10250 taken on an external machine",
        spec: { machines: [{ m: "m1", external: true }] },
        inject: () => machineFault("m1", "port-taken", "10250"),
        expect: ["machine worker-1 (10.213.1.1)", /ports: expected 10250\/tcp and 30000-32767\/tcp\+udp not in use .*; found in use: 10250\/tcp/],
        clear: clearM1,
    },
    {
        title: "VPN missing",
        inject: () => machineFault("m1", "vpn-missing"),
        expect: ["machine worker-1 (10.213.1.1)", /vpn: expected interface wg0 up with an address in 10\.213\.200\.0\/24; found no interface wg0/],
        clear: clearM1,
    },
    {
        title: "an external machine's address is not its own static IP",
        spec: { machines: [{ m: "m1", external: true, address: "10.213.77.7" }] },
        inject: async () => undefined,
        expect: ["machine worker-1 (10.213.1.1)", /static-ip: expected 10\.213\.77\.7 is a static address on one of the machine's interfaces; found not found/],
        clear: (s) => s.configure({ machines: [{ m: "m1", external: true }] }),
    },
    // ---- join and verification
    {
        title: "kubeadm join fails",
        inject: () => machineFault("m1", "join-fails", "error execution phase preflight: e2e injected join failure"),
        expect: [/kubeadm join on node worker-1 exited with status 1/, /e2e injected join failure/],
        halfDone: notJoined,
        clear: clearM1,
        recovered: registeredOnce,
    },
    {
        title: "kubeadm join hangs past timeouts.joinSeconds",
        spec: { machines: ["m1"], timeouts: { joinSeconds: 10 } },
        inject: () => machineFault("m1", "join-hangs"),
        during: () => samplePs("m1", 0.2),
        checkDuring: (lines) => ok(lines.some((l) => /kubeadm join --config/.test(l)), "the hanging join was never seen in ps"),
        expect: [/kubeadm join on node worker-1 timed out after 10s \(timeouts\.joinSeconds\)/],
        halfDone: async () => {
            await notJoined();
            const ps = await machineProcesses("m1");
            ok(!ps.some((l) => /kubeadm join/.test(l)), `a kubeadm join still runs on m1:\n${ps.join("\n")}`);
        },
        clear: clearM1,
        recovered: registeredOnce,
    },
    {
        title: "the controller never sets the nodeID label",
        spec: { machines: ["m1"], timeouts: { verifySeconds: 10 } },
        inject: () => aios.faults({ controller: { labelling: "never" } }),
        expect: [/verification of node worker-1 timed out after 10s \(timeouts\.verifySeconds\): Node worker-1 exists, Ready=True.*no nodeID label/],
        halfDone: async () => {
            const n = await getNode("worker-1");
            ok(n && nodeReady(n), "worker-1 is not a Ready Node");
            assert.equal(n.metadata.labels?.nodeID, undefined, "worker-1 carries a nodeID label");
        },
        clear: () => aios.faults({ controller: { labelling: "on" } }),
        recovered: registeredOnce,
    },
    {
        title: "the node never becomes Ready",
        spec: { machines: ["m1"], timeouts: { verifySeconds: 10 } },
        inject: () => machineFault("m1", "never-ready"),
        expect: [/verification of node worker-1 timed out after 10s \(timeouts\.verifySeconds\): Node worker-1 exists, Ready=False/],
        halfDone: async () => {
            const n = await getNode("worker-1");
            ok(n && !nodeReady(n), "worker-1 is missing or Ready");
            assert.equal(n.metadata.labels?.nodeID, undefined, "a not-Ready worker-1 carries a nodeID label");
        },
        clear: clearM1,
        recovered: registeredOnce,
    },
    {
        title: "registration succeeds but the join fails (parser: the entry is written at addNode)",
        spec: { machines: ["m1"], protocol: "parser" },
        inject: async () => {
            await aios.faults({ parser: { addNode: "intended" } });
            await machineFault("m1", "join-fails", "error execution phase preflight: e2e injected join failure after addNode");
        },
        expect: [/kubeadm join on node worker-1 exited with status 1/],
        halfDone: async (_s, r) => {
            await notJoined();
            const registered = (await aios.registryNodes()).some((n) => n.id === "worker-1");
            // Either the registration was rolled back, or the error says the node stays registered.
            ok(
                !registered || /\bregistered\b/i.test(errorDiagnostics(r).join("\n")),
                `worker-1 stays in the registry and the error does not say so:\n${excerpt(errorDiagnostics(r).join("\n"))}`,
            );
        },
        clear: clearM1,
        recovered: registeredOnce,
    },
    // ---- bad input
    {
        title: "a node id with shell metacharacters",
        spec: { machines: [{ m: "m1", nodeId: `worker-1;touch ${PWNED}-nodeid` }] },
        inject: async () => undefined,
        names: "machines[0].nodeId",
        expect: [new RegExp(`aios-onboarding:machines\\[0\\]\\.nodeId: "worker-1;touch ${PWNED.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}-nodeid" is not a lowercase DNS-1123 name`)],
        halfDone: configRejected,
        clear: (s) => s.configure(m1Only),
    },
    {
        title: "a label with shell metacharacters",
        spec: { machines: [{ m: "m1", labels: { "e2e.example.com/rack": `$(touch ${PWNED}-label)` } }] },
        inject: async () => undefined,
        names: "machines[0].labels",
        expect: [/aios-onboarding:machines\[0\]\.labels\.e2e\.example\.com\/rack: /],
        halfDone: configRejected,
        clear: (s) => s.configure({ machines: [{ m: "m1", labels: { "e2e.example.com/rack": "r2" } }] }),
        recovered: async () => assert.equal((await getNode("worker-1"))?.metadata.labels?.["e2e.example.com/rack"], "r2"),
    },
    {
        title: "a host with shell metacharacters",
        spec: { machines: [{ m: "m1", host: `10.213.1.1;touch ${PWNED}-host` }] },
        inject: async () => undefined,
        names: "machines[0].host",
        expect: [/aios-onboarding:machines\[0\]\.host: /],
        halfDone: configRejected,
        clear: (s) => s.configure(m1Only),
    },
    {
        title: "a config with every field wrong at once",
        spec: {
            machines: ["m1"],
            raw: {
                clusterId: "no such id!",
                registryUrl: "registry.example.net",
                protocol: "pigeon",
                gatewayUrl: "ftp://gateway",
                parserUrl: "not a url",
                customIp: "$(id)",
                vpn: JSON.stringify({ interface: "wg0; reboot", cidr: "10.8.0.0/99" }),
                kubeadmVersion: "latest",
                sshUser: "root;id",
                sshPort: "0",
                parallelism: "-3",
                timeouts: JSON.stringify({ joinSeconds: 1, verifySeconds: "soon", bogus: 1 }),
                machines: JSON.stringify([
                    { nodeId: "Worker_1", host: "a b", hostKey: "nope", port: 70000, user: "Root!", external: "yes", address: "300.1.1.1", labels: { nodeID: "x" }, taints: [{ key: "", effect: "Sometimes" }], extra: 1 },
                ]),
                kubeconfig: undefined,
                sshPrivateKey: undefined,
            },
        },
        inject: async () => undefined,
        names: "machines[0]",
        expect: [
            /invalid stack config for stack "[^"]+": \d+ problems/,
            ...["clusterId", "registryUrl", "protocol", "gatewayUrl", "parserUrl", "customIp", "vpn.interface", "vpn.cidr", "kubeadmVersion", "sshUser", "sshPort", "parallelism", "timeouts", "kubeconfig", "sshPrivateKey"].map((k) => `aios-onboarding:${k}`),
            ...["nodeId", "host", "hostKey", "port", "user", "external", "address", "labels", "taints"].map((k) => `aios-onboarding:machines[0].${k}`),
        ],
        halfDone: configRejected,
        clear: (s) => s.configure(m1Only),
    },
];

describe("fault matrix", function () {
    this.timeout(10 * MIN);

    beforeEach(async function () {
        await resetWorld();
    });

    for (const c of cases) {
        it(`${c.title}: a clear error naming the machine, nothing half-done, the next up after the fix finishes`, async function () {
            const spec = c.spec ?? m1Only;
            const s = await newStack(`fault-${c.title}`, spec);
            try {
                await c.inject(s);
                const sampler = c.during?.();
                const failed = await s.up({ continueOnError: true });
                const lines = await sampler?.stop();
                ok(!failed.ok, `up succeeded despite: ${c.title}\n${excerpt(failed.text)}`);
                const errors = errorDiagnostics(failed).join("\n");
                assertMentions(errors, [c.names ?? "worker-1", ...c.expect], "the error diagnostics");
                // A clear error, not a crash report of the program (checked last, so that the recovery is still tested).
                const crash = crashReport(failed);
                const reported = resourcesWithErrors(failed);
                if (lines) c.checkDuring?.(lines);
                if (c.halfDone) await c.halfDone(s, failed);
                else {
                    assertNoSteps(await s.resources());
                    await assertUntouched("m1");
                }

                await c.clear(s);
                const fixed = await s.up();
                ok(fixed.ok, `the up after removing the fault failed:\n${excerpt(fixed.text)}`);
                await assertOnboarded("worker-1");
                await c.recovered?.(s, fixed);
                ok(!crash, `the program reported the failure as a crash (unhandled exception):\n${crash}`);
                ok(Object.keys(reported).length <= 1 && Object.values(reported).every((n) => n === 1), `the failure was reported more than once: ${JSON.stringify(reported)}\n${excerpt(errors)}`);
            } finally {
                await s.remove();
            }
        });
    }

    async function onboard(spec: StackSpec, label: string): Promise<E2EStack> {
        const s = await newStack(label, spec);
        const up = await s.up();
        ok(up.ok, `setup up failed:\n${excerpt(up.text)}`);
        await assertOnboarded("worker-1");
        return s;
    }

    it("machine unreachable at delete: the removal is blocked with nothing changed; once reachable the next up offboards it", async function () {
        const s = await onboard(m1Only, "fault-unreachable-delete");
        try {
            await machineFault("m1", "sshd-down");
            await s.configure({ machines: [] });
            const blocked = await s.up();
            ok(!blocked.ok, "the removal of an unreachable machine succeeded");
            assertMentions(errorDiagnostics(blocked).join("\n"), [/cannot offboard node worker-1: the machine is unreachable/, /Nothing was changed/, /forceRemove/]);
            const n = await getNode("worker-1");
            ok(n && nodeReady(n) && n.metadata.labels?.nodeID === "worker-1", "worker-1 changed");
            assert.notEqual(n.spec?.unschedulable, true, "worker-1 was cordoned");
            ok((await aios.registryNodes()).some((x) => x.id === "worker-1"), "worker-1 was deregistered");
            ok((await s.resources()).some((r) => r.urn.endsWith("::worker-1-join")), "the join left the state");

            await machineFault("m1", "clear");
            const done = await s.up();
            ok(done.ok, `the removal after the machine came back failed:\n${excerpt(done.text)}`);
            await assertUntouched("m1");
        } finally {
            await s.remove();
        }
    });

    it("machine unreachable at delete with forceRemove: removed from Kubernetes and AIOS without touching the machine", async function () {
        const s = await onboard(m1Only, "fault-force-remove");
        try {
            await machineFault("m1", "sshd-down");
            await s.configure({ machines: [{ m: "m1", forceRemove: true }] });
            const flag = await s.up();
            ok(flag.ok, `setting forceRemove failed:\n${excerpt(flag.text)}`);
            await s.configure({ machines: [] });
            const removed = await s.up();
            ok(removed.ok, `the forced removal failed:\n${excerpt(removed.text)}`);
            assert.equal(await getNode("worker-1"), undefined, "Node worker-1 still exists");
            ok(!(await aios.registryNodes()).some((x) => x.id === "worker-1"), "worker-1 is still registered");
            assert.deepEqual(await s.resources().then((rs) => rs.filter((r) => r.urn.includes("worker-1"))), []);
            // The machine itself was not reset (it could not be reached): documented behaviour.
            await machineFault("m1", "clear");
            assert.equal((await machineJoinState("m1")).kubeletConf, true, "the unreachable machine was reset?");
            const again = await s.preview({ expectNoChanges: true });
            ok(again.ok, excerpt(again.text));
        } finally {
            await s.remove();
        }
    });

    it("two pulumi up on the same stack at once: one runs, the other is refused; the world holds one onboarding", async function () {
        const s = await newStack("fault-concurrent", m1Only);
        try {
            const twin = await LocalWorkspace.selectStack({ stackName: s.name, workDir: suiteInfo().projectDir }, { pulumiCommand: suiteInfo().pulumiCommand, envVars: suiteInfo().envVars });
            const joinsBefore = (await aios.state()).counters["gateway POST /join-node/:cid"] ?? 0;
            const [a, b] = await Promise.allSettled([s.up(), twin.up({ color: "never" })]);
            const first = a.status === "fulfilled" ? a.value : undefined;
            const second = b.status === "fulfilled" ? { ok: true, text: b.value.stdout } : { ok: false, text: String((b.reason as Error).message) };
            ok(first, "the first up threw");
            const locked = /lock|currently being updated|conflict/i;
            const succeeded = [first.ok, second.ok].filter(Boolean).length;
            assert.ok(succeeded <= 1, `both ups succeeded:\nfirst: ${excerpt(first.text, 1500)}\nsecond: ${excerpt(second.text, 1500)}`);
            for (const r of [first, second].filter((x) => !x.ok)) assert.match(r.text, locked, `a refused up does not say why:\n${excerpt(r.text)}`);
            if (succeeded === 0) {
                // The file backend writes its lock, then looks for others': two ups started in the same
                // moment can each see the other's lock and both refuse. Nothing ran; a lone up then does it all.
                assert.equal(((await aios.state()).counters["gateway POST /join-node/:cid"] ?? 0) - joinsBefore, 0, "a refused up called join-node");
                const alone = await s.up();
                ok(alone.ok, `the up after both were refused failed:\n${excerpt(alone.text)}`);
            }
            await assertOnboarded("worker-1");
            await registeredOnce();
            assert.equal(((await aios.state()).counters["gateway POST /join-node/:cid"] ?? 0) - joinsBefore, 1, "join-node was called more than once");
            const after = await s.preview({ expectNoChanges: true });
            ok(after.ok, `preview after the race wants changes:\n${excerpt(after.text)}`);
        } finally {
            await s.remove();
        }
    });

    it("one of five machines fails while the other four finish; the next up completes only the failed one", async function () {
        const all = ["m1", "m2", "m3", "m4", "m5"];
        await machineFault("m3", "join-fails", "error execution phase kubelet-start: e2e injected failure on one of five");
        const s = await newStack("fault-one-of-five", { machines: all });
        try {
            const up = await s.up({ continueOnError: true });
            ok(!up.ok, "up succeeded despite the failing machine");
            const errors = errorDiagnostics(up).join("\n");
            assertMentions(errors, [/kubeadm join on node worker-3 exited with status 1/, /e2e injected failure on one of five/]);
            for (const other of ["worker-1", "worker-2", "worker-4", "worker-5"]) {
                ok(!new RegExp(`node ${other}\\b`).test(errors), `${other} is reported as failing:\n${errors}`);
                await assertOnboarded(other);
            }
            assert.equal(await getNode("worker-3"), undefined);
            assert.equal((await machineJoinState("m3")).kubeletConf, false);
            const joined = Object.fromEntries(await Promise.all(all.map(async (m) => [m, (await machineJoinState(m)).marker?.joinedAt] as const)));

            await machineFault("m3", "clear");
            const again = await s.up();
            ok(again.ok, `the second up failed:\n${excerpt(again.text)}`);
            const changed = changedResources(again);
            ok(changed.length > 0 && changed.every((c) => c.urn.includes("worker-3")), `more than worker-3 changed: ${JSON.stringify(changed)}`);
            for (const m of all) await assertOnboarded(machine(m).nodeId);
            for (const m of ["m1", "m2", "m4", "m5"]) assert.equal((await machineJoinState(m)).marker?.joinedAt, joined[m], `${m} joined again`);
            assert.deepEqual((await aios.registryNodes()).map((n) => n.id).sort(), ["worker-1", "worker-2", "worker-3", "worker-4", "worker-5"]);
        } finally {
            await s.remove();
        }
    });
});

import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { created, findCreated, installMocks, isSecretInput, mockHooks, secretValue, skipped, unhandledRejectionsOf, unwrap } from "../../helpers/mocks";
import { healthyObservation } from "../../helpers/observations";
import type { Observation } from "../../../components/prechecks/checks";

type Mod = typeof import("../../../components/onboardedNode");
type ObserveMod = typeof import("../../../components/prechecks/observe");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Settles within `ms` or fails naming what never finished. */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)));
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const TOKEN = "abcdef.0123456789abcdef";
// A key made for this run: only its secrecy is tested.
const SSH_KEY = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();

describe("OnboardedNode wiring", function () {
    let mod: Mod;
    let observeMod: ObserveMod;
    let observation: Observation;
    const options: Record<string, pulumi.CustomResourceOptions & { type: string }> = {};

    before(async () => {
        await installMocks();
        mod = await import("../../../components/onboardedNode");
        observeMod = await import("../../../components/prechecks/observe");
        observeMod.useObserverForTesting(async () => observation);
    });
    after(() => observeMod.useObserverForTesting(undefined));
    beforeEach(() => {
        created.length = 0;
        observation = healthyObservation();
    });

    // Mocks do not see resource options; a transformation on the parent reaches every child.
    const capture: pulumi.ResourceTransformation = (args) => {
        options[args.name] = { ...args.opts, type: args.type };
        return undefined;
    };

    function build(name: string, extra: Partial<import("../../../components/onboardedNode").OnboardedNodeArgs> = {}, opts: pulumi.ComponentResourceOptions = {}) {
        return new mod.OnboardedNode(
            name,
            {
                cluster: {
                    clusterId: "aios-demo",
                    registryUrl: "http://127.0.0.1:30101",
                    protocol: "gateway",
                    gatewayUrl: "http://127.0.0.1:30600",
                    kubeconfig: pulumi.secret("apiVersion: v1\nkind: Config"),
                },
                nodeId: name,
                host: "10.0.0.5",
                hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMx2KjnQ3i4Sr7mE3z0Gv3gpQH6wL8Lx0cC8i0Y1b0k1 root@m1",
                privateKey: pulumi.secret(SSH_KEY),
                ...extra,
            },
            { transformations: [capture], ...opts },
        );
    }

    it("creates the prechecks, registration, join and verify children named after the component, and its own provider", async () => {
        const node = build("worker-1");
        await unwrap(node.nodeName);
        const names = created.map((r) => `${r.type} ${r.name}`).sort();
        assert.deepEqual(names, [
            "aios-onboarding:index:OnboardedNode worker-1",
            "aios-onboarding:index:Prechecks worker-1-prechecks",
            "aios-onboarding:index:Registration worker-1-registration",
            "aios-onboarding:index:Verification worker-1-verify",
            "command:remote:Command worker-1-join",
            "pulumi:providers:aios-onboarding worker-1-provider",
        ]);
        const prechecks = findCreated("aios-onboarding:index:Prechecks", "worker-1-prechecks")!;
        const provider = options["worker-1-prechecks"].provider as pulumi.ProviderResource;
        assert.equal((await unwrap(provider.urn)).split("::").pop(), "worker-1-provider", "the prechecks go through the component's own aios-onboarding provider");
        const table = prechecks.inputs.checks as { check: string; expected: string; observed: string; status: string }[];
        assert.deepEqual(
            table.map((c) => c.check),
            ["node-id", "registry", "kubernetes", "ssh", "membership", "ports", "kubeadm", "gpu-driver"],
        );
        assert.ok(table.every((c) => c.expected && c.observed && c.status === "passed"), JSON.stringify(table));
        for (const child of ["worker-1-registration", "worker-1-verify"]) assert.equal(options[child].provider, provider, `${child} goes through the same provider`);
        const ownProvider = findCreated("pulumi:providers:aios-onboarding", "worker-1-provider")!;
        assert.ok(isSecretInput(ownProvider.inputs.kubeconfig), "the provider holds the kubeconfig, secret");
        const local = created.map((r) => JSON.stringify(r.inputs)).find((text) => text.includes(process.cwd()) || text.includes(process.execPath));
        assert.equal(local, undefined, "no machine-local path in any resource's inputs");
    });

    it("orders prechecks → registration → join → verification: each step starts after the one before finished", async () => {
        const events: string[] = [];
        mockHooks.beforeResource = async (a) => {
            if (!a.name.startsWith("worker-2-") || a.name.endsWith("-provider")) return;
            events.push(`start ${a.name}`);
            await sleep(30);
            events.push(`done ${a.name}`);
        };
        try {
            const node = build("worker-2");
            await unwrap(node.nodeName);
        } finally {
            mockHooks.beforeResource = undefined;
        }
        assert.deepEqual(events, [
            "start worker-2-prechecks",
            "done worker-2-prechecks",
            "start worker-2-registration",
            "done worker-2-registration",
            "start worker-2-join",
            "done worker-2-join",
            "start worker-2-verify",
            "done worker-2-verify",
        ]);
        const deps = (options["worker-2-registration"].dependsOn ?? []) as pulumi.Resource[];
        const regDeps = await Promise.all(deps.map(async (r) => (await unwrap(r.urn)).split("::").pop()));
        assert.deepEqual(regDeps, ["worker-2-prechecks"]);
    });

    it("keeps the token and the SSH key secret and out of triggers and scripts", async () => {
        const node = build("worker-3");
        await unwrap(node.nodeName);
        const join = findCreated("command:remote:Command", "worker-3-join")!;
        assert.ok(isSecretInput(join.inputs.stdin), "join stdin (the join command) must be secret");
        assert.match(String(secretValue(join.inputs.stdin)), /^apiVersion: kubeadm\.k8s\.io\/v1beta4\nkind: JoinConfiguration\n/);
        assert.ok(isSecretInput(join.inputs.connection) || isSecretInput((join.inputs.connection as Record<string, unknown>).privateKey), "the SSH key must be secret");
        assert.deepEqual(join.inputs.triggers, ["aios-demo", "worker-3", "10.0.0.5", 22]);
        for (const field of ["create", "delete"]) {
            assert.ok(!String(join.inputs[field]).includes(TOKEN), `${field} must not hold the token`);
        }
        assert.equal(join.inputs.update, undefined, "one join script: pulumi-command runs create on an update");
        assert.match(String(join.inputs.create), /kubeadm join --config "\$CONFIG" --node-name 'worker-3'/);
        assert.equal(join.inputs.addPreviousOutputInEnv, false);
        const reg = findCreated("aios-onboarding:index:Registration", "worker-3-registration")!;
        // The registration looks at the machine itself when AIOS already lists the node (adoption).
        assert.ok(isSecretInput(reg.inputs.ssh), "the registration's SSH target carries the key and must be secret");
        const regSsh = secretValue(reg.inputs.ssh) as { host?: string; privateKey?: string };
        assert.equal(regSsh.host, "10.0.0.5");
        assert.ok(regSsh.privateKey, "the registration needs the SSH key to look at the machine");
        assert.equal(reg.inputs.machineJoined, undefined, "whether the machine is joined is decided at registration time, not carried in");
        const verify = findCreated("aios-onboarding:index:Verification", "worker-3-verify")!;
        assert.ok(isSecretInput(verify.inputs.ssh), "the verification's SSH target must be secret");
        for (const r of [reg, verify]) assert.ok(!JSON.stringify(r.inputs).includes("kubeconfig"), `${r.name} must not carry the kubeconfig (the provider holds it once)`);
        assert.equal(verify.inputs.joinId, "worker-3-join-id", "the verification is ordered after the join by its id");
        assert.equal(verify.inputs.registeredAt, "2026-11-24T00:00:00.000Z");
        assert.deepEqual(options["worker-3-join"].ignoreChanges, ["stdin"], "a rotated token must not cause a re-join");
        assert.deepEqual(options["worker-3-join"].additionalSecretOutputs, ["stdout", "stderr", "connection"]);
        assert.deepEqual(options["worker-3-registration"].additionalSecretOutputs, ["joinConfiguration"]);
        assert.equal(options["worker-3-join"].deleteBeforeReplace, true);
    });

    it("offboards on delete in reverse order: the verification (drain, deregister) depends on the join, which depends on the registration (reset, Node cleanup)", async () => {
        const node = build("worker-4");
        await unwrap(node.nodeName);
        const join = findCreated("command:remote:Command", "worker-4-join")!;
        assert.equal(join.inputs.delete, undefined, "the registration's delete resets the machine; the join stores no second script");
        for (const child of ["worker-4-registration", "worker-4-join", "worker-4-verify"]) assert.equal(options[child].deleteBeforeReplace, true, child);
        assert.equal(findCreated("aios-onboarding:index:Registration", "worker-4-registration")!.inputs.forceRemove, false);
        const forced = build("worker-5", { forceRemove: true });
        await unwrap(forced.nodeName);
        assert.equal(findCreated("aios-onboarding:index:Registration", "worker-5-registration")!.inputs.forceRemove, true, "forceRemove skips the reset of an unreachable machine");
    });

    it("exposes the verified Node as outputs", async () => {
        const node = build("worker-6");
        assert.equal(await unwrap(node.nodeName), "worker-6");
        assert.equal(await unwrap(node.kubeletVersion), "v1.36.3");
        assert.deepEqual(await unwrap(node.labels), { nodeID: "worker-6" });
        assert.equal(await unwrap(node.prechecksPassed), true);
    });

    it("adds external checks and a VPN check only when configured", async () => {
        const node = build("edge-1", {
            external: true,
            cluster: { clusterId: "aios-demo", registryUrl: "http://127.0.0.1:30101", gatewayUrl: "http://127.0.0.1:30600", vpn: { interface: "wg0", cidr: "10.8.0.0/24" }, kubeconfig: pulumi.secret("x") },
        });
        await unwrap(node.nodeName);
        const checksOf = (name: string) => ((findCreated("aios-onboarding:index:Prechecks", name)?.inputs.checks ?? []) as { check: string }[]).map((c) => c.check);
        for (const check of ["external-allowed", "static-ip", "vpn"]) {
            assert.ok(checksOf("edge-1-prechecks").includes(check), `missing ${check}: ${checksOf("edge-1-prechecks")}`);
        }
        build("plain-1");
        for (let i = 0; i < 100 && checksOf("plain-1-prechecks").length === 0; i++) await sleep(10);
        assert.ok(checksOf("plain-1-prechecks").includes("ports"));
        assert.ok(!checksOf("plain-1-prechecks").includes("vpn"), "a machine without a VPN declared has a VPN check");
    });

    describe("declared labels and taints", () => {
        const waitFor = async (type: string, name: string) => {
            for (let i = 0; i < 100 && !findCreated(type, name); i++) await sleep(10);
            return findCreated(type, name);
        };

        it("are a NodePatch after verification, through a kubernetes provider of the component's own with the secret kubeconfig", async () => {
            const events: string[] = [];
            mockHooks.beforeResource = async (a) => {
                if (a.name === "lab-1-verify") {
                    events.push("start verify");
                    await sleep(30);
                    events.push("done verify");
                }
                if (a.name === "lab-1-labels") events.push("patch");
            };
            try {
                const node = build("lab-1", { labels: { "example.com/rack": "r2" }, taints: [{ key: "example.com/edge", effect: "NoExecute" }] });
                await unwrap(node.nodeName);
                const patch = await waitFor("kubernetes:core/v1:NodePatch", "lab-1-labels");
                assert.ok(patch, "no NodePatch lab-1-labels");
                const inputs = patch.inputs as { metadata: { name: string; labels: Record<string, string> }; spec: { taints: unknown[] } };
                assert.equal(inputs.metadata.name, "lab-1");
                assert.deepEqual(inputs.metadata.labels, { "example.com/rack": "r2" });
                assert.deepEqual(inputs.spec.taints, [{ key: "example.com/edge", effect: "NoExecute" }]);
            } finally {
                mockHooks.beforeResource = undefined;
            }
            assert.deepEqual(events, ["start verify", "done verify", "patch"]);
            const provider = findCreated("pulumi:providers:kubernetes", "lab-1-kubernetes");
            assert.ok(provider, "no provider lab-1-kubernetes");
            assert.ok(isSecretInput(provider.inputs.kubeconfig), "the provider's kubeconfig must be secret");
            assert.equal(provider.inputs.clusterIdentifier, "aios-demo", "a kubeconfig edit must not replace every patch");
            const used = options["lab-1-labels"].provider as pulumi.ProviderResource;
            assert.match(await unwrap(used.urn), /pulumi:providers:kubernetes::lab-1-kubernetes$/, "the patch must use the component's provider, never the ambient kubeconfig");
            assert.equal(options["lab-1-labels"].deleteBeforeReplace, true, "a replacement must not relinquish the new patch's labels");
            assert.equal(options["lab-1-labels"].dependsOn, undefined, "ordered by its input, not dependsOn (a failed verify would read as a crash)");
        });

        it("use the kubernetes provider passed down to the component, so a stack needs one", async () => {
            const k8s = await import("@pulumi/kubernetes");
            const shared = new k8s.Provider("shared-kubernetes", { kubeconfig: pulumi.secret("x") });
            const node = build("lab-2", { labels: { "example.com/rack": "r3" } }, { providers: { kubernetes: shared } });
            await unwrap(node.nodeName);
            assert.ok(await waitFor("kubernetes:core/v1:NodePatch", "lab-2-labels"));
            assert.equal(findCreated("pulumi:providers:kubernetes", "lab-2-kubernetes"), undefined);
            assert.equal(options["lab-2-labels"].provider, shared);
        });

        it("are not created for a machine without any", async () => {
            const node = build("lab-3");
            await unwrap(node.nodeName);
            await sleep(50);
            assert.equal(findCreated("kubernetes:core/v1:NodePatch", "lab-3-labels"), undefined);
            assert.equal(findCreated("pulumi:providers:kubernetes", "lab-3-kubernetes"), undefined);
        });

        it("are not patched when verification failed: the engine skips the patch, and the program reports nothing of its own", async () => {
            mockHooks.failStep = (_type, name) => name === "lab-4-verify";
            let unhandled: unknown[];
            try {
                unhandled = await unhandledRejectionsOf(async () => {
                    const node = build("lab-4", { labels: { "example.com/rack": "r4" } });
                    await unwrap(node.nodeName).catch(() => undefined);
                });
            } finally {
                mockHooks.failStep = undefined;
            }
            assert.equal(findCreated("kubernetes:core/v1:NodePatch", "lab-4-labels"), undefined, "a patch after a failed verification could create the Node");
            assert.ok(skipped.includes("lab-4-labels"), `the patch was not registered as depending on the failed verification (skipped: ${skipped})`);
            assert.deepEqual(unhandled.map(String), [], "the verification's error is the engine's to report, once");
        });
    });

    it("skips the join and the verification of a machine whose registration failed: one failure, reported once by the engine", async () => {
        mockHooks.failStep = (_type, name) => name === "lab-5-registration";
        let unhandled: unknown[];
        try {
            unhandled = await unhandledRejectionsOf(async () => {
                const node = build("lab-5");
                await unwrap(node.nodeName).catch(() => undefined);
            });
        } finally {
            mockHooks.failStep = undefined;
        }
        assert.deepEqual(
            skipped.filter((n) => n.startsWith("lab-5-")),
            ["lab-5-join", "lab-5-verify"],
        );
        assert.equal(findCreated("command:remote:Command", "lab-5-join"), undefined, "the join ran after a failed registration");
        assert.equal(findCreated("aios-onboarding:index:Verification", "lab-5-verify"), undefined);
        assert.deepEqual(unhandled.map(String), [], "the program reported the registration's failure as well");
    });

    it("fails with machine, check, expected and found when a precheck fails, and registers nothing", async () => {
        observation = healthyObservation({}, { kubeadm: "v1.35.0\nexit=0" });
        const node = build("worker-7");
        await assert.rejects(unwrap(node.prechecksPassed), (e: Error) => {
            assert.match(e.message, /machine worker-7 \(10\.0\.0\.5\) failed 1 precheck; nothing was changed/);
            assert.match(e.message, /kubeadm: expected kubeadm 1\.36\.x \(from registry clusterMetadata\.additionalInfo\.kubeadmVersion "v1\.36\.3"\); found v1\.35\.0 \(compared 1\.35 with 1\.36\)/);
            return true;
        });
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(findCreated("aios-onboarding:index:Registration", "worker-7-registration"), undefined, "no registration after a failed precheck");
        assert.equal(findCreated("command:remote:Command", "worker-7-join"), undefined);
    });

    describe("parallelism", () => {
        /** Machines whose registration the engine saw and whose verification has not settled. */
        let inFlight: Set<string>;
        let most: number;
        let failJoinOf: string | undefined;
        beforeEach(() => {
            inFlight = new Set();
            most = 0;
            failJoinOf = undefined;
            mockHooks.beforeResource = async (a) => {
                const machine = a.name.replace(/-(registration|join|verify)$/, "");
                if (a.name.endsWith("-registration")) {
                    inFlight.add(machine);
                    most = Math.max(most, inFlight.size);
                } else if (a.name.endsWith("-verify")) {
                    await sleep(40);
                    inFlight.delete(machine);
                }
            };
            mockHooks.failStep = (_type, name) => {
                // The join of `failJoinOf` fails; the mocks then skip its verification, as the engine does.
                const failed = name === `${failJoinOf}-join`;
                if (failed) inFlight.delete(failJoinOf!);
                return failed;
            };
        });
        afterEach(() => {
            mockHooks.beforeResource = undefined;
            mockHooks.failStep = undefined;
            mod.setOnboardingParallelism(4);
        });

        it("registers, joins and verifies at most `parallelism` machines at once", async () => {
            mod.setOnboardingParallelism(2);
            const nodes = ["par-a", "par-b", "par-c", "par-d", "par-e"].map((n) => build(n));
            const names = await within(5000, Promise.all(nodes.map((n) => unwrap(n.nodeName))), "onboarding 5 machines 2 at a time");
            assert.deepEqual(names, ["par-a", "par-b", "par-c", "par-d", "par-e"]);
            assert.equal(most, 2, `machines in flight at once: ${most}`);
        });

        it("gives a failed machine's slot back, so the others still finish", async () => {
            mod.setOnboardingParallelism(1);
            failJoinOf = "one-b";
            const nodes = ["one-a", "one-b", "one-c", "one-d"].map((n) => build(n));
            const settled = await within(5000, Promise.allSettled(nodes.map((n) => unwrap(n.nodeName))), "onboarding after a failed join with parallelism 1");
            assert.deepEqual(settled.map((r) => r.status), ["fulfilled", "rejected", "fulfilled", "fulfilled"]);
            assert.equal(most, 1, `machines in flight at once: ${most}`);
        });

        it("reports a failed step through the engine only, not as a crash of the program", async () => {
            // The engine prints the step's error; an unhandled rejection in the program is printed
            // as "failed with an unhandled exception" with a stack trace, which reads as our bug.
            const unhandled = await unhandledRejectionsOf(async () => {
                failJoinOf = "crash-b";
                const nodes = ["crash-a", "crash-b"].map((n) => build(n));
                await within(5000, Promise.allSettled(nodes.map((n) => unwrap(n.nodeName))), "onboarding with a failed join");
            });
            assert.deepEqual(unhandled.map(String), []);
        });

        it("admits no more machines than the engine runs steps at once, and says how to raise it", async () => {
            const warning = mod.setOnboardingParallelism(5, 2);
            assert.equal(
                warning,
                "parallelism is 5, but the engine runs 2 steps at once (pulumi up --parallel): at most 2 machines are registered, joined and verified at once; run `pulumi up --parallel 5` to onboard 5 at once",
            );
            const nodes = ["eng-a", "eng-b", "eng-c", "eng-d"].map((n) => build(n));
            await within(5000, Promise.all(nodes.map((n) => unwrap(n.nodeName))), "onboarding 4 machines under an engine limit of 2");
            assert.equal(most, 2, `machines in flight at once: ${most}`);
            assert.equal(mod.setOnboardingParallelism(5, 8), undefined);
            assert.equal(mod.setOnboardingParallelism(5, undefined), undefined);
        });

        it("reads the engine's step limit from the language host, and none when it sends none", async () => {
            const { engineParallelism } = await import("../../../components/onboardedNode/slots");
            assert.equal(engineParallelism({ PULUMI_NODEJS_PARALLEL: "8" }), 8);
            assert.equal(engineParallelism({ PULUMI_NODEJS_PARALLEL: "-1" }), undefined);
            assert.equal(engineParallelism({}), undefined);
        });

        it("rejects a parallelism below 1 naming the value and the fix", () => {
            assert.throws(() => mod.setOnboardingParallelism(0), /parallelism: 0 is not a whole number of machines of at least 1; set parallelism to 1 or more/);
        });
    });

    it("formats a precheck failure as its message, without walking the resource graph", async () => {
        observation = healthyObservation({}, { kubeadm: "v1.35.0\nexit=0" });
        const node = build("worker-8");
        const err = await unwrap(node.prechecksPassed).then(
            () => assert.fail("the precheck passed"),
            (e: Error) => e,
        );
        // The SDK inspects every unhandled error for its trace; the resource graph made that take 25 s.
        assert.equal(inspect(err, { colors: true, depth: Infinity }), err.message);
        assert.equal(err.stack, err.message, "printed without a trace into our sources");
        assert.ok(!Object.keys(err).includes("resource"), "resource must not be enumerable");
        assert.equal((err as pulumi.ResourceError).resource, node, "the engine still attributes the error to the machine's component");
    });

    it("rejects invalid arguments with every problem at once", () => {
        assert.throws(
            () => build("Bad_Name", { host: "10.0.0.5; rm -rf /", hostKey: "nope", port: 70000 }),
            (e: Error) => {
                assert.match(e.message, /invalid arguments for OnboardedNode "Bad_Name": 4 problems/);
                assert.match(e.message, /nodeId: "Bad_Name" is not a lowercase DNS-1123 name/);
                assert.match(e.message, /host: "10\.0\.0\.5; rm -rf \/" is not an IP address or DNS host name/);
                assert.match(e.message, /hostKey: "nope" is not a public host key/);
                assert.match(e.message, /port: number 70000/);
                return true;
            },
        );
    });
});

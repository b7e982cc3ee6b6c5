// Issue 14: the Pulumi YAML program of examples/yaml onboards the same machines through the provider plugin's
// construct of aios-onboarding:index:OnboardedNode. Runs before the secrets audit (3-secrets), so its states,
// outputs and the plugin's process lists are audited too.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { dump, load } from "js-yaml";
import { z } from "zod";
import type { ConfigMap } from "@pulumi/pulumi/automation";
import {
    aios,
    assertMentions,
    assertOnboarded,
    changedResources,
    E2EStack,
    excerpt,
    getNode,
    machine,
    machineJoinState,
    newStack,
    ok,
    projectDir,
    registerSuiteHooks,
    repoRoot,
    resetWorld,
    type StackSpec,
    world,
} from "./harness";

registerSuiteHooks();

const MIN = 60_000;
const EXAMPLE = path.join(repoRoot, "examples", "yaml", "Pulumi.yaml");
const PROJECT = "aios-onboarding-yaml";

const exampleProgram = z.looseObject({
    plugins: z.object({ providers: z.array(z.looseObject({ name: z.string(), path: z.string() })) }),
    resources: z.record(z.string(), z.looseObject({ type: z.string() })),
    outputs: z.object({ nodes: z.record(z.string(), z.string()) }),
});

/** The example's Pulumi.yaml, its plugin path made absolute, without the machines not in `keep`. */
function program(keep: string[]): string {
    const p = exampleProgram.parse(load(fs.readFileSync(EXAMPLE, "utf8")));
    for (const provider of p.plugins.providers) provider.path = path.resolve(path.dirname(EXAMPLE), provider.path);
    for (const [name, r] of Object.entries(p.resources)) {
        if (r.type === "aios-onboarding:index:OnboardedNode" && !keep.includes(name)) {
            delete p.resources[name];
            delete p.outputs.nodes[name];
        }
    }
    return dump(p, { lineWidth: -1 });
}

/** The stack config of examples/yaml/README.md, set as its commands do (`--path` keys into the object keys vpn and machines). */
function yamlConfig(spec: StackSpec): ConfigMap {
    const w = world();
    const cfg: ConfigMap = {
        clusterId: { value: w.aios.clusterId },
        registryUrl: { value: w.aios.registryUrl },
        protocol: { value: "gateway" },
        gatewayUrl: { value: w.aios.gatewayUrl },
        kubeconfig: { value: fs.readFileSync(w.kubernetes.kubeconfigPath, "utf8"), secret: true },
        sshPrivateKey: { value: fs.readFileSync(w.ssh.privateKeyPath, "utf8"), secret: true },
    };
    for (const [k, v] of Object.entries(spec.vpn ?? { interface: "wg0", cidr: "10.213.200.0/24" })) cfg[`vpn.${k}`] = { value: v };
    for (const m of spec.machines) {
        const wm = machine(typeof m === "string" ? m : m.m);
        cfg[`machines["${wm.nodeId}"].host`] = { value: wm.host };
        cfg[`machines["${wm.nodeId}"].hostKey`] = { value: wm.hostKey };
    }
    return cfg;
}

/** The lines of a precheck failure (machine, check, expected, found, fix), wherever the engine printed them. */
function precheckLines(text: string): string[] {
    const lines = text.split("\n").map((l) => l.trim());
    return [...new Set(lines.filter((l) => /^- vpn: expected /.test(l)).concat(lines.flatMap((l) => /machine worker-\d \(\S+\) failed \d+ prechecks?; nothing was changed:/.exec(l)?.[0] ?? [])))].sort();
}

describe("14. a Pulumi YAML program onboards the same machines (examples/yaml)", function () {
    this.timeout(15 * MIN);
    const ALL = ["m1", "m2", "m3"];
    let yaml: E2EStack;

    before(async function () {
        await resetWorld();
    });

    it("preview fails on a failed precheck with the message the TypeScript program gives, and changes nothing", async function () {
        const spec: StackSpec = { machines: [{ m: "m1", external: true }, "m2", "m3"], vpn: { interface: "wg9" } };
        const ts = await newStack("yaml-precheck-ts", spec);
        const tsPreview = await ts.preview();
        ok(!tsPreview.ok, "the TypeScript preview passed with a missing VPN interface");
        await ts.remove();

        const dir = projectDir("yaml", program(["worker-1", "worker-2", "worker-3"]));
        yaml = await E2EStack.create("yaml", spec, { dir, name: PROJECT, config: yamlConfig, pathKeys: true });
        const preview = await yaml.preview();
        ok(!preview.ok, `the YAML preview passed with a missing VPN interface:\n${excerpt(preview.text)}`);
        assertMentions(preview.text, [/vpn: expected interface wg9 up; found no interface wg9/]);
        const tsLines = precheckLines(tsPreview.text);
        ok(tsLines.length > 0, `no precheck lines in the TypeScript preview:\n${excerpt(tsPreview.text)}`);
        assert.deepEqual(precheckLines(preview.text), tsLines, "the YAML preview reports the prechecks otherwise than the TypeScript one");
        for (const m of ALL) assert.equal((await machineJoinState(m)).kubeletConf, false, `${m} was joined by a failed preview`);
    });

    it("up onboards the machines (Ready, labelled nodeID by the controller, the declared label and taint), and a second preview wants no changes", async function () {
        await yaml.configure({ machines: [{ m: "m1", external: true }, "m2", "m3"] });
        const up = await yaml.up();
        ok(up.ok, `YAML up failed:\n${excerpt(up.text)}`);
        for (const m of ALL) await assertOnboarded(machine(m).nodeId);
        const gpu = await getNode("worker-2");
        assert.equal(gpu?.metadata.labels?.["example.com/accelerator"], "nvidia");
        assert.deepEqual(gpu?.spec?.taints?.map((t) => `${t.key}=${t.value}:${t.effect}`), ["nvidia.com/gpu=present:NoSchedule"]);
        const nodes = z.record(z.string(), z.record(z.string(), z.string())).parse(up.outputs.nodes);
        assert.deepEqual(Object.keys(nodes).sort(), ["worker-1", "worker-2", "worker-3"]);
        for (const [id, labels] of Object.entries(nodes)) assert.equal(labels.nodeID, id, `${id}'s labels output: ${JSON.stringify(labels)}`);
        // The same children under the same names as the TypeScript component's.
        const urns = (await yaml.resources()).map((r) => r.urn.split("::").slice(2).join("::"));
        for (const child of ["prechecks", "registration", "join", "verify"]) ok(urns.some((u) => u.endsWith(`::worker-1-${child}`) && u.includes("aios-onboarding:index:OnboardedNode$")), `no worker-1-${child} under the component: ${urns.join(", ")}`);
        assert.deepEqual(await aios.registryEntryCounts(), { "worker-1": 1, "worker-2": 1, "worker-3": 1 });

        const again = await yaml.preview({ expectNoChanges: true });
        ok(again.ok, `preview after up wants changes:\n${excerpt(again.text)}\n${JSON.stringify(changedResources(again))}`);
    });

    it("a machine removed from the program is offboarded; destroy offboards the rest", async function () {
        fs.writeFileSync(path.join(yaml.project.dir, "Pulumi.yaml"), program(["worker-1", "worker-2"]));
        await yaml.configure({ machines: [{ m: "m1", external: true }, "m2"] });
        const up = await yaml.up();
        ok(up.ok, `up without worker-3 failed:\n${excerpt(up.text)}`);
        assert.equal(await getNode("worker-3"), undefined, "worker-3's Node is still there");
        assert.equal((await machineJoinState("m3")).kubeletConf, false, "m3 was not reset");
        assert.deepEqual(await aios.registryEntryCounts(), { "worker-1": 1, "worker-2": 1 });
        await assertOnboarded("worker-1");

        const destroy = await yaml.destroy();
        ok(destroy.ok, `destroy failed:\n${excerpt(destroy.text)}`);
        for (const m of ["m1", "m2"]) {
            assert.equal(await getNode(machine(m).nodeId), undefined, `${machine(m).nodeId}'s Node is still there`);
            assert.equal((await machineJoinState(m)).kubeletConf, false, `${m} was not reset`);
        }
        assert.deepEqual(await aios.registryEntryCounts(), {});
        // Into the secrets audit's corpus (3-secrets): the exported state, then the stack is gone.
        await yaml.remove();
    });
});

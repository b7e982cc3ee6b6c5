import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as ts from "typescript";
import { FROM_PROVIDER, packageSchema, type PropertySpec } from "../../../provider/schema";

const ARGS = path.join(__dirname, "..", "..", "..", "components", "onboardedNode", "args.ts");

interface Member {
    name: string;
    optional: boolean;
    doc: string;
}

/** The members of each interface of args.ts with their doc comments, as the TypeScript compiler reads them. */
function interfaces(): Map<string, Member[]> {
    const program = ts.createProgram([ARGS], { noEmit: true, skipLibCheck: true });
    const checker = program.getTypeChecker();
    const out = new Map<string, Member[]>();
    ts.forEachChild(program.getSourceFile(ARGS)!, (node) => {
        if (!ts.isInterfaceDeclaration(node)) return;
        out.set(
            node.name.text,
            node.members.filter(ts.isPropertySignature).map((m) => ({
                name: m.name.getText(),
                optional: m.questionToken !== undefined,
                doc: ts.displayPartsToString(checker.getSymbolAtLocation(m.name)!.getDocumentationComment(checker)),
            })),
        );
    });
    return out;
}

/** A doc comment as the schema states it: one line, `{@link X}` as X. */
/** Required in TypeScript; through construct they default to the serving provider's configuration (provider/construct.ts). */
const TAKEN_FROM_PROVIDER = new Set(["OnboardedNodeArgs.privateKey", "AiosClusterArgs.kubeconfig"]);
const normal = (doc: string) => doc.replace(/\{@link (\w+)\}/g, "$1").replace(/\s+/g, " ").trim();

describe("the package schema (GetSchema)", () => {
    const schema = packageSchema("1.2.3") as {
        version: string;
        resources: Record<string, { inputProperties: Record<string, PropertySpec>; requiredInputs: string[]; properties: Record<string, PropertySpec>; isComponent?: boolean }>;
        types: Record<string, { properties: Record<string, PropertySpec>; required?: string[] }>;
    };
    const node = schema.resources["aios-onboarding:index:OnboardedNode"];
    const declared = interfaces();
    const bySchema: [string, Record<string, PropertySpec>, string[]][] = [
        ["OnboardedNodeArgs", node.inputProperties, node.requiredInputs],
        ["AiosClusterArgs", schema.types["aios-onboarding:index:Cluster"].properties, schema.types["aios-onboarding:index:Cluster"].required ?? []],
        ["OnboardingTimeouts", schema.types["aios-onboarding:index:Timeouts"].properties, schema.types["aios-onboarding:index:Timeouts"].required ?? []],
    ];

    it("has every input of OnboardedNodeArgs (and of its cluster and timeouts), each with the description of args.ts", () => {
        for (const [iface, properties] of bySchema) {
            const members = declared.get(iface);
            assert.ok(members && members.length > 0, `no interface ${iface} in args.ts`);
            assert.deepEqual(Object.keys(properties).sort(), members.map((m) => m.name).sort(), `${iface}: the schema's properties differ from args.ts`);
            for (const m of members) {
                assert.ok(m.doc, `${iface}.${m.name} has no doc comment in args.ts`);
                const fromProvider = TAKEN_FROM_PROVIDER.has(`${iface}.${m.name}`) ? FROM_PROVIDER(m.name) : "";
                assert.equal(properties[m.name].description, normal(m.doc) + fromProvider, `${iface}.${m.name}: the schema's description is not args.ts's`);
            }
        }
    });

    it("requires exactly the inputs args.ts requires, except those construct takes from the provider, and states a default for every optional one", () => {
        for (const [iface, properties, required] of bySchema) {
            const members = declared.get(iface)!;
            const requiredHere = members.filter((m) => !m.optional && !TAKEN_FROM_PROVIDER.has(`${iface}.${m.name}`));
            assert.deepEqual([...required].sort(), requiredHere.map((m) => m.name).sort(), `${iface}: required inputs`);
            for (const m of members.filter((x) => x.optional || TAKEN_FROM_PROVIDER.has(`${iface}.${x.name}`))) {
                assert.match(properties[m.name].description ?? "", /Defaults to|Required with|; see /, `${iface}.${m.name} says nothing of its default`);
            }
        }
    });

    it("marks the SSH key and the kubeconfig secret, and nothing else of the component", () => {
        const secrets = bySchema.flatMap(([iface, properties]) => Object.entries(properties).filter(([, p]) => p.secret).map(([k]) => `${iface}.${k}`));
        assert.deepEqual(secrets.sort(), ["AiosClusterArgs.kubeconfig", "OnboardedNodeArgs.privateKey"]);
        const registration = schema.resources["aios-onboarding:index:Registration"];
        assert.equal(registration.properties.joinConfiguration.secret, true, "the registration's join configuration (it holds the token) is not secret");
    });

    it("lists the component's outputs and the custom resources, with every $ref resolvable", () => {
        assert.equal(node.isComponent, true);
        assert.deepEqual(Object.keys(node.properties).sort(), ["addresses", "kubeletVersion", "labels", "nodeName", "prechecks"]);
        assert.deepEqual(Object.keys(schema.resources).sort(), ["aios-onboarding:index:OnboardedNode", "aios-onboarding:index:Prechecks", "aios-onboarding:index:Registration", "aios-onboarding:index:Verification"]);
        assert.equal(schema.version, "1.2.3");
        const refs = JSON.stringify(schema).match(/"#\/types\/[^"]+"/g) ?? [];
        for (const r of refs) assert.ok(JSON.parse(r).slice("#/types/".length) in schema.types, `dangling ${r}`);
    });
});

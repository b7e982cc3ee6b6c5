// The package schema the plugin returns from GetSchema: what a Pulumi YAML program (or an SDK generated with
// `pulumi package gen-sdk`) sees of aios-onboarding. OnboardedNode's inputs are written out here with the
// descriptions of components/onboardedNode/args.ts (test/unit/provider/schema.test.ts holds the two
// together); the custom resources' properties come from the zod schemas the provider validates them with.
import { z } from "zod";
import { prechecksInputs, prechecksOutputs, PRECHECKS_TYPE } from "../components/prechecks/prechecksResource";
import { registrationInputs } from "../components/registration/register";
import { registrationOutputs, REGISTRATION_TYPE } from "../components/registration/registrationResource";
import { verificationInputs, verificationOutputs, VERIFICATION_TYPE } from "../components/verify/verificationResource";
import { PRECHECK_NAMES } from "../components/prechecks/checks";
import { ONBOARDED_NODE_TYPE } from "../components/onboardedNode/typeToken";

export const PACKAGE = "aios-onboarding";

/** A property of the Pulumi package schema (the subset this package uses). */
export interface PropertySpec {
    type?: "string" | "integer" | "number" | "boolean" | "array" | "object";
    $ref?: string;
    items?: PropertySpec;
    additionalProperties?: PropertySpec;
    description?: string;
    secret?: boolean;
    default?: string | number | boolean;
    enum?: { value: string }[];
}

interface ObjectTypeSpec {
    type: "object";
    description?: string;
    properties: Record<string, PropertySpec>;
    required?: string[];
}

interface ResourceSpec {
    description: string;
    isComponent?: boolean;
    inputProperties: Record<string, PropertySpec>;
    requiredInputs: string[];
    properties: Record<string, PropertySpec>;
    required: string[];
}

const ANY: PropertySpec = { $ref: "pulumi.json#/Any" };
const str = (description: string, extra: Partial<PropertySpec> = {}): PropertySpec => ({ type: "string", description, ...extra });
const int = (description: string, dflt?: number): PropertySpec => ({ type: "integer", description, ...(dflt === undefined ? {} : { default: dflt }) });
const bool = (description: string, dflt?: boolean): PropertySpec => ({ type: "boolean", description, ...(dflt === undefined ? {} : { default: dflt }) });
const ref = (type: string, description: string): PropertySpec => ({ $ref: `#/types/${PACKAGE}:index:${type}`, description });

/** What construct adds to the doc of the inputs it can take from the serving provider (construct.ts). */
export const FROM_PROVIDER = (key: string): string => ` Defaults to the \`${key}\` of the aios-onboarding provider serving the component (stored once for the stack).`;

const clusterType: ObjectTypeSpec = {
    type: "object",
    description: "The AIOS cluster a node joins. One value is typically shared by every node of a stack.",
    properties: {
        clusterId: str("The AIOS cluster id (the registry document's `id`)."),
        registryUrl: str("Base URL of the AIOS cluster registry, e.g. `http://registry:30101`."),
        protocol: str(
            'How nodes register: `"gateway"` (dry run + `join-node`, what the AIOS code runs) or `"parser"` (the documented `addNode`, then the registry\'s static join command). Defaults to `"gateway"`.',
            { default: "gateway" },
        ),
        gatewayUrl: str("The cluster-controller-gateway URL. Required with the gateway protocol."),
        parserUrl: str("The parser API URL. Required with the parser protocol."),
        customIp: str("Gateway only: a key of the cluster's `config.secondaryIPs` to join through. Defaults to none."),
        vpn: ref(
            "Vpn",
            "The cluster's VPN, when it has one (AIOS has no field for it). Machines must have this interface up (and an address in `cidr`, if given) before anything else happens. Defaults to no VPN.",
        ),
        kubeadmVersion: str("The kubeadm version machines must have. Defaults to the registry's `clusterMetadata.additionalInfo.kubeadmVersion`, else the API server's version."),
        joinToken: str(
            'Parser protocol only: what a machine joins with. `"registry"`: the registry\'s static `joinCommand`, shared by every joiner and never deleted (its expiry is reported by the join-command precheck). `"mint"`: a bootstrap token minted for this machine with the admin kubeconfig, expiring after `joinTokenMinutes`, deleted once the machine is verified or its join failed; the static command gives only the endpoint and CA hash. Defaults to `"registry"`. (The gateway protocol always joins with the token AIOS minted for the machine, given an expiration and deleted the same way.)',
            { default: "registry" },
        ),
        joinTokenMinutes: int("How long a machine's own join token lives, in minutes, 1 to 15: a minted one, or the gateway's (AIOS makes it never-expiring; the registration sets its expiration). Defaults to 15.", 15),
        kubeconfig: str(`Admin kubeconfig of the cluster (contents, YAML or JSON). Secret.${FROM_PROVIDER("kubeconfig")}`, { secret: true }),
    },
    required: ["clusterId", "registryUrl"],
};

const timeoutsType: ObjectTypeSpec = {
    type: "object",
    description: "Timeouts in seconds; each defaults to the value shown.",
    properties: {
        sshConnectSeconds: int("SSH connect timeout. Defaults to 10.", 10),
        httpSeconds: int("Each AIOS HTTP request. Defaults to 10.", 10),
        joinSeconds: int("`kubeadm join` on the machine, enforced there with `timeout`. Defaults to 300.", 300),
        verifySeconds: int("Waiting for the Node to be Ready and labelled `nodeID`. Defaults to 360.", 360),
        drainSeconds: int("Draining the node on removal. Defaults to 120.", 120),
    },
};

/** OnboardedNode's inputs: OnboardedNodeArgs, field by field. */
export const onboardedNodeInputs: Record<string, PropertySpec> = {
    cluster: ref("Cluster", "The cluster to join."),
    nodeId: str("The AIOS node id, which is also the Kubernetes node name: a lowercase DNS-1123 name."),
    host: str("The machine's SSH address (IP or DNS name)."),
    hostKey: str("The machine's SSH host key, pinned (`ssh-ed25519 AAAA…`). Required: there is no trust-on-first-use."),
    port: int("SSH port. Defaults to 22.", 22),
    user: str("SSH user: root, or a user with passwordless sudo. Defaults to `root`.", { default: "root" }),
    privateKey: str(`SSH private key (OpenSSH or PEM). Secret.${FROM_PROVIDER("privateKey")}`, { secret: true }),
    external: bool(
        "Whether the machine joins over the public internet. External machines need `config.allowExternalNodes`, a static IP and 10250/TCP free, and join through the cluster's public host name. Defaults to false.",
        false,
    ),
    address: str("The machine's own static IP, checked for external machines. Defaults to `host`."),
    vpn: bool("Whether the cluster's VPN applies to this machine. Defaults to true when the cluster has one."),
    labels: {
        type: "object",
        additionalProperties: { type: "string" },
        description: "Extra Node labels, applied after verification by the `${name}-labels` NodePatch (never `nodeID`). Only these keys are ours: others' labels are never touched. Defaults to none.",
    },
    taints: {
        type: "array",
        items: { $ref: `#/types/${PACKAGE}:index:Taint` },
        description:
            "Node taints, applied after verification by the same NodePatch. Taints are one atomic list in the Node API, so declared taints become the Node's whole taint list; with none declared the list is not touched. Defaults to none.",
    },
    tags: { type: "array", items: { type: "string" }, description: "AIOS tags sent with the registration. Defaults to none." },
    nodeMetadata: { type: "object", additionalProperties: ANY, description: "Free-form AIOS node metadata sent with the registration. Defaults to none." },
    forceRemove: bool(
        "Remove the machine without contacting it: no reachability check and no `kubeadm reset` on delete. Set it (and `pulumi up`) before removing a machine that is gone for good. Defaults to false.",
        false,
    ),
    timeouts: ref("Timeouts", "Timeouts; see OnboardingTimeouts."),
};

/** What OnboardedNode outputs (its public Output properties), as construct returns them. */
export const onboardedNodeOutputs: Record<string, PropertySpec> = {
    nodeName: str("The Kubernetes node name (= the AIOS node id)."),
    labels: { type: "object", additionalProperties: { type: "string" }, description: "The Node's labels when it was verified, `nodeID` included." },
    kubeletVersion: str("The kubelet version the Node reports."),
    addresses: { type: "array", items: { $ref: `#/types/${PACKAGE}:index:NodeAddress` }, description: "The Node's addresses." },
    prechecks: { type: "array", items: { $ref: `#/types/${PACKAGE}:index:PrecheckResult` }, description: "What each precheck expected and found." },
};

const fixedTypes: Record<string, ObjectTypeSpec> = {
    Cluster: clusterType,
    Timeouts: timeoutsType,
    Vpn: {
        type: "object",
        description: "The cluster's VPN.",
        properties: { interface: str("The VPN interface machines must have up, e.g. `wg0`."), cidr: str("The VPN network the interface's address must be in. Defaults to any.") },
        required: ["interface"],
    },
    Taint: {
        type: "object",
        description: "A Node taint.",
        properties: { key: str("The taint key."), value: str("The taint value. Defaults to none."), effect: str("`NoSchedule`, `PreferNoSchedule` or `NoExecute`.") },
        required: ["key", "effect"],
    },
    NodeAddress: { type: "object", description: "One of the Node's addresses.", properties: { type: str("`InternalIP`, `ExternalIP` or `Hostname`."), address: str("The address.") }, required: ["type", "address"] },
    PrecheckResult: {
        type: "object",
        description: "What one precheck expected and found.",
        properties: {
            check: str(`The precheck: ${PRECHECK_NAMES.join(", ")}.`),
            expected: str("What the check expects."),
            observed: str("What it found."),
            status: str("`passed`, `failed`, `skipped` or `warning`."),
            fix: str("What to do about it (failed checks and warnings only)."),
        },
        required: ["check", "expected", "observed", "status"],
    },
};

/** Keys whose values are secrets wherever they appear in a custom resource's properties. */
const SECRET_KEYS = new Set(["privateKey", "kubeconfig", "joinConfiguration"]);

const jsonSchemaNode = z.looseObject({
    type: z.union([z.string(), z.array(z.string())]).optional(),
    properties: z.record(z.string(), z.unknown()).optional(),
    required: z.array(z.string()).optional(),
    items: z.unknown().optional(),
    additionalProperties: z.unknown().optional(),
    enum: z.array(z.unknown()).optional(),
    anyOf: z.array(z.unknown()).optional(),
    default: z.unknown().optional(),
    description: z.string().optional(),
});

/** `type` of a JSON Schema node without `null` (zod writes a nullable scalar as `["string", "null"]`). */
function nonNullType(node: z.infer<typeof jsonSchemaNode>): string | undefined {
    const types = (Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type]).filter((t) => t !== "null");
    return types.length === 1 ? types[0] : undefined;
}

/** Clearer names for the nested types of the custom resources than their keys. */
const TYPE_NAMES: Record<string, string> = { Node: "NodeInventory", Ssh: "SshTarget", ChecksItem: "PrecheckRow", AddressesItem: "VerifiedAddress", GpusItem: "Gpu" };

const pascal = (key: string) => `${key[0].toUpperCase()}${key.slice(1)}`;

/**
 * A zod object schema as Pulumi schema properties: nested objects become named types (named by their key,
 * shared where two resources hold the same shape), nullable and optional values are optional, and keys
 * that hold secrets are marked secret.
 */
class ZodTypes {
    readonly types: Record<string, ObjectTypeSpec> = {};

    constructor(private readonly reserved: Set<string>) {}

    object(schema: z.ZodType): ObjectTypeSpec {
        return this.fromJson(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }), "");
    }

    private fromJson(json: unknown, prefix: string): ObjectTypeSpec {
        const node = jsonSchemaNode.parse(json);
        const properties: Record<string, PropertySpec> = {};
        for (const [key, value] of Object.entries(node.properties ?? {})) {
            properties[key] = { ...this.property(`${prefix}${pascal(key)}`, value), ...(SECRET_KEYS.has(key) ? { secret: true } : {}) };
        }
        const required = (node.required ?? []).filter((k) => !this.nullable(node.properties?.[k]));
        return { type: "object", properties, ...(required.length ? { required } : {}) };
    }

    private nullable(json: unknown): boolean {
        const node = jsonSchemaNode.safeParse(json);
        if (!node.success) return false;
        const types = Array.isArray(node.data.type) ? node.data.type : [];
        return types.includes("null") || (node.data.anyOf ?? []).some((a) => jsonSchemaNode.safeParse(a).data?.type === "null");
    }

    /** The name of a nested object type: its key, or its parent's key and its own when the key is taken by another shape. */
    private named(name: string, parentPrefixed: string, spec: ObjectTypeSpec): string {
        for (const candidate of [name, parentPrefixed]) {
            const taken = this.types[candidate];
            if (!taken && !this.reserved.has(candidate)) {
                this.types[candidate] = spec;
                return candidate;
            }
            if (taken && JSON.stringify(taken) === JSON.stringify(spec)) return candidate;
        }
        throw new Error(`schema: two shapes named ${parentPrefixed}`);
    }

    private property(path: string, json: unknown): PropertySpec {
        const node = jsonSchemaNode.parse(json);
        const variants = (node.anyOf ?? []).filter((a) => jsonSchemaNode.safeParse(a).data?.type !== "null");
        if (variants.length === 1) return this.property(path, variants[0]);
        if (variants.length > 1) return ANY;
        const described = (p: PropertySpec): PropertySpec => ({ ...p, ...(node.description ? { description: node.description } : {}) });
        const type = nonNullType(node);
        switch (type) {
            case "string":
            case "integer":
            case "number":
            case "boolean":
                return described({ type });
            case "array":
                return described({ type: "array", items: node.items === undefined ? ANY : this.property(`${path}Item`, node.items) });
            case "object": {
                if (node.properties && Object.keys(node.properties).length > 0) {
                    const spec = this.fromJson(json, path);
                    const words = path.match(/[A-Z][a-z0-9]*/g) ?? [path];
                    const own = words.slice(words[words.length - 1] === "Item" ? -2 : -1).join("");
                    const name = this.named(TYPE_NAMES[own] ?? own, words.slice(-3).join(""), spec);
                    return described({ $ref: `#/types/${PACKAGE}:index:${name}` });
                }
                const values = node.additionalProperties;
                return described({ type: "object", additionalProperties: values && typeof values === "object" ? this.property(`${path}Value`, values) : ANY });
            }
            default:
                return ANY;
        }
    }
}

/** A custom resource of the plugin, from the zod schemas of its inputs and outputs. */
function customResource(types: ZodTypes, inputs: z.ZodType, outputs: z.ZodType, description: string): ResourceSpec {
    const i = types.object(inputs);
    const o = types.object(outputs);
    return { description, inputProperties: i.properties, requiredInputs: i.required ?? [], properties: o.properties, required: o.required ?? [] };
}

const INTERNAL = "It is a child of OnboardedNode, which declares it with inputs it computed; declare OnboardedNode instead.";

/** The package schema, as `pulumi package get-schema` prints it. */
export function packageSchema(version: string): Record<string, unknown> {
    const generated = new ZodTypes(new Set(Object.keys(fixedTypes)));
    const resources: Record<string, ResourceSpec> = {
        [ONBOARDED_NODE_TYPE]: {
            description:
                "Joins an existing machine to an AIOS Kubernetes cluster and proves the AIOS Cluster Controller accepted it: prechecks (evaluated at preview), AIOS registration, `kubeadm join` over SSH, verification that the Node is Ready and labelled `nodeID`. Deleting it offboards the machine.",
            isComponent: true,
            inputProperties: onboardedNodeInputs,
            requiredInputs: ["cluster", "nodeId", "host", "hostKey"],
            properties: onboardedNodeOutputs,
            required: Object.keys(onboardedNodeOutputs),
        },
        [PRECHECKS_TYPE]: customResource(generated, prechecksInputs, prechecksOutputs, `A machine's table of prechecks, as OnboardedNode observed them. ${INTERNAL}`),
        [REGISTRATION_TYPE]: customResource(generated, registrationInputs, registrationOutputs, `A machine's AIOS registration; its delete resets the machine. ${INTERNAL}`),
        [VERIFICATION_TYPE]: customResource(generated, verificationInputs, verificationOutputs, `The proof that a machine's Node is Ready and labelled by AIOS; its delete drains and deregisters it. ${INTERNAL}`),
    };
    const types = Object.fromEntries(Object.entries({ ...fixedTypes, ...generated.types }).map(([k, v]) => [`${PACKAGE}:index:${k}`, v]));
    return {
        name: PACKAGE,
        displayName: "AIOS node onboarding",
        version,
        description: "Declarative node onboarding for AIOS clusters: prechecks, AIOS registration, kubeadm join over SSH and verification, as resources.",
        keywords: ["aios", "kubernetes", "kubeadm", "category/infrastructure", "kind/component"],
        license: "Apache-2.0",
        meta: { moduleFormat: "(.*)", supportPack: true },
        config: {},
        provider: {
            description: "The aios-onboarding provider: holds the cluster's admin kubeconfig and the machines' SSH key once per stack, for every machine's resources.",
            inputProperties: {
                kubeconfig: str("Admin kubeconfig of the cluster (contents). Secret.", { secret: true }),
                privateKey: str("The SSH private key of the machines whose OnboardedNode gives none of its own. Secret.", { secret: true }),
            },
        },
        resources,
        types,
        language: {
            go: { importBasePath: "github.com/aios-onboarding/aios-onboarding/sdk/go/aiosonboarding", modulePath: "github.com/aios-onboarding/aios-onboarding/sdk/go" },
            nodejs: { packageName: "aios-onboarding" },
        },
    };
}

/**
 * zod schemas for the two AIOS documents the onboarding exchanges: the cluster document we read
 * from the registry and the node document we send to the parser or gateway.
 */
import { z } from "zod";
import { formatPath, valueAt } from "../config/errors";

// ---------------------------------------------------------------------------------------------
// Cluster document (as `GET {registry}/clusters/:id` returns it)
// ---------------------------------------------------------------------------------------------

/**
 * One `nodes.nodeData[]` entry. The registry stores these as Mixed (contract §2.2), so only `id`
 * is checked; every other key is kept as is, because `removeNodeEntry` writes the remaining
 * entries back unchanged.
 */
export const nodeEntrySchema = z.looseObject({
    id: z.string().optional(),
});

/**
 * The fields of a cluster document the onboarding uses. The registry returns the bare Mongoose
 * document with `_id`/`__v` and no envelope (contract §2.1); `config` and `clusterMetadata` are
 * Mixed (contract §2.2), so every field read from them is optional and unknown keys are ignored.
 * `status` is in the docs but stripped by the registry's schema, so it is usually absent.
 */
export const clusterDocumentSchema = z.object({
    id: z.string(),
    status: z.string().optional(),
    nodes: z
        .looseObject({
            count: z.number().optional(),
            nodeData: z.array(nodeEntrySchema).optional(),
        })
        .optional(),
    config: z
        .looseObject({
            // contract §2.3: advisory, nothing in AIOS reads it; enforced client-side.
            allowExternalNodes: z.boolean().optional(),
            publicHostname: z.string().optional(),
            // contract §2.3: code-only fields the gateway join flow needs.
            localNetworkHostName: z.string().optional(),
            certHash: z.string().optional(),
            secondaryIPs: z.record(z.string(), z.string()).optional(),
            urlMap: z.looseObject({ membershipServer: z.string().optional() }).optional(),
        })
        .optional(),
    clusterMetadata: z
        .looseObject({
            // contract §2.3: free-form metadata typed in by the operator.
            additionalInfo: z
                .looseObject({
                    joinCommand: z.string().optional(),
                    kubeadmVersion: z.string().optional(),
                })
                .optional(),
        })
        .optional(),
});

/** A cluster document, reduced to the fields the onboarding uses. */
export type ClusterDocument = z.infer<typeof clusterDocumentSchema>;
/** One `nodes.nodeData[]` entry, with all of its keys. */
export type NodeEntry = z.infer<typeof nodeEntrySchema>;

/** Parse result: the document, or one line per bad path (`path: expected X, found Y`). */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** Parses a cluster document, collecting every problem instead of stopping at the first. */
export function parseClusterDocument(input: unknown): ParseResult<ClusterDocument> {
    return parseWith(clusterDocumentSchema, input);
}

// ---------------------------------------------------------------------------------------------
// Node document (what we send; contract §3.5)
// ---------------------------------------------------------------------------------------------

const mb = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

/**
 * A lowercase DNS-1123 subdomain: the node id becomes the Kubernetes node name, and the AIOS
 * waiter labels the node whose name equals the id (contract §6.1).
 */
const nodeId = z
    .string()
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a lowercase DNS-1123 name (it becomes the Kubernetes node name)");

/**
 * The node document sent to `addNode`, the dry runs and `join-node`. Sizes are integers in MB
 * (contract §2.2). Arrays are required, never null: a null `gpus.gpus`/`modelNames`/`features`
 * makes the membership server crash after labelling, so the node never enters the registry
 * (contract §9.2 item 1).
 */
export const nodeDocumentSchema = z.object({
    id: nodeId,
    gpus: z.object({
        count,
        /** Total GPU memory, MB. */
        memory: mb,
        gpus: z.array(z.object({ modelName: z.string(), memory: mb })),
        modelNames: z.array(z.string()),
        features: z.array(z.string()),
    }),
    vcpus: z.object({ count }),
    memory: mb,
    swap: mb,
    storage: z.object({ disks: count, size: mb }),
    // contract §2.2: bandwidth is an opaque number (MBps or Mbps depending on the page).
    network: z.object({ interfaces: count, txBandwidth: z.number().nonnegative(), rxBandwidth: z.number().nonnegative() }),
    tags: z.array(z.string()),
    nodeMetadata: z.record(z.string(), z.unknown()),
});

/** A node document as AIOS expects it. */
export type NodeDocument = z.infer<typeof nodeDocumentSchema>;

/**
 * Checks a node document before it is sent, and throws one Error listing every bad field.
 * A bad document is a bug in the caller, not an AIOS answer, so this is not an AiosError.
 */
export function parseNodeDocument(input: unknown): NodeDocument {
    const result = parseWith(nodeDocumentSchema, input);
    if (result.ok) return result.value;
    const id = (input as { id?: unknown } | null)?.id;
    throw new Error(`invalid node document${typeof id === "string" ? ` for "${id}"` : ""}: ${result.problems.join("; ")}`);
}

// ---------------------------------------------------------------------------------------------
// Problem listing
// ---------------------------------------------------------------------------------------------

function parseWith<T>(schema: z.ZodType<T>, input: unknown): ParseResult<T> {
    const result = schema.safeParse(input);
    if (result.success) return { ok: true, value: result.data };
    return { ok: false, problems: result.error.issues.map((issue) => describeIssue(issue, input)) };
}

/** `config.allowExternalNodes: expected boolean, found string "yes"`. */
function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
    const path = formatPath("", issue.path) || "(document)";
    const found = valueAt(input, issue.path);
    const expected =
        issue.code === "invalid_type"
            ? `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`
            : issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
    return `${path}: ${expected}, found ${describeValue(found)}`;
}

// zod's names for types that users know by another name.
const TYPE_NAMES: Record<string, string> = { int: "integer", record: "object" };


/** `string "yes"`, `number 3`, `array of 2`, `object`, `nothing`: short, and never a long string. */
function describeValue(value: unknown): string {
    if (value === undefined) return "nothing";
    if (value === null) return "null";
    if (Array.isArray(value)) return `array of ${value.length}`;
    if (typeof value === "string") return value.length > 60 ? `a ${value.length}-character string` : `string ${JSON.stringify(value)}`;
    if (typeof value === "object") return "object";
    return `${typeof value} ${String(value)}`;
}

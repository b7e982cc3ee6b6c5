/**
 * Just enough Mongoose + MongoDB for the cluster registry stand-in: the code schema of
 * `services/registries/clusters/src/schema.js` with strict mode, casting and required-field
 * validation on create, query filters, and `findOneAndUpdate` update documents.
 *
 * Behaviour taken from the recorded vectors rather than from Mongoose itself: in an update, a key
 * naming a nested schema object as a whole (`{"vcpus": {"count": 16}}`) is dropped like any
 * path outside the schema; only leaf paths and paths inside Mixed fields are written. That is what
 * the registry emulation the vectors were recorded against did (vector 41: the membership
 * server's `/sync-cluster` updates `memory` but not `vcpus`, `storage` or `network`).
 */

export type Doc = Record<string, unknown>;

type Leaf = { kind: "string" | "number" | "mixed" | "stringArray" | "mixedArray"; required?: boolean };
type Nested = { kind: "nested"; fields: Record<string, SchemaNode> };
type SchemaNode = Leaf | Nested;

const num = (required = true): Leaf => ({ kind: "number", required });

/** schema.js at AIGr.id 6b2b17a, in declaration order. */
export const clusterSchema: Nested = {
    kind: "nested",
    fields: {
        id: { kind: "string", required: true },
        regionId: { kind: "string", required: true },
        nodes: { kind: "nested", fields: { count: num(), nodeData: { kind: "mixedArray" } } },
        gpus: { kind: "nested", fields: { count: num(), memory: num() } },
        vcpus: { kind: "nested", fields: { count: num() } },
        memory: num(),
        swap: num(),
        storage: { kind: "nested", fields: { disks: num(), size: num() } },
        network: { kind: "nested", fields: { interfaces: num(), txBandwidth: num(), rxBandwidth: num() } },
        config: { kind: "mixed" },
        tags: { kind: "stringArray", required: true },
        clusterMetadata: { kind: "mixed", required: true },
        reputation: num(),
    },
};

/** An error the registry reports as `500 {"error": message}`. */
export class MongoError extends Error {}

function isObj(v: unknown): v is Doc {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
    return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function typeLabel(v: unknown): string {
    if (Array.isArray(v)) return "Array";
    if (v === null) return "null";
    if (typeof v === "object") return "Object";
    return typeof v;
}

function castError(kind: string, v: unknown, path: string): Error {
    const shown = typeof v === "string" ? v : JSON.stringify(v);
    return new MongoError(`Cast to ${kind} failed for value "${shown}" (type ${typeLabel(v)}) at path "${path}"`);
}

function castNumber(v: unknown, path: string): number | null {
    if (v === null) return null;
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
    throw castError("Number", v, path);
}

function castString(v: unknown, path: string): string | null {
    if (v === null) return null;
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    throw castError("string", v, path);
}

function castLeaf(leaf: Leaf, v: unknown, path: string): unknown {
    switch (leaf.kind) {
        case "number":
            return castNumber(v, path);
        case "string":
            return castString(v, path);
        case "mixed":
            return clone(v);
        case "stringArray":
            return (Array.isArray(v) ? v : [v]).map((x, i) => castString(x, `${path}.${i}`));
        case "mixedArray":
            return clone(Array.isArray(v) ? v : [v]);
    }
}

/** Schema node at a dotted path, and whether the path lies inside a Mixed field. */
function schemaAt(path: string): { node?: SchemaNode; insideMixed: boolean } {
    let node: SchemaNode = clusterSchema;
    const parts = path.split(".");
    for (let i = 0; i < parts.length; i++) {
        if (node.kind === "mixed") return { insideMixed: true };
        if (node.kind === "mixedArray") return { insideMixed: true };
        if (node.kind !== "nested") return { insideMixed: false };
        const next: SchemaNode | undefined = node.fields[parts[i]];
        if (!next) return { insideMixed: false };
        node = next;
    }
    return { node, insideMixed: false };
}

let counter = Math.floor(Math.random() * 0xffffff);
const processRandom = Array.from({ length: 5 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, "0")).join("");

/** A fresh ObjectId as Mongoose serialises it: 24 hex digits (time, random, counter). */
export function objectId(): string {
    counter = (counter + 1) % 0xffffff;
    return Math.floor(Date.now() / 1000).toString(16).padStart(8, "0") + processRandom + counter.toString(16).padStart(6, "0");
}

/**
 * `new Cluster(body)` + `validate()`: keeps only schema paths (strict mode), casts, fills array
 * defaults, and reports missing required paths the way Mongoose's ValidationError does.
 */
export function buildClusterDoc(body: unknown): Doc {
    const input = isObj(body) ? body : {};
    const errors: string[] = [];
    const walk = (schema: Nested, src: unknown, prefix: string): Doc => {
        const out: Doc = {};
        const s = isObj(src) ? src : {};
        for (const [key, node] of Object.entries(schema.fields)) {
            const path = prefix + key;
            const v = s[key];
            if (node.kind === "nested") {
                out[key] = walk(node, v, path + ".");
                continue;
            }
            let cast: unknown;
            if (v === undefined) cast = node.kind === "stringArray" || node.kind === "mixedArray" ? [] : undefined;
            else {
                try {
                    cast = castLeaf(node, v, path);
                } catch (e) {
                    errors.push(`${path}: ${(e as Error).message}`);
                    continue;
                }
            }
            if (cast === undefined || cast === null) {
                if (node.required) errors.push(`${path}: Path \`${path}\` is required.`);
                if (cast === null) out[key] = null;
                continue;
            }
            out[key] = cast;
        }
        return out;
    };
    const doc = walk(clusterSchema, input, "");
    if (errors.length > 0) throw new MongoError(`Cluster validation failed: ${errors.join(", ")}`);
    return { _id: objectId(), ...doc, __v: 0 };
}

// ---------------------------------------------------------------- queries

/** Values a dotted path reaches, descending into arrays the way MongoDB does. */
function valuesAt(v: unknown, parts: string[]): unknown[] {
    if (parts.length === 0) return [v];
    const [head, ...rest] = parts;
    if (Array.isArray(v)) {
        const out: unknown[] = [];
        if (/^\d+$/.test(head) && Number(head) < v.length) out.push(...valuesAt(v[Number(head)], rest));
        for (const el of v) if (isObj(el) || Array.isArray(el)) out.push(...valuesAt(el, parts));
        return out;
    }
    if (isObj(v)) return head in v ? valuesAt(v[head], rest) : [undefined];
    return [undefined];
}

export function deepEqual(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
    if (isObj(a) && isObj(b)) {
        const ka = Object.keys(a);
        const kb = Object.keys(b);
        return ka.length === kb.length && ka.every((k, i) => k === kb[i] && deepEqual(a[k], b[k]));
    }
    return false;
}

function eqMatch(candidates: unknown[], want: unknown): boolean {
    return candidates.some((c) => {
        if (want === null && (c === undefined || c === null)) return true;
        if (deepEqual(c, want)) return true;
        return Array.isArray(c) && c.some((el) => deepEqual(el, want));
    });
}

function flatCandidates(candidates: unknown[]): unknown[] {
    return candidates.flatMap((c) => (Array.isArray(c) ? [c, ...c] : [c]));
}

function cmp(a: unknown, b: unknown): number | undefined {
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
    return undefined;
}

function castQueryValue(path: string, v: unknown): unknown {
    const { node } = schemaAt(path);
    if (node?.kind === "number" && typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
    return v;
}

function opMatch(path: string, candidates: unknown[], ops: Doc): boolean {
    for (const [op, raw] of Object.entries(ops)) {
        const arg = Array.isArray(raw) ? raw.map((x) => castQueryValue(path, x)) : castQueryValue(path, raw);
        const flat = flatCandidates(candidates).filter((c) => c !== undefined);
        let ok: boolean;
        switch (op) {
            case "$eq":
                ok = eqMatch(candidates, arg);
                break;
            case "$ne":
                ok = !eqMatch(candidates, arg);
                break;
            case "$gt":
            case "$gte":
            case "$lt":
            case "$lte":
                ok = flat.some((c) => {
                    const d = cmp(c, arg);
                    if (d === undefined) return false;
                    return op === "$gt" ? d > 0 : op === "$gte" ? d >= 0 : op === "$lt" ? d < 0 : d <= 0;
                });
                break;
            case "$in":
                if (!Array.isArray(arg)) throw new MongoError("$in needs an array");
                ok = arg.some((a) => eqMatch(candidates, a));
                break;
            case "$nin":
                if (!Array.isArray(arg)) throw new MongoError("$nin needs an array");
                ok = !arg.some((a) => eqMatch(candidates, a));
                break;
            case "$exists":
                ok = candidates.some((c) => c !== undefined) === Boolean(arg);
                break;
            case "$size":
                ok = candidates.some((c) => Array.isArray(c) && c.length === arg);
                break;
            case "$elemMatch":
                if (!isObj(arg)) throw new MongoError("$elemMatch needs an Object");
                ok = candidates.some((c) => Array.isArray(c) && c.some((el) => (isObj(el) ? matches(el, arg) : opMatch(path, [el], arg))));
                break;
            case "$regex": {
                const flags = typeof ops.$options === "string" ? ops.$options : "";
                const re = new RegExp(String(raw), flags);
                ok = flat.some((c) => typeof c === "string" && re.test(c));
                break;
            }
            case "$options":
                ok = true;
                break;
            case "$not":
                ok = !(isObj(arg) ? opMatch(path, candidates, arg) : eqMatch(candidates, arg));
                break;
            default:
                throw new MongoError(`unknown operator: ${op}`);
        }
        if (!ok) return false;
    }
    return true;
}

/** Whether a document matches a MongoDB filter. */
export function matches(doc: unknown, filter: Doc): boolean {
    for (const [key, cond] of Object.entries(filter)) {
        if (key === "$and" || key === "$or" || key === "$nor") {
            if (!Array.isArray(cond) || cond.length === 0) throw new MongoError(`${key} must be a nonempty array`);
            const results = cond.map((f) => matches(doc, isObj(f) ? f : {}));
            if (key === "$and" && !results.every(Boolean)) return false;
            if (key === "$or" && !results.some(Boolean)) return false;
            if (key === "$nor" && results.some(Boolean)) return false;
            continue;
        }
        if (key.startsWith("$")) throw new MongoError(`unknown top level operator: ${key}`);
        const candidates = valuesAt(doc, key.split("."));
        const isOps = isObj(cond) && Object.keys(cond).length > 0 && Object.keys(cond).every((k) => k.startsWith("$"));
        if (isOps) {
            if (!opMatch(key, candidates, cond)) return false;
        } else if (!eqMatch(candidates, castQueryValue(key, cond))) return false;
    }
    return true;
}

// ---------------------------------------------------------------- updates

function setPath(doc: Doc, path: string, value: unknown): void {
    const parts = path.split(".");
    let cur: unknown = doc;
    for (let i = 0; i < parts.length - 1; i++) {
        const p = parts[i];
        const container = cur as Record<string, unknown>;
        let next = Array.isArray(container) ? container[Number(p)] : container[p];
        if (next === undefined || next === null) {
            next = {};
            if (Array.isArray(container)) container[Number(p)] = next;
            else container[p] = next;
        } else if (typeof next !== "object") {
            throw new MongoError(`Cannot create field '${parts[i + 1]}' in element {${p}: ${JSON.stringify(next)}}`);
        }
        cur = next;
    }
    const last = parts[parts.length - 1];
    if (Array.isArray(cur)) cur[Number(last)] = value;
    else (cur as Doc)[last] = value;
}

function getPath(doc: Doc, path: string): unknown {
    let cur: unknown = doc;
    for (const p of path.split(".")) {
        if (Array.isArray(cur)) cur = cur[Number(p)];
        else if (isObj(cur)) cur = cur[p];
        else return undefined;
    }
    return cur;
}

function unsetPath(doc: Doc, path: string): void {
    const parts = path.split(".");
    const parent = getPath(doc, parts.slice(0, -1).join(".") || "");
    const target = parts.length === 1 ? doc : parent;
    const last = parts[parts.length - 1];
    if (Array.isArray(target)) target[Number(last)] = null;
    else if (isObj(target)) delete target[last];
}

/** Whether strict mode lets an update write this path, and the cast to apply. */
function updatable(path: string): { ok: boolean; cast?: Leaf } {
    if (path === "_id" || path.startsWith("_id.")) return { ok: false };
    if (path === "__v") return { ok: true, cast: { kind: "number" } };
    const { node, insideMixed } = schemaAt(path);
    if (insideMixed) return { ok: true };
    if (!node || node.kind === "nested") return { ok: false };
    return { ok: true, cast: node };
}

const knownOps = new Set(["$set", "$unset", "$inc", "$push", "$pull", "$addToSet"]);

/**
 * `Model.findOneAndUpdate(filter, update)`: top-level keys without `$` are wrapped in `$set` (as
 * Mongoose does), paths outside the schema are dropped (strict mode), values are cast.
 */
export function applyUpdate(original: Doc, update: unknown): Doc {
    if (Array.isArray(update)) throw new MongoError("Aggregation pipeline updates are not supported by the cluster registry stand-in");
    const u = isObj(update) ? update : {};
    const ops: Record<string, Doc> = {};
    for (const [k, v] of Object.entries(u)) {
        if (k.startsWith("$")) {
            if (!knownOps.has(k)) throw new MongoError(`Unknown modifier: ${k}. Expected a valid update modifier or pipeline-style update specified as an array`);
            if (!isObj(v)) throw new MongoError(`Modifiers operate on fields but we found type ${typeLabel(v).toLowerCase()} instead.`);
            ops[k] = { ...(ops[k] ?? {}), ...v };
        } else {
            ops.$set = { ...(ops.$set ?? {}), [k]: v };
        }
    }
    const doc = clone(original);
    for (const [op, fields] of Object.entries(ops)) {
        for (const [path, raw] of Object.entries(fields)) {
            const { ok, cast } = updatable(path);
            if (!ok) continue;
            const castOne = (v: unknown): unknown => (cast ? castLeaf(cast, v, path) : clone(v));
            switch (op) {
                case "$set":
                    setPath(doc, path, castOne(raw));
                    break;
                case "$unset":
                    unsetPath(doc, path);
                    break;
                case "$inc": {
                    const by = castNumber(raw, path) ?? 0;
                    const cur = getPath(doc, path);
                    if (cur !== undefined && typeof cur !== "number") throw new MongoError(`Cannot apply $inc to a value of non-numeric type. {_id: ObjectId('${String(doc._id)}')} has the field '${path}' of non-numeric type ${typeLabel(cur).toLowerCase()}`);
                    setPath(doc, path, (typeof cur === "number" ? cur : 0) + by);
                    break;
                }
                case "$push":
                case "$addToSet": {
                    let cur = getPath(doc, path);
                    if (cur === undefined) {
                        cur = [];
                        setPath(doc, path, cur);
                    }
                    if (!Array.isArray(cur)) throw new MongoError(`The field '${path}' must be an array but is of type ${typeLabel(cur).toLowerCase()} in document {_id: ObjectId('${String(doc._id)}')}`);
                    const items = isObj(raw) && Array.isArray(raw.$each) ? raw.$each : [raw];
                    const elemCast = cast?.kind === "stringArray" ? (x: unknown) => castString(x, path) : (x: unknown) => clone(x);
                    for (const it of items) {
                        const v = elemCast(it);
                        if (op === "$addToSet" && cur.some((x) => deepEqual(x, v))) continue;
                        cur.push(v);
                    }
                    break;
                }
                case "$pull": {
                    const cur = getPath(doc, path);
                    if (!Array.isArray(cur)) break;
                    const keep = cur.filter((el) => {
                        if (isObj(raw) && Object.keys(raw).length > 0) {
                            const allOps = Object.keys(raw).every((k) => k.startsWith("$"));
                            return !(allOps ? opMatch(path, [el], raw) : matches(el, raw));
                        }
                        return !deepEqual(el, raw);
                    });
                    setPath(doc, path, keep);
                    break;
                }
            }
        }
    }
    return doc;
}

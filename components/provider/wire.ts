import { z } from "zod";
import { ConfigError, problemsFromZod } from "../config/errors";

/**
 * How values cross the engine–provider boundary (the gRPC Struct the SDK's provider server hands us):
 * a secret is an object with the secret signature and its value; a value not known yet (at preview)
 * is a fixed string. See sdk/go/common/resource/properties.go.
 */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const secretWire = z.object({ [SECRET_SIG_KEY]: z.literal(SECRET_SIG), value: z.unknown() });

/** The plain value of `value`, every secret wrapper removed, at any depth. */
export function reveal(value: unknown): unknown {
    const secret = secretWire.safeParse(value);
    if (secret.success) return reveal(secret.data.value);
    if (Array.isArray(value)) return value.map(reveal);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    return value;
}

/** `value` as a secret output: the engine keeps it encrypted in the state and the program sees a secret. */
export function secret<T>(value: T): { [SECRET_SIG_KEY]: string; value: T } {
    return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

/** An SSH target as the state keeps it: the key, when the resource holds one, secret; the rest plain. */
export function sshForState(t: { privateKey?: string }): Record<string, unknown> {
    return t.privateKey === undefined ? t : { ...t, privateKey: secret(t.privateKey) };
}

/** Whether `value` holds a value that is not known yet (only at preview). */
export function hasUnknowns(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(hasUnknowns);
    if (value !== null && typeof value === "object") return Object.values(value).some(hasUnknowns);
    return false;
}

/** `value` with every secret's value replaced, for an error message that must not echo one. */
function masked(value: unknown): unknown {
    if (secretWire.safeParse(value).success) return "[secret]";
    if (Array.isArray(value)) return value.map(masked);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v)]));
    return value;
}

const BY_HAND = "this resource is written by OnboardedNode; use OnboardedNode instead of registering it by hand";

/**
 * Decodes a resource's properties that crossed the process boundary with `schema`, secrets revealed.
 * One ConfigError names every bad field, what was found (never a secret's value) and the fix.
 * `preview`: fields not known yet pass (the program has not computed them; create checks them again).
 * `fromSteps`: fields that are outputs of an earlier step and may be absent in `check` and `diff`: outside a
 * preview the engine drops a value not known yet instead of sending it as unknown, and a value is not known
 * when the step it comes from failed (see components/onboardedNode/steps.ts; the engine then skips this step).
 */
export function decodeProps<S extends z.ZodObject>(what: string, schema: S, value: unknown, opts: { preview?: boolean; fromSteps?: readonly string[] } = {}): z.infer<S> {
    const plain = reveal(value);
    let s: z.ZodObject = schema;
    if (opts.preview && plain !== null && typeof plain === "object") {
        const unknownKeys = Object.entries(plain).filter(([, v]) => hasUnknowns(v)).map(([k]) => k);
        const absentKeys = (opts.fromSteps ?? []).filter((k) => !(k in plain));
        s = schema.extend(Object.fromEntries([...unknownKeys.map((k) => [k, z.unknown()]), ...absentKeys.map((k) => [k, z.unknown().optional()])]));
    }
    const parsed = s.safeParse(plain);
    if (parsed.success) return parsed.data as z.infer<S>;
    throw new ConfigError(what, problemsFromZod(parsed.error, masked(value), "", () => BY_HAND));
}

/**
 * A diff against a resource's stored outputs: `changed` lists the keys whose new value differs from the
 * stored one; a change of an `identity` key replaces the resource, the old one first.
 */
export function diffStored<S extends z.ZodObject>(schema: S, olds: unknown, changed: (stored: z.infer<S>) => string[], identity: readonly string[]) {
    const before = schema.safeParse(reveal(olds));
    // Stored state this version cannot read: never a replacement (that would offboard the machine); the
    // update then fails naming what it could not read.
    if (!before.success) return { changes: true };
    const keys = changed(before.data as z.infer<S>);
    const replaces = keys.filter((k) => identity.includes(k));
    return { changes: keys.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
}

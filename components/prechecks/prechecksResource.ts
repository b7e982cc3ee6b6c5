import { createHash } from "node:crypto";
import { z } from "zod";
import type { ResourceHandler } from "../provider/handler";
import { ConfigError, problemsFromZod } from "../config/errors";
import { decodeProps } from "../provider/wire";
import { PRECHECK_NAMES } from "./checks";

/** The resource token of a machine's prechecks, served by the aios-onboarding provider plugin. */
export const PRECHECKS_TYPE = "aios-onboarding:index:Prechecks";

const checkResult = z
    .object({
        check: z.enum(PRECHECK_NAMES),
        expected: z.string(),
        observed: z.string(),
        status: z.enum(["passed", "failed", "skipped", "warning"]),
        fix: z.string().optional(),
    })
    .strict();

/** What the program sends: the machine and the table of what each of its prechecks expected and found. */
export const prechecksInputs = z.object({ nodeId: z.string().min(1), checks: z.array(checkResult).min(1) }).strict();
export type PrechecksInputs = z.infer<typeof prechecksInputs>;

/** Decodes inputs that crossed the process boundary; one error names every bad field and the fix. */
export function decodePrechecks(urnName: string, value: unknown): PrechecksInputs {
    const parsed = prechecksInputs.safeParse(value);
    if (parsed.success) return parsed.data;
    throw new ConfigError(
        `prechecks resource ${urnName}`,
        problemsFromZod(parsed.error, value, "", () => "this resource is written by OnboardedNode from its observations; use OnboardedNode instead of registering Prechecks by hand"),
    );
}

const clean = (checks: PrechecksInputs["checks"]) => checks.every((c) => c.status !== "failed");
const names = (checks: PrechecksInputs["checks"]) => checks.map((c) => c.check).join(",");

/**
 * Whether a machine's precheck table changed in a way worth an update. Observed text alone is not:
 * once a machine has joined, the checks that guard a join see a different machine (the kubelet holds
 * 10250, kubelet.conf exists) and report "skipped: already joined", and a port list or a version
 * string may be worded anew. The table changes when a check fails, when a failed one passes again,
 * or when the set of checks changes (e.g. the machine became external); an identical table never.
 */
export function prechecksChanged(olds: PrechecksInputs, news: PrechecksInputs): boolean {
    if (JSON.stringify(olds) === JSON.stringify(news)) return false;
    return olds.nodeId !== news.nodeId || names(olds.checks) !== names(news.checks) || !clean(olds.checks) || !clean(news.checks);
}

/** What the state keeps as the resource's outputs: not the table again, its digest. */
export const prechecksOutputs = z.object({ nodeId: z.string(), digest: z.string() });

/** The digest of a table: what diff compares (the provider's diff sees the stored outputs only). */
export function tableDigest(table: PrechecksInputs): string {
    return createHash("sha256").update(JSON.stringify(table)).digest("hex");
}

const outputs = (table: PrechecksInputs) => ({ nodeId: table.nodeId, digest: tableDigest(table) });

/**
 * The provider's side of a machine's prechecks. The checks themselves run in the program, at preview
 * and at update, from read-only observations; this resource keeps their table as its inputs, so that
 * `pulumi preview --diff` shows what each check expected and found. When the new table differs from
 * the stored one in nothing worth an update (prechecksChanged), check keeps the stored one: an
 * unchanged machine writes nothing. The outputs are the table's digest, so the table is stored once.
 */
export const prechecksHandler: ResourceHandler = {
    check(urnName, olds, news) {
        const table = decodePrechecks(urnName, news);
        const before = prechecksInputs.safeParse(olds);
        return { inputs: before.success && !prechecksChanged(before.data, table) ? before.data : table };
    },
    diff(urnName, olds, news) {
        const before = prechecksOutputs.safeParse(olds);
        // Stored state of another shape (an older version of this resource): write the new table.
        if (!before.success) return { changes: true };
        return { changes: before.data.digest !== tableDigest(decodePrechecks(urnName, news)) };
    },
    async create(ctx, inputs) {
        const table = decodePrechecks(ctx.name, inputs);
        return { id: table.nodeId, outs: outputs(table) };
    },
    async update(ctx, _olds, news) {
        return { outs: outputs(decodePrechecks(ctx.name, news)) };
    },
    /** Nothing outside the state to look at: the checks run in the program. */
    async read(ctx, id, props) {
        return { id, props: decodeProps(`stored prechecks ${ctx.name}`, prechecksOutputs, props) };
    },
    /** A machine's prechecks own nothing outside the state. */
    async delete() {},
};

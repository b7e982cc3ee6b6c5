import { RunError } from "@pulumi/pulumi/errors";
import type { z } from "zod";

/** One problem with one field: where it is, what is wrong, how to fix it. */
export interface FieldProblem {
    path: string;
    problem: string;
    fix: string;
}

/**
 * Raised for invalid stack config or component arguments. It lists every problem at once
 * so a user fixes the whole config in one round instead of one field per `pulumi preview`.
 */
export class ConfigError extends RunError {
    // Not enumerable, so the engine prints the message and not an object dump; a RunError
    // is printed without a stack trace, which says nothing to a user fixing their config.
    declare readonly subject: string;
    declare readonly problems: FieldProblem[];

    constructor(subject: string, problems: FieldProblem[]) {
        super(
            `${subject}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n` +
                problems.map((p) => `  - ${p.path}: ${p.problem}; fix: ${p.fix}`).join("\n"),
        );
        Object.defineProperty(this, "subject", { value: subject, enumerable: false });
        Object.defineProperty(this, "problems", { value: problems, enumerable: false });
        this.name = "ConfigError";
    }
}

export type FixFor = (path: string) => string;

/** Renders a value for an error message without ever echoing long or secret-looking text. */
export function describeValue(value: unknown): string {
    if (value === undefined) return "missing";
    if (value === null) return "null";
    if (typeof value === "string") return value.length > 80 ? `a ${value.length}-character string` : JSON.stringify(value);
    if (Array.isArray(value)) return `an array of ${value.length}`;
    if (typeof value === "object") return "an object";
    return `${typeof value} ${String(value)}`;
}

export function valueAt(root: unknown, path: PropertyKey[]): unknown {
    let cur: unknown = root;
    for (const key of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<PropertyKey, unknown>)[key];
    }
    return cur;
}

export function formatPath(prefix: string, path: PropertyKey[]): string {
    let out = prefix;
    for (const key of path) {
        out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
    }
    return out;
}

/**
 * Turns zod issues into FieldProblems. The message names the found value (never a secret:
 * secrets are not parsed by zod) and the fix comes from the caller's table.
 */
export function problemsFromZod(
    error: z.ZodError,
    input: unknown,
    prefix: string,
    fixFor: FixFor,
): FieldProblem[] {
    return error.issues.map((issue) => {
        const path = formatPath(prefix, issue.path);
        const found = valueAt(input, issue.path);
        let problem: string;
        if (issue.code === "invalid_type" && found === undefined) {
            problem = "is required but missing";
        } else if (issue.code === "unrecognized_keys") {
            problem = `has unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
        } else if (found === undefined && issue.message.startsWith("is ")) {
            problem = issue.message;
        } else if (issue.code === "custom" || issue.message.startsWith("is ") || issue.message.startsWith("label ")) {
            problem = issue.message.startsWith("\"") || issue.message.startsWith("label ") ? issue.message : `${describeValue(found)} ${issue.message}`;
        } else {
            problem = `${describeValue(found)}: ${issue.message}`;
        }
        return { path, problem, fix: fixFor(path) };
    });
}

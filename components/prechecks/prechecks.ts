import * as pulumi from "@pulumi/pulumi";
import type { CheckResult } from "./checks";
import { PRECHECKS_TYPE } from "./prechecksResource";

export interface PrechecksArgs {
    /** The machine's node id. */
    nodeId: string;
    /** What each applicable check expected and found, from read-only observations (never a secret). */
    checks: pulumi.Input<CheckResult[]>;
}

/**
 * A machine's prechecks as one resource of the aios-onboarding provider: its inputs and outputs are the
 * table of checks, so `pulumi preview --diff` shows what each check expected and found before anything
 * is joined. The checks run in the program; a failed one fails the owning OnboardedNode with one message
 * naming every failed check. The table is updated when a check fails or passes again, not when only the
 * wording of what was seen changes (prechecksChanged), so an unchanged machine writes nothing.
 */
export class Prechecks extends pulumi.CustomResource {
    declare public readonly nodeId: pulumi.Output<string>;
    /** The table's digest (the table itself is stored once, as the inputs). */
    declare public readonly digest: pulumi.Output<string>;

    constructor(name: string, args: PrechecksArgs, opts: pulumi.CustomResourceOptions) {
        super(PRECHECKS_TYPE, name, { nodeId: args.nodeId, checks: args.checks, digest: undefined }, opts);
    }
}

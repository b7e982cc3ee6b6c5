import * as pulumi from "@pulumi/pulumi";
import type { CheckResult, PrecheckName } from "./checks";

export interface PrecheckArgs {
    /** Which check this is. */
    check: PrecheckName;
    /** The check's result, computed from read-only observations of the machine and cluster. */
    result: pulumi.Output<CheckResult>;
}

/**
 * One precheck of one machine, as a resource in the tree so `pulumi preview` shows what it
 * expected and what it found. A failing check does not register outputs: the owning
 * OnboardedNode fails with a message naming every failed check.
 */
export class Precheck extends pulumi.ComponentResource {
    public readonly check: pulumi.Output<string>;
    public readonly expected: pulumi.Output<string>;
    public readonly observed: pulumi.Output<string>;
    public readonly status: pulumi.Output<string>;

    constructor(name: string, args: PrecheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aios-onboarding:index:Precheck", name, {}, opts);
        this.check = pulumi.output(args.check);
        this.expected = args.result.apply((r) => r.expected);
        this.observed = args.result.apply((r) => r.observed);
        this.status = args.result.apply((r) => r.status);
        this.registerOutputs({ check: this.check, expected: this.expected, observed: this.observed, status: this.status });
    }
}

import * as pulumi from "@pulumi/pulumi";

/** A step of a machine, as the engine names it: enough to know its URN when its own URN rejects. */
export interface StepRef {
    name: string;
    type: string;
    parent: pulumi.Resource;
}

/**
 * `o`, an output of the step `from`, for the step after it. When `from` failed in this run (only
 * `pulumi up --continue-on-error` goes on after a failed step), the next step gets an unknown value
 * that depends on `from` by its URN instead: the engine skips every step that depends on a failed or
 * skipped one (3.259 `deploymentExecutor.handleSingleEvent`), so the machine's next steps are skipped,
 * not run, and the failure is reported once, by the step that failed.
 *
 * Reading the failed step's rejected output (or naming it in `dependsOn`) would instead fail the next
 * step's registration in the SDK itself, which reports that as an unhandled exception of the program
 * with a stack trace. Errors of this program (a failed precheck, bad arguments) pass through: the SDK
 * reports them once, as written.
 */
export function after<T>(from: StepRef, o: pulumi.Output<T>): pulumi.Output<T> {
    return pulumi.recover(o, (err: unknown) => {
        if (pulumi.ResourceError.isInstance(err) || pulumi.RunError.isInstance(err)) throw err;
        // The failed step's URN is rejected with it; it is computed from its parent's, and passed on as
        // a plain value so that the parent component (whose children include the failed step) is no dependency.
        const urn = new Promise<string>((resolve, reject) => {
            // A parent that failed to register has no URN to build on: the step's own error goes on, so nothing waits for ever.
            pulumi.recover(pulumi.createUrn(from.name, from.type, from.parent).apply(resolve), () => reject(err));
        });
        return pulumi.output(urn).apply((u) => new pulumi.DependencyResource(u).urn.apply(() => pulumi.unknown as unknown as T));
    });
}

/**
 * When a step fails or is skipped, the SDK rejects every output of that resource with a synthesized
 * "resource … failed to register" error; an output nobody reads is then printed as an unhandled
 * exception of the program, with a stack trace. A step's failure is not a crash of this program,
 * so every output gets a handler here.
 */
export function settleQuietly(resource: pulumi.CustomResource): void {
    for (const value of Object.values(resource)) {
        if (pulumi.Output.isInstance(value)) pulumi.recover(value as pulumi.Output<unknown>, () => undefined);
    }
}

import { inspect } from "node:util";
import * as pulumi from "@pulumi/pulumi";

/**
 * An error of this program that the SDK reports as it is, once, against `resource`: a failed
 * precheck.
 *
 * The SDK prefixes `error serializing property "…"` to the message of an error that rejects an
 * input, once per nesting level; the user needs our message as it is, so the message ignores
 * those rewrites.
 *
 * The SDK also formats every unhandled error with `util.inspect` for its trace, whatever it
 * prints. Inspecting the `resource` property walks the whole resource graph: measured, that
 * took 25 s of garbage collection and 3 GB per failed machine. So `resource` is not enumerable
 * and inspection shows the message only.
 */
export class OnboardingError extends pulumi.ResourceError {
    constructor(message: string, resource: pulumi.Resource, name: string) {
        super(message, resource, true);
        Object.defineProperty(this, "message", { get: () => message, set: () => undefined, enumerable: false, configurable: false });
        // When the rejection reaches the SDK after the program's last step, it prints `stack`:
        // the message is all the user needs (no trace into our sources).
        Object.defineProperty(this, "stack", { get: () => message, set: () => undefined, enumerable: false, configurable: false });
        Object.defineProperty(this, "resource", { value: resource, enumerable: false, writable: true, configurable: true });
        this.name = name;
    }

    [inspect.custom](): string {
        return this.message;
    }
}

/** A failed precheck: nothing of the machine is registered with the engine. */
export class PrecheckError extends OnboardingError {
    constructor(message: string, resource: pulumi.Resource) {
        super(message, resource, "PrecheckError");
    }
}

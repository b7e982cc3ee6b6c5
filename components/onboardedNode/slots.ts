import * as pulumi from "@pulumi/pulumi";
import { probeSlots, Semaphore } from "../prechecks/observe";

/**
 * The onboarding parallelism limit. Probes are bounded in the program; the engine-side steps
 * (registration, join, verification) are bounded with resource hooks that hold a slot from
 * `beforeCreate` until `afterCreate` or the error hook, so at most `limit` machines run a
 * step at once while a failing machine frees its slot and never blocks the others.
 */
const stepSlots = new Semaphore(4);
const held = new Map<string, number>();
// A slot is never held forever, even if the engine skipped a hook: past this wait the step
// runs anyway (and says so), which degrades to unbounded parallelism instead of a deadlock.
const MAX_WAIT_MS = 30 * 60 * 1000;

export function setOnboardingParallelism(limit: number): void {
    stepSlots.setLimit(limit);
    probeSlots.setLimit(limit);
}

function release(urn: string): void {
    const n = held.get(urn) ?? 0;
    if (n > 0) {
        held.set(urn, n - 1);
        stepSlots.release();
    }
}

let hooks: pulumi.ResourceHookBinding | undefined;

/** The hook binding shared by every step resource of every OnboardedNode. */
export function slotHooks(): pulumi.ResourceHookBinding {
    if (!hooks) {
        const acquire = new pulumi.ResourceHook("aios-onboarding-slot-acquire", async (args) => {
            const got = await stepSlots.acquire(MAX_WAIT_MS);
            if (!got) pulumi.log.warn(`waited ${MAX_WAIT_MS / 60000} min for an onboarding slot; running ${args.name} anyway`);
            else held.set(args.urn, (held.get(args.urn) ?? 0) + 1);
        });
        const done = new pulumi.ResourceHook("aios-onboarding-slot-release", (args) => release(args.urn));
        const failed = new pulumi.ErrorHook("aios-onboarding-slot-release-on-error", (args) => {
            release(args.urn);
            return false;
        });
        hooks = { beforeCreate: [acquire], afterCreate: [done], onError: [failed] };
    }
    return hooks;
}

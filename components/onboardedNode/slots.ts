import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { probeSlots, Semaphore } from "../prechecks/observe";

/**
 * Machines that may be between registration and verification at once. The program holds a
 * machine's slot from the moment its prechecks passed until its verification settles
 * (succeeded or failed), by withholding the registration's inputs from the engine until a
 * slot is free. So the limit bounds the engine-side steps too, whatever `pulumi up --parallel`
 * says, and a failed machine gives its slot back at once.
 */
export const onboardingSlots = new Semaphore(4);

/**
 * How many steps the engine runs at once (`pulumi up --parallel`, default 4 per CPU), as the language
 * host tells the program; undefined when it does not say (unlimited, or not run by the engine).
 */
export function engineParallelism(env: NodeJS.ProcessEnv = process.env): number | undefined {
    const parsed = z.coerce.number().int().positive().safeParse(env.PULUMI_NODEJS_PARALLEL);
    return parsed.success ? parsed.data : undefined;
}

/**
 * The onboarding parallelism limit: machines probed at once (SSH sessions and API reads, at
 * preview and update) and machines being registered, joined and verified at once (update). A
 * machine in flight holds one engine step at a time, and its verification holds it while AIOS has
 * not labelled the Node yet; so machines beyond the engine's own limit only wait for engine steps
 * behind the others' verifications (measured: at parallelism 50 under `--parallel 8`, a median
 * 32 s from the label to the verification). Those are not admitted; the returned warning says so
 * and how to raise the engine's limit. Probes run in the program and keep the full limit.
 */
export function setOnboardingParallelism(limit: number, engine: number | undefined = engineParallelism()): string | undefined {
    if (!Number.isInteger(limit) || limit < 1) {
        throw new Error(`parallelism: ${JSON.stringify(limit)} is not a whole number of machines of at least 1; set parallelism to 1 or more`);
    }
    probeSlots.setLimit(limit);
    const admitted = engine === undefined ? limit : Math.min(limit, engine);
    onboardingSlots.setLimit(admitted);
    if (admitted === limit) return undefined;
    return (
        `parallelism is ${limit}, but the engine runs ${engine} steps at once (pulumi up --parallel): ` +
        `at most ${admitted} machines are registered, joined and verified at once; run \`pulumi up --parallel ${limit}\` to onboard ${limit} at once`
    );
}

/** One machine's hold on an onboarding slot. */
export class OnboardingSlot {
    private held = false;
    private settled = false;

    /**
     * `ready`, resolved only once this machine holds a slot. Nothing is held at preview, where
     * no step runs.
     */
    gate<T>(ready: pulumi.Output<T>): pulumi.Output<T> {
        return ready.apply(async (value) => {
            if (!pulumi.runtime.isDryRun() && !this.settled && !this.held) {
                await onboardingSlots.acquire();
                this.held = true;
                if (this.settled) this.release();
            }
            return value;
        });
    }

    /** Gives the slot back when `done` resolves or fails. */
    releaseWhen(done: pulumi.Output<unknown>): void {
        pulumi.recover(
            done.apply(() => this.settle()),
            () => this.settle(),
        );
    }

    private settle(): void {
        this.settled = true;
        this.release();
    }

    private release(): void {
        if (!this.held) return;
        this.held = false;
        onboardingSlots.release();
    }
}

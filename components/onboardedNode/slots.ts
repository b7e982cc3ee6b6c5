import * as pulumi from "@pulumi/pulumi";
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
 * The onboarding parallelism limit: machines probed at once (SSH sessions and API reads, at
 * preview and update) and machines being registered, joined and verified at once (update).
 */
export function setOnboardingParallelism(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) {
        throw new Error(`parallelism: ${JSON.stringify(limit)} is not a whole number of machines of at least 1; set parallelism to 1 or more`);
    }
    probeSlots.setLimit(limit);
    onboardingSlots.setLimit(limit);
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

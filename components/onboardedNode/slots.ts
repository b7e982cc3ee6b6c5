import { probeSlots } from "../prechecks/observe";

/**
 * The onboarding parallelism limit. It bounds the read-only probes this program runs (SSH
 * sessions and API reads at preview and update). The engine-side steps (registration, join,
 * verification) are bounded by the engine: run `pulumi up --parallel <n>` with the same
 * value (the demo and the tests do). Resource hooks could hold a slot per step, but they
 * hang under the SDK's mocks and so cannot be tested here; see README "Parallelism".
 */
export function setOnboardingParallelism(limit: number): void {
    probeSlots.setLimit(limit);
}

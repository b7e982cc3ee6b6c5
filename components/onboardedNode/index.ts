export { OnboardedNode } from "./onboardedNode";
export type { AiosClusterArgs, OnboardedNodeArgs, OnboardingTimeouts } from "./args";
export { setOnboardingParallelism } from "./slots";

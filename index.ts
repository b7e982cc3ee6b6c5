// The library surface: import { OnboardedNode } from "aios-onboarding".
export { OnboardedNode, setOnboardingParallelism } from "./components/onboardedNode";
export type { AiosClusterArgs, OnboardedNodeArgs, OnboardingTimeouts } from "./components/onboardedNode";
export { Prechecks } from "./components/prechecks/prechecks";
export { OnboardingProvider } from "./components/provider/provider";
export { kubernetesProvider } from "./components/labels/labels";
export type { CheckResult, PrecheckName } from "./components/prechecks/checks";
export { onboardCluster, readClusterStack } from "./components/fleet/fleet";
export { parseStackConfig } from "./components/config/stackConfig";
export { ConfigError } from "./components/config/errors";

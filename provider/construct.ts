// OnboardedNode served by the plugin's construct: how a Pulumi YAML program (or an SDK generated from the
// schema) declares the component. The component is the one the TypeScript library exports; it runs in
// this process and registers the same children under the same names.
import * as pulumi from "@pulumi/pulumi";
import type * as provider from "@pulumi/pulumi/provider";
import { ConfigError, type FieldProblem } from "../components/config/errors";
import { OnboardingError } from "../components/onboardedNode/errors";
import type { OnboardedNodeArgs } from "../components/onboardedNode/args";
import { OnboardedNode } from "../components/onboardedNode/onboardedNode";

/** The inputs that may be a secret or another resource's output: everything else decides what is declared, so it must be known at preview. */
const OUTPUT_PATHS = new Set(["privateKey", "cluster.kubeconfig"]);

/** The serving provider's configuration: what `privateKey` and `cluster.kubeconfig` default to. */
export interface ProviderDefaults {
    kubeconfig?: string;
    privateKey?: string;
}

/** Where `value` holds an Output (an unknown, a secret or another resource's output), below `path`. */
function outputPaths(value: unknown, path: string): string[] {
    if (pulumi.Output.isInstance(value)) return [path];
    if (Array.isArray(value)) return value.flatMap((v, i) => outputPaths(v, `${path}[${i}]`));
    if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => outputPaths(v, path ? `${path}.${k}` : k));
    return [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value) && !pulumi.Output.isInstance(value);
}

/**
 * The construct request's inputs as OnboardedNodeArgs. The component validates them itself; here only
 * what a YAML program can get wrong and a TypeScript program cannot: a field that must be plain given as
 * a secret or as another resource's output. `privateKey` and `cluster.kubeconfig`, when not given, are
 * the serving provider's: so a stack stores them once, in that provider's state, not in every node's inputs.
 */
export function onboardedNodeArgs(name: string, inputs: pulumi.Inputs, defaults: ProviderDefaults = {}): OnboardedNodeArgs {
    const problems: FieldProblem[] = outputPaths(inputs, "")
        .filter((p) => !OUTPUT_PATHS.has(p))
        .map((path) =>
            path === "cluster"
                ? {
                      path,
                      problem: "is a secret as a whole (Pulumi YAML makes an object secret when one of its fields is, e.g. `kubeconfig: ${kubeconfig}`) or another resource's output",
                      fix: "leave kubeconfig out of cluster (the component then takes the kubeconfig of the aios-onboarding provider in options.providers) and give the other fields as literals or plain config values",
                  }
                : {
                      path,
                      problem: "is a secret or another resource's output; only privateKey and cluster.kubeconfig may be",
                      fix: "give it as a literal or a plain (not secret) stack config value: it decides what is declared, so it must be known at preview",
                  },
        );
    const cluster = isRecord(inputs.cluster) ? { ...inputs.cluster } : inputs.cluster;
    if (isRecord(cluster) && cluster.kubeconfig === undefined) {
        if (defaults.kubeconfig) cluster.kubeconfig = pulumi.secret(defaults.kubeconfig);
        else problems.push({ path: "cluster.kubeconfig", problem: "is missing, and the aios-onboarding provider serving this component has no kubeconfig", fix: "set kubeconfig on the provider given in options.providers (stored once for the stack), or give cluster.kubeconfig" });
    }
    let privateKey: unknown = inputs.privateKey;
    if (privateKey === undefined) {
        if (defaults.privateKey) privateKey = pulumi.secret(defaults.privateKey);
        else problems.push({ path: "privateKey", problem: "is missing, and the aios-onboarding provider serving this component has no privateKey", fix: "set privateKey on the provider given in options.providers (stored once for the stack), or give privateKey" });
    }
    if (problems.length > 0) throw new ConfigError(`invalid arguments for OnboardedNode "${name}"`, problems);
    return { ...inputs, cluster, privateKey } as unknown as OnboardedNodeArgs;
}

/**
 * A component reports its own failure (a failed precheck, a withheld step) by rejecting its outputs
 * with an OnboardingError, which also reaches the process as an unhandled rejection. The SDK's
 * provider server answers every construct in flight with the first unhandled error, so one machine's
 * failed precheck would be reported as every machine's. Such an error is left to its own component's
 * construct: its outputs are the construct's answer, so that construct alone fails, with the message.
 * Any other unhandled error still goes to the SDK.
 */
let componentErrorsRouted = false;
function leaveComponentErrorsToTheirConstruct(): void {
    if (componentErrorsRouted) return;
    componentErrorsRouted = true;
    const sdkListeners = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", (reason, promise) => {
        if (reason instanceof OnboardingError && reason.resource instanceof OnboardedNode) return;
        for (const listener of sdkListeners) listener(reason, promise);
    });
}

/** How each construct in flight ends: its component's outputs resolve (or stay unknown at preview), or one rejects. */
const inFlight = new Set<Promise<"resolved" | "failed">>();

/**
 * Declares the component and answers with its outputs, which the engine records as the component's.
 *
 * A construct that fails holds its answer until every other construct in flight has settled its own:
 * the engine stops the deployment at the first failed construct, and the machines still being checked
 * would then be reported with "the client connection is closing" instead of their own precheck failure.
 */
export async function constructOnboardedNode(name: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions, defaults: ProviderDefaults): Promise<provider.ConstructResult> {
    leaveComponentErrorsToTheirConstruct();
    const node = new OnboardedNode(name, onboardedNodeArgs(name, inputs, defaults), options);
    const state = { nodeName: node.nodeName, labels: node.labels, kubeletVersion: node.kubeletVersion, addresses: node.addresses, prechecks: node.prechecks };
    const outcome = pulumi.runtime.serializeProperties(`construct(${name})`, state).then(
        () => "resolved" as const,
        () => "failed" as const,
    );
    inFlight.add(outcome);
    try {
        if ((await outcome) === "failed") await Promise.all([...inFlight]);
    } finally {
        inFlight.delete(outcome);
    }
    return { urn: node.urn, state };
}

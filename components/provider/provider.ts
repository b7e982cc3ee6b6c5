import * as pulumi from "@pulumi/pulumi";

/** The package of the provider plugin `pulumi-resource-aios-onboarding` (bin/ of this package). */
export const PROVIDER_PACKAGE = "aios-onboarding";

export interface OnboardingProviderArgs {
    /**
     * The cluster's admin kubeconfig. Stored once, encrypted, in this provider's state, which is how the
     * verification and the offboarding reach the cluster, also in a `pulumi destroy` that runs no program.
     */
    kubeconfig: pulumi.Input<string>;
    /**
     * The SSH private key of the cluster's machines (the stack's `sshPrivateKey`). Optional, default none.
     * A machine whose key is this one keeps no copy in its registration and verification: the offboarding
     * and refresh take it from here, stored once, encrypted.
     */
    privateKey?: pulumi.Input<string>;
}

/**
 * An explicit instance of the aios-onboarding provider plugin, one per cluster. Always pass one (the
 * stack program makes one per stack; OnboardedNode makes its own `${name}-provider` when none is
 * passed): the engine's default provider for a package takes every `aios-onboarding:*` stack config key
 * as its configuration and would store them, secrets included, in its state.
 */
export class OnboardingProvider extends pulumi.ProviderResource {
    constructor(name: string, args: OnboardingProviderArgs, opts?: pulumi.ResourceOptions) {
        super(PROVIDER_PACKAGE, name, { kubeconfig: pulumi.secret(args.kubeconfig), privateKey: args.privateKey === undefined ? undefined : pulumi.secret(args.privateKey) }, opts);
    }
}

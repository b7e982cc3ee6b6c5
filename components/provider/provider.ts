import * as pulumi from "@pulumi/pulumi";

/** The package of the provider plugin `pulumi-resource-aios-onboarding` (bin/ of this package). */
export const PROVIDER_PACKAGE = "aios-onboarding";

/**
 * An explicit instance of the aios-onboarding provider plugin. Always pass one (the stack program makes
 * one per stack; OnboardedNode makes its own `${name}-provider` when none is passed): the engine's default
 * provider for a package takes every `aios-onboarding:*` stack config key as its configuration and
 * would store them, secrets included, in its state. It has no configuration of its own.
 */
export class OnboardingProvider extends pulumi.ProviderResource {
    constructor(name: string, opts?: pulumi.ResourceOptions) {
        super(PROVIDER_PACKAGE, name, {}, opts);
    }
}

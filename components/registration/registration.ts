import * as pulumi from "@pulumi/pulumi";
import type { NodeInventory } from "../machine/inventory";
import type { SshTargetInputs } from "../machine/ssh";
import { REGISTRATION_TYPE } from "./registrationResource";

export interface RegistrationArgs {
    /** `gateway` (join-node mints a join command) or `parser` (addNode, the cluster's static join command). */
    protocol: "gateway" | "parser";
    /** The AIOS cluster id. */
    clusterId: string;
    /** The AIOS cluster registry's base URL. */
    registryUrl: string;
    /** The membership gateway's base URL (gateway protocol). */
    gatewayUrl?: string;
    /** The cluster parser's base URL (parser protocol). */
    parserUrl?: string;
    /** Gateway join mode: `local_network`, or `public` for external machines. */
    mode: "local_network" | "public";
    /** Gateway: the address AIOS puts in the join command instead of its own. Default: none. */
    customIp?: string;
    /** Each AIOS HTTP call's timeout. */
    httpTimeoutSeconds: number;
    /** The machine leaves without being reset: it cannot be reached. */
    forceRemove: boolean;
    /** The node document sent to AIOS; it waits for the machine's prechecks and its onboarding slot. */
    node: pulumi.Input<NodeInventory>;
    /** Parser protocol: the registry's static join token, or one minted for this machine (see AiosClusterArgs.joinToken). */
    joinToken: "registry" | "mint";
    /** How long a minted join token lives (minutes). */
    joinTokenMinutes: number;
    /** The machine over SSH (its key a secret field of its own, left out of the state when it is the provider's): looked at when AIOS already lists the node, and reset by the delete. */
    ssh: SshTargetInputs;
}

/**
 * A machine's registration with AIOS, a resource of the aios-onboarding provider plugin (see
 * registrationHandler). `joinConfiguration` (secret) is what the machine's join runs.
 */
export class Registration extends pulumi.CustomResource {
    declare public readonly registeredAt: pulumi.Output<string>;
    declare public readonly joinConfiguration: pulumi.Output<string>;
    declare public readonly adopted: pulumi.Output<boolean>;
    /** The id of the join token this stack owns for the machine (null for the registry's static token): the verification deletes it. */
    declare public readonly tokenId: pulumi.Output<string | null>;

    constructor(name: string, args: RegistrationArgs, opts: pulumi.CustomResourceOptions) {
        super(REGISTRATION_TYPE, name, { ...args, registeredAt: undefined, joinConfiguration: undefined, adopted: undefined, tokenId: undefined, tokenExpiresAt: undefined }, { ...opts, additionalSecretOutputs: ["joinConfiguration"] });
    }
}

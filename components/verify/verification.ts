import * as pulumi from "@pulumi/pulumi";
import type { NodeInventory } from "../machine/inventory";
import type { SshTargetInputs } from "../machine/ssh";
import { VERIFICATION_TYPE } from "./verificationResource";

export interface VerificationArgs {
    /** `gateway` or `parser`: how the node was registered (the gateway's waiter is re-armed when it is gone). */
    protocol: "gateway" | "parser";
    /** The AIOS cluster id. */
    clusterId: string;
    /** The AIOS cluster registry's base URL. */
    registryUrl: string;
    /** The membership gateway's base URL (gateway protocol). */
    gatewayUrl?: string;
    /** The parser's base URL (parser protocol): where a repair registers the node again. */
    parserUrl?: string;
    /** Gateway join mode, for a re-armed waiter. */
    mode: "local_network" | "public";
    /** Gateway: the address AIOS puts in the join command. Default: none. */
    customIp?: string;
    /** Each AIOS and Kubernetes HTTP call's timeout. */
    httpTimeoutSeconds: number;
    /** How long to wait for the Node to be Ready and labelled. */
    verifySeconds: number;
    /** How long a repair's join of the machine may take (after a refresh found it reset or its Node gone). */
    joinSeconds: number;
    /** How long the offboarding drain may take. */
    drainSeconds: number;
    /** The machine is removed without contact: report the Node as it is, do not wait; offboard without a reachability check. */
    forceRemove: boolean;
    /** The node document (for a re-armed waiter and a lost registry entry). */
    node: pulumi.Input<NodeInventory>;
    /** When the registration issued the join command or registered the node. */
    registeredAt: pulumi.Input<string>;
    /** The join resource's id: it orders the verification after the join. */
    joinId: pulumi.Input<string>;
    /** The join token the registration got for the machine, when this stack owns it: deleted once the machine is verified or failed. */
    tokenId: pulumi.Input<string | null>;
    /** How a repair gets its join token (see AiosClusterArgs.joinToken). */
    joinToken: "registry" | "mint";
    /** How long a repair's minted join token lives (minutes). */
    joinTokenMinutes: number;
    /** The machine over SSH (its key a secret field of its own, left out of the state when it is the provider's): the offboarding checks that it can be reset before it drains anything. */
    ssh: SshTargetInputs;
}

/**
 * Proof that the AIOS Cluster Controller accepted the machine: its Node is Ready and labelled
 * `nodeID=<node id>`, a resource of the aios-onboarding provider plugin (see verificationHandler).
 * `pulumi refresh` records in `drift` what is no longer so, and the next update repairs it.
 * Deleting it cordons, drains and deregisters the node.
 */
export class Verification extends pulumi.CustomResource {
    declare public readonly nodeName: pulumi.Output<string>;
    declare public readonly labels: pulumi.Output<Record<string, string>>;
    declare public readonly kubeletVersion: pulumi.Output<string>;
    declare public readonly addresses: pulumi.Output<{ type: string; address: string }[]>;
    declare public readonly ready: pulumi.Output<boolean>;
    /** The verified Node object's UID (changes when a repair joined the machine again). */
    declare public readonly nodeUid: pulumi.Output<string>;
    declare public readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: VerificationArgs, opts: pulumi.CustomResourceOptions) {
        super(VERIFICATION_TYPE, name, { ...args, nodeName: undefined, labels: undefined, kubeletVersion: undefined, addresses: undefined, ready: undefined, nodeUid: undefined, drift: undefined }, opts);
    }
}

import * as pulumi from "@pulumi/pulumi";
import type { Taint } from "../config/validators";

/** The AIOS cluster a node joins. One value is typically shared by every node of a stack. */
export interface AiosClusterArgs {
    /** The AIOS cluster id (the registry document's `id`). */
    clusterId: string;
    /** Base URL of the AIOS cluster registry, e.g. `http://registry:30101`. */
    registryUrl: string;
    /**
     * How nodes register: `"gateway"` (dry run + `join-node`, what the AIOS code runs) or
     * `"parser"` (the documented `addNode`, then the registry's static join command).
     * Defaults to `"gateway"`.
     */
    protocol?: "gateway" | "parser";
    /** The cluster-controller-gateway URL. Required with the gateway protocol. */
    gatewayUrl?: string;
    /** The parser API URL. Required with the parser protocol. */
    parserUrl?: string;
    /** Gateway only: a key of the cluster's `config.secondaryIPs` to join through. Defaults to none. */
    customIp?: string;
    /**
     * The cluster's VPN, when it has one (AIOS has no field for it). Machines must have this
     * interface up (and an address in `cidr`, if given) before anything else happens.
     * Defaults to no VPN.
     */
    vpn?: { interface: string; cidr?: string };
    /**
     * The kubeadm version machines must have. Defaults to the registry's
     * `clusterMetadata.additionalInfo.kubeadmVersion`, else the API server's version.
     */
    kubeadmVersion?: string;
    /**
     * Parser protocol only: what a machine joins with. `"registry"`: the registry's static
     * `joinCommand`, shared by every joiner and never deleted (its expiry is reported by the
     * join-command precheck). `"mint"`: a bootstrap token minted for this machine with the admin
     * kubeconfig, expiring after `joinTokenMinutes`, deleted once the machine is verified or its join
     * failed; the static command gives only the endpoint and CA hash. Defaults to `"registry"`.
     * (The gateway protocol always joins with the token AIOS minted for the machine, given an expiration
     * and deleted the same way.)
     */
    joinToken?: "registry" | "mint";
    /**
     * How long a machine's own join token lives, in minutes, 1 to 15: a minted one, or the gateway's
     * (AIOS makes it never-expiring; the registration sets its expiration). Defaults to 15.
     */
    joinTokenMinutes?: number;
    /** Admin kubeconfig of the cluster (contents, YAML or JSON). Secret. */
    kubeconfig: pulumi.Input<string>;
}

/** Timeouts in seconds; each defaults to the value shown. */
export interface OnboardingTimeouts {
    /** SSH connect timeout. Defaults to 10. */
    sshConnectSeconds?: number;
    /** Each AIOS HTTP request. Defaults to 10. */
    httpSeconds?: number;
    /** `kubeadm join` on the machine, enforced there with `timeout`. Defaults to 300. */
    joinSeconds?: number;
    /** Waiting for the Node to be Ready and labelled `nodeID`. Defaults to 360. */
    verifySeconds?: number;
    /** Draining the node on removal. Defaults to 120. */
    drainSeconds?: number;
}

/** Arguments of {@link OnboardedNode}. */
export interface OnboardedNodeArgs {
    /** The cluster to join. */
    cluster: AiosClusterArgs;
    /** The AIOS node id, which is also the Kubernetes node name: a lowercase DNS-1123 name. */
    nodeId: string;
    /** The machine's SSH address (IP or DNS name). */
    host: string;
    /** The machine's SSH host key, pinned (`ssh-ed25519 AAAA…`). Required: there is no trust-on-first-use. */
    hostKey: string;
    /** SSH port. Defaults to 22. */
    port?: number;
    /** SSH user: root, or a user with passwordless sudo. Defaults to `root`. */
    user?: string;
    /** SSH private key (OpenSSH or PEM). Secret. */
    privateKey: pulumi.Input<string>;
    /**
     * Whether the machine joins over the public internet. External machines need
     * `config.allowExternalNodes`, a static IP and 10250/TCP free, and join through the
     * cluster's public host name. Defaults to false.
     */
    external?: boolean;
    /** The machine's own static IP, checked for external machines. Defaults to `host`. */
    address?: string;
    /** Whether the cluster's VPN applies to this machine. Defaults to true when the cluster has one. */
    vpn?: boolean;
    /**
     * Extra Node labels, applied after verification by the `${name}-labels` NodePatch (never `nodeID`).
     * Only these keys are ours: others' labels are never touched. Defaults to none.
     */
    labels?: Record<string, string>;
    /**
     * Node taints, applied after verification by the same NodePatch. Taints are one atomic list in the
     * Node API, so declared taints become the Node's whole taint list; with none declared the list is not
     * touched. Defaults to none.
     */
    taints?: Taint[];
    /** AIOS tags sent with the registration. Defaults to none. */
    tags?: string[];
    /** Free-form AIOS node metadata sent with the registration. Defaults to none. */
    nodeMetadata?: Record<string, unknown>;
    /**
     * Remove the machine without contacting it: no reachability check and no `kubeadm reset`
     * on delete. Set it (and `pulumi up`) before removing a machine that is gone for good.
     * Defaults to false.
     */
    forceRemove?: boolean;
    /** Timeouts; see {@link OnboardingTimeouts}. */
    timeouts?: OnboardingTimeouts;
}

import { z } from "zod";
import { MAX_TOKEN_MINUTES } from "../join/bootstrapTokens";
import {
    cidrSchema,
    hostKeySchema,
    hostSchema,
    httpUrlSchema,
    interfaceNameSchema,
    ipAddressSchema,
    labelsSchema,
    nodeIdSchema,
    portSchema,
    taintSchema,
    unixUserSchema,
} from "./validators";

/**
 * The plain (non-secret) settings of one cluster and one machine, as zod schemas. The
 * stack config schema (stackConfig.ts) and the component arguments (onboardedNode/args.ts)
 * are both checked against these, so the program and library users get the same errors.
 */

export const DEFAULT_TIMEOUTS = {
    sshConnectSeconds: 10,
    httpSeconds: 10,
    joinSeconds: 300,
    // The AIOS waiter labels within 300 s of issuing the join command (contract §4.3);
    // waiting a little longer lets us report what we saw instead of racing it.
    verifySeconds: 360,
    drainSeconds: 120,
} as const;

export const timeoutsSchema = z
    .object({
        sshConnectSeconds: z.number().int().min(1).max(600),
        httpSeconds: z.number().int().min(1).max(600),
        joinSeconds: z.number().int().min(10).max(3600),
        verifySeconds: z.number().int().min(5).max(3600),
        drainSeconds: z.number().int().min(0).max(3600),
    })
    .strict();

export type Timeouts = z.infer<typeof timeoutsSchema>;

export const vpnSchema = z
    .object({
        interface: interfaceNameSchema,
        cidr: cidrSchema.optional(),
    })
    .strict();

export const clusterSchema = z
    .object({
        clusterId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, {
            message: "is not a cluster id (letters, digits, '.', '_' or '-')",
        }),
        registryUrl: httpUrlSchema,
        protocol: z.enum(["gateway", "parser"]).default("gateway"),
        gatewayUrl: httpUrlSchema.optional(),
        parserUrl: httpUrlSchema.optional(),
        customIp: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/).optional(),
        vpn: vpnSchema.optional(),
        kubeadmVersion: z.string().regex(/^v?\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$/, {
            message: 'is not a version such as "v1.36.3"',
        }).optional(),
        joinToken: z.enum(["registry", "mint"]).optional(),
        joinTokenMinutes: z.number().int().min(1).max(MAX_TOKEN_MINUTES).default(MAX_TOKEN_MINUTES),
    })
    .strict()
    .superRefine((c, ctx) => {
        if (c.joinToken !== undefined && c.protocol !== "parser") {
            ctx.addIssue({ code: "custom", path: ["joinToken"], message: 'applies to the parser protocol only (the gateway mints a token for each machine, and this stack deletes it after the join)' });
        }
        if (c.protocol === "gateway" && !c.gatewayUrl) {
            ctx.addIssue({ code: "custom", path: ["gatewayUrl"], message: 'is required when protocol is "gateway"' });
        }
        if (c.protocol === "parser" && !c.parserUrl) {
            ctx.addIssue({ code: "custom", path: ["parserUrl"], message: 'is required when protocol is "parser"' });
        }
    });

export const machineSchema = z
    .object({
        nodeId: nodeIdSchema,
        host: hostSchema,
        hostKey: hostKeySchema,
        port: portSchema.optional(),
        user: unixUserSchema.optional(),
        external: z.boolean().default(false),
        address: ipAddressSchema.optional(),
        vpn: z.boolean().optional(),
        labels: labelsSchema.default({}),
        taints: z.array(taintSchema).default([]),
        tags: z.array(z.string().max(253)).default([]),
        nodeMetadata: z.record(z.string(), z.unknown()).default({}),
        forceRemove: z.boolean().default(false),
        timeouts: timeoutsSchema.partial().optional(),
    })
    .strict();

/** Fix texts, by field, for error messages. `{key}` is the config key prefix. */
export const FIELD_FIXES: Record<string, string> = {
    clusterId: "set the AIOS cluster id, e.g. `pulumi config set clusterId cluster-west-vision-001`",
    registryUrl: "set the cluster registry base URL, e.g. `pulumi config set registryUrl http://registry:30101`",
    protocol: 'use "gateway" (the flow the AIOS code runs) or "parser" (the documented addNode flow)',
    gatewayUrl: "set the cluster-controller-gateway URL, e.g. `pulumi config set gatewayUrl http://gateway:30600`",
    parserUrl: "set the parser API URL, e.g. `pulumi config set parserUrl http://parser:30501`",
    customIp: "name a key of the cluster document's config.secondaryIPs, or remove it",
    vpn: 'set it as {"interface": "wg0", "cidr": "10.8.0.0/24"} or remove it when the cluster has no VPN',
    "vpn.interface": "name the VPN interface the machines must have, e.g. wg0 or tailscale0",
    "vpn.cidr": "give the VPN's address range, e.g. 10.8.0.0/24, or remove the key",
    kubeadmVersion: 'give the cluster\'s kubeadm version such as "v1.36.3", or remove it to use the registry\'s value',
    joinToken: 'use "registry" (the registry\'s static join command, as AIOS documents) or "mint" (a token minted for each machine, deleted after its join), with protocol parser',
    joinTokenMinutes: `use whole minutes from 1 to ${MAX_TOKEN_MINUTES}: how long a machine's join token lives`,
    kubeconfig: "store the admin kubeconfig as a secret: `pulumi config set --secret kubeconfig < admin.conf`",
    sshPrivateKey: "store the SSH private key as a secret: `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`",
    sshUser: "use a POSIX user name, e.g. root or ubuntu (a non-root user needs passwordless sudo)",
    sshPort: "use a TCP port between 1 and 65535",
    parallelism: "use a whole number between 1 and 256",
    timeouts: "use whole seconds within the documented bounds (see README: timeouts)",
    machines: "list the machines as objects with nodeId, host and hostKey (see README: machines)",
    nodeId: 'use the Kubernetes node name: lowercase letters, digits, "-" and ".", e.g. "gpu-node-7"',
    host: "use the machine's IP address or DNS name (no user@, no port, no spaces)",
    hostKey: "pin the machine's host key: `ssh-keyscan -t ed25519 <host>` and copy the key part (\"ssh-ed25519 AAAA…\")",
    port: "use the machine's SSH port (1–65535)",
    user: "use a POSIX user name that can log in with the stack's SSH key",
    external: "use true for a machine joining over the public internet, false otherwise",
    address: "give the machine's static IP address, as configured on one of its interfaces",
    labels: 'use Kubernetes label keys and values, e.g. {"example.com/rack": "r2"}; nodeID is reserved for AIOS',
    taints: 'use objects like {"key": "gpu", "value": "true", "effect": "NoSchedule"}',
    tags: "use a list of strings",
    nodeMetadata: "use an object of free-form metadata",
    forceRemove: "use true only to remove a machine that can no longer be reached",
};

/** Picks the fix text for a formatted path like `aios-onboarding:machines[2].nodeId`. */
export function fixForPath(path: string): string {
    const bare = path.replace(/^[^:]*:/, "").replace(/\[\d+\]/g, "");
    const parts = bare.split(".");
    for (let i = parts.length; i > 0; i--) {
        const tail = parts.slice(parts.length - i).join(".");
        if (FIELD_FIXES[tail]) return FIELD_FIXES[tail];
    }
    for (const part of parts.slice().reverse()) {
        if (FIELD_FIXES[part]) return FIELD_FIXES[part];
    }
    return "see README: stack config";
}

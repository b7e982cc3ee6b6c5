import { z } from "zod";

/**
 * Shared field validators. Everything that ends up inside a shell script or a URL is
 * validated here against a strict allow-list, so no value from a stack config can
 * inject shell syntax into the join, probe or reset scripts.
 */

// Kubernetes node names are DNS-1123 subdomains; AIOS labels the Node whose name
// equals the node id (contract §6.1), so the node id must be one as well.
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function nodeIdProblem(value: string): string | undefined {
    if (value.length === 0) return "is empty";
    if (value.length > 253) return `is ${value.length} characters long (at most 253)`;
    if (!DNS1123_SUBDOMAIN.test(value)) {
        return `"${value}" is not a lowercase DNS-1123 name (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)`;
    }
    return undefined;
}

export const nodeIdSchema = z.string().superRefine((v, ctx) => {
    const problem = nodeIdProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

// A host is an IPv4/IPv6 literal or a DNS name; nothing else reaches ssh's argv.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:]+(%[A-Za-z0-9_.-]+)?$/;

export function isIpAddress(value: string): boolean {
    return IPV4.test(value) || (value.includes(":") && IPV6.test(value));
}

export const hostSchema = z.string().refine((v) => isIpAddress(v) || HOSTNAME.test(v), {
    message: "is not an IP address or DNS host name",
});

export const ipAddressSchema = z.string().refine(isIpAddress, { message: "is not an IPv4 or IPv6 address" });

export const cidrSchema = z.string().refine(
    (v) => {
        const [ip, bits, ...rest] = v.split("/");
        if (rest.length > 0 || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
        const max = IPV4.test(ip) ? 32 : isIpAddress(ip) ? 128 : -1;
        return max > 0 && Number(bits) <= max;
    },
    { message: "is not a CIDR such as 10.8.0.0/24" },
);

// authorized_keys format: "<type> <base64> [comment]". The comment is dropped later.
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n\r]*)?$/;

export const hostKeySchema = z.string().refine((v) => HOST_KEY.test(v.trim()), {
    message: 'is not a public host key in authorized_keys format ("ssh-ed25519 AAAA…")',
});

export const unixUserSchema = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, {
    message: "is not a POSIX user name",
});

export const portSchema = z.number().int().min(1).max(65535);

export const interfaceNameSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, {
    message: "is not a network interface name (1–15 letters, digits, '_', '.', ':' or '-')",
});

export const httpUrlSchema = z.string().refine(
    (v) => {
        try {
            const u = new URL(v);
            return (u.protocol === "http:" || u.protocol === "https:") && u.username === "" && u.password === "";
        } catch {
            return false;
        }
    },
    { message: "is not an http(s) URL without credentials" },
);

// Kubernetes label keys: optional DNS-1123 prefix + "/" + name (≤63, alnum with -_.).
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
export function labelKeyProblem(key: string): string | undefined {
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) {
        return `label key "${key}" has an invalid prefix "${prefix}" (a lowercase DNS name)`;
    }
    if (!LABEL_NAME.test(name)) return `label key "${key}" is not a valid Kubernetes label name`;
    if (key === "nodeID") {
        return 'label "nodeID" is set by the AIOS Cluster Controller and only verified here; remove it';
    }
    return undefined;
}

export const labelValueSchema = z.string().regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, {
    message: "is not a valid Kubernetes label value (≤63 letters, digits, '-', '_' or '.')",
});

export const labelsSchema = z.record(z.string(), labelValueSchema).superRefine((labels, ctx) => {
    for (const key of Object.keys(labels)) {
        const problem = labelKeyProblem(key);
        if (problem) ctx.addIssue({ code: "custom", message: problem, path: [key] });
    }
});

export const taintSchema = z
    .object({
        key: z.string().refine((k) => labelKeyProblem(k) === undefined || k === "nodeID", {
            message: "is not a valid taint key",
        }),
        value: labelValueSchema.optional(),
        effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
    })
    .strict();

export type Taint = z.infer<typeof taintSchema>;

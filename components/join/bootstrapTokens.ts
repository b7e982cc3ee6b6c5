import { randomInt } from "node:crypto";
import { parseJoinCommand } from "../aios/secrets";
import type { KubeClient } from "../kube/client";

/**
 * The kubeadm bootstrap tokens a join uses (Kubernetes' `bootstrap.kubernetes.io/token` Secrets in
 * kube-system, named `bootstrap-token-<id>`). The token id is public (it names the Secret); the part
 * after the dot is the secret and never leaves a JoinConfiguration.
 */
const TOKEN_NAMESPACE = "kube-system";

/** The group kubeadm's node bootstrap RBAC binds (what `kubeadm token create` gives a token). */
export const KUBEADM_NODE_GROUP = "system:bootstrappers:kubeadm:default-node-token";

/** How long a minted token may live at most, and by default: Cluster API's per-machine bound. */
export const MAX_TOKEN_MINUTES = 15;

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A token this stack owns: one the gateway minted for the machine, or one minted here. */
export interface OwnedToken {
    /** The token id (public: it names the Secret). */
    tokenId: string;
    /** When it stops working (RFC 3339), when it was minted here; AIOS's tokens never expire. */
    expiresAt?: string;
}

function secretName(tokenId: string): string {
    return `bootstrap-token-${tokenId}`;
}

/** The token id of a `kubeadm join` command; its secret part is not looked at. */
export function tokenIdOf(joinCommand: string): string {
    return parseJoinCommand(joinCommand).token.split(".")[0];
}

function random(n: number): string {
    return Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
}

/**
 * Mints a bootstrap token for one machine's join: usable for discovery (signing) and the kubelet's TLS
 * bootstrap (authentication), in kubeadm's node group, as `kubeadm token create` makes them, but expiring
 * `minutes` from now. The API server's token cleaner removes it after that; the verification deletes it
 * as soon as the machine is verified, or failed.
 */
export async function mintBootstrapToken(kube: KubeClient, nodeId: string, minutes: number, now = Date.now()): Promise<OwnedToken & { token: string }> {
    const expiresAt = expiry(now, minutes);
    // 36^6 ids: a clash with a live token is rare, and the API server refuses it (409) rather than overwrite.
    for (let attempt = 0; attempt < 3; attempt++) {
        const tokenId = random(6);
        const secret = random(16);
        const created = await kube.createSecret(TOKEN_NAMESPACE, {
            metadata: { name: secretName(tokenId) },
            type: "bootstrap.kubernetes.io/token",
            stringData: {
                description: `aios-onboarding: the join of node ${nodeId}`,
                "token-id": tokenId,
                "token-secret": secret,
                expiration: expiresAt,
                "usage-bootstrap-authentication": "true",
                "usage-bootstrap-signing": "true",
                "auth-extra-groups": KUBEADM_NODE_GROUP,
            },
        });
        if (created) return { tokenId, expiresAt, token: `${tokenId}.${secret}` };
    }
    throw new Error(`could not mint a join token for node ${nodeId}: three random token ids were all taken in ${TOKEN_NAMESPACE}`);
}

/**
 * Gives a token AIOS minted (it never expires) an expiration `minutes` from now, so a token whose join
 * failed, or whose run died before its verification deleted it, stops working by itself and is
 * removed by the cluster's token cleaner. Returns the expiration; throws when the token is not there.
 */
export async function expireBootstrapToken(kube: Pick<KubeClient, "patchSecret">, tokenId: string, minutes: number, now = Date.now()): Promise<string> {
    const expiresAt = expiry(now, minutes);
    if (!(await kube.patchSecret(TOKEN_NAMESPACE, secretName(tokenId), { data: { expiration: Buffer.from(expiresAt).toString("base64") } }))) {
        throw new Error(`the join token ${tokenId} AIOS issued is not in ${TOKEN_NAMESPACE} (no Secret ${secretName(tokenId)}): the join could not use it`);
    }
    return expiresAt;
}

function expiry(now: number, minutes: number): string {
    if (!(minutes > 0 && minutes <= MAX_TOKEN_MINUTES)) throw new Error(`a join token lives 1 to ${MAX_TOKEN_MINUTES} minutes, not ${minutes}`);
    return new Date(now + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Deletes a token's Secret; true when it existed. */
export function deleteBootstrapToken(kube: Pick<KubeClient, "deleteSecret">, tokenId: string): Promise<boolean> {
    return kube.deleteSecret(TOKEN_NAMESPACE, secretName(tokenId));
}

/** What the cluster holds for a token: gone, or present with its expiration (none: it never expires). */
export async function tokenExpiry(kube: KubeClient, tokenId: string): Promise<{ present: false } | { present: true; expiresAt?: string }> {
    const data = await kube.getSecretData(TOKEN_NAMESPACE, secretName(tokenId), ["expiration"]);
    return data === undefined ? { present: false } : { present: true, expiresAt: data.expiration };
}

/** Whether a token can still join a machine `marginMs` from `now`: its Secret exists and has not expired. */
export async function tokenUsable(kube: KubeClient, token: OwnedToken, now = Date.now(), marginMs = 120_000): Promise<boolean> {
    const expiring = (at: string | undefined) => at !== undefined && Date.parse(at) <= now + marginMs;
    // The stored expiry answers without asking the cluster; the Secret is what decides otherwise.
    if (expiring(token.expiresAt)) return false;
    const found = await tokenExpiry(kube, token.tokenId);
    return found.present && !expiring(found.expiresAt);
}

import type { KubeClient } from "../kube/client";
import { deleteBootstrapToken } from "./bootstrapTokens";

/** What revoking the open tokens did: the ids deleted (or already gone), and those that could not be. */
export interface Revoked {
    deleted: string[];
    left: { tokenId: string; reason: string }[];
}

/**
 * The join tokens one provider process handed out (a registration's create or update) that no
 * verification or offboarding has deleted yet. A machine whose join fails is never verified: the engine
 * skips its verification (or starts no step at all after the failure); it does end every plugin it
 * started, with SIGINT first and up to 5 s before a SIGKILL, after its last step. Deleting what this
 * ledger holds then leaves no usable token behind a failed join, or behind a run stopped by another
 * machine's failure (a machine that did join needs its token no more: its kubelet has a certificate).
 */
export class JoinTokenLedger {
    private readonly open = new Set<string>();

    /** A token handed to a machine's join. */
    issued(tokenId: string): void {
        this.open.add(tokenId);
    }

    /** A token deleted (or found gone) some other way. */
    spent(tokenId: string): void {
        this.open.delete(tokenId);
    }

    /**
     * Deletes a token's Secret (true when it existed) and closes it here; one that cannot be deleted
     * stays open, for the shutdown to try again.
     */
    async delete(kube: Pick<KubeClient, "deleteSecret">, tokenId: string): Promise<boolean> {
        const existed = await deleteBootstrapToken(kube, tokenId);
        this.spent(tokenId);
        return existed;
    }

    /** The ids still open, oldest first. */
    get pending(): string[] {
        return [...this.open];
    }

    /**
     * Deletes every open token at once, all within `deadlineMs`. A token that cannot be deleted stays
     * open (a later call tries again); it still expires by itself (`joinTokenMinutes` after it was issued).
     */
    async revokeAll(kube: Pick<KubeClient, "deleteSecret">, deadlineMs: number): Promise<Revoked> {
        const result: Revoked = { deleted: [], left: [] };
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<string>((resolve) => {
            timer = setTimeout(() => resolve(`no answer within ${deadlineMs} ms`), deadlineMs);
        });
        await Promise.all(
            this.pending.map(async (tokenId) => {
                const failure = await Promise.race([
                    this.delete(kube, tokenId).then(
                        () => undefined,
                        (e: unknown) => (e instanceof Error ? e.message : String(e)),
                    ),
                    deadline,
                ]);
                if (failure === undefined) result.deleted.push(tokenId);
                else result.left.push({ tokenId, reason: failure });
            }),
        );
        clearTimeout(timer);
        return result;
    }
}

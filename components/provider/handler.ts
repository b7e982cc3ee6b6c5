import type * as provider from "@pulumi/pulumi/provider";
import type { JoinTokenLedger } from "../join/tokenLedger";
import type { SshTarget, StoredSshTarget } from "../machine/ssh";

/**
 * What one operation of the aios-onboarding provider plugin knows beyond its resource's properties:
 * the stack's cluster credentials and SSH key (the provider's configuration, stored once per stack) and the
 * engine's log, where a resource's progress shows in `pulumi up`.
 */
export interface OperationContext {
    /** The resource's name, for messages. */
    readonly name: string;
    /** The cluster's admin kubeconfig from the provider's configuration; throws a clear error when there is none. */
    kubeconfig(): string;
    /** The machine's SSH target with its key: the stored one's, else the provider's; throws a clear error when neither has one. */
    ssh(stored: StoredSshTarget): SshTarget;
    /** A line in the resource's `pulumi up` output (kept under Diagnostics). */
    info(message: string): void;
    /** A warning in the resource's output (kept under Diagnostics). */
    warn(message: string): void;
    /** The resource's status line while it works (not kept). */
    progress(message: string): void;
    /** The join tokens this process handed out that no verification or offboarding has deleted yet. */
    readonly joinTokens: JoinTokenLedger;
}

/**
 * What the aios-onboarding provider plugin (provider/) does for one resource type, one handler per type
 * token. `olds` are the resource's stored outputs (diff, update, read, delete: what the SDK's provider
 * server hands over); every property is decoded with zod first.
 */
export interface ResourceHandler {
    /** `olds` here are the stored inputs (none for a new resource). */
    check(name: string, olds: unknown, news: unknown): provider.CheckResult | Promise<provider.CheckResult>;
    /** `ctx` is there to tell the user why (at preview too); a diff changes nothing. */
    diff(name: string, olds: unknown, news: unknown, ctx?: OperationContext): provider.DiffResult | Promise<provider.DiffResult>;
    create(ctx: OperationContext, inputs: unknown): Promise<provider.CreateResult>;
    update(ctx: OperationContext, olds: unknown, news: unknown): Promise<provider.UpdateResult>;
    read(ctx: OperationContext, id: string, props: unknown): Promise<provider.ReadResult>;
    delete(ctx: OperationContext, props: unknown): Promise<void>;
}

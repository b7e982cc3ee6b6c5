import type * as pulumi from "@pulumi/pulumi";
import type * as provider from "@pulumi/pulumi/provider";
import { z } from "zod";
import { redactSecrets } from "../components/aios/secrets";
import { JoinTokenLedger } from "../components/join/tokenLedger";
import { KubeClient } from "../components/kube/client";
import { parseKubeconfig } from "../components/kube/kubeconfig";
import { removeKubeconfigCopies } from "../components/kube/providerCopies";
import { PRECHECKS_TYPE, prechecksHandler } from "../components/prechecks/prechecksResource";
import type { OperationContext, ResourceHandler } from "../components/provider/handler";
import { decodeProps, reveal } from "../components/provider/wire";
import { REGISTRATION_TYPE, registrationHandler } from "../components/registration/registrationResource";
import { VERIFICATION_TYPE, verificationHandler } from "../components/verify/verificationResource";
import { ONBOARDED_NODE_TYPE } from "../components/onboardedNode/typeToken";
import type { EngineLog } from "./engine";
import { packageSchema } from "./schema";

/** The type token and the name in a URN (`urn:pulumi:<stack>::<project>::<parent types$>type::<name>`). */
export function urnParts(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    if (parts.length < 4) throw new Error(`not a resource URN: ${urn}`);
    const types = parts[2].split("$");
    return { type: types[types.length - 1], name: parts.slice(3).join("::") };
}

const handlers: Record<string, ResourceHandler> = {
    [PRECHECKS_TYPE]: prechecksHandler,
    [REGISTRATION_TYPE]: registrationHandler,
    [VERIFICATION_TYPE]: verificationHandler,
};

function handlerOf(urn: string): { handler: ResourceHandler; name: string } {
    const { type, name } = urnParts(urn);
    const handler = handlers[type];
    if (!handler) {
        throw new Error(
            `the aios-onboarding provider has no resource type ${type} (it serves ${Object.keys(handlers).join(", ")}); ` +
                "the program and the provider plugin come from different versions of aios-onboarding: install the plugin of the package's version",
        );
    }
    return { handler, name };
}

/** The provider's configuration: OnboardingProvider's inputs. */
const providerConfig = z.object({ kubeconfig: z.string().min(1).optional(), privateKey: z.string().min(1).optional() });

/** The SSH target of checked inputs, when there is one (the registration's and the verification's `ssh`). */
const checkedSsh = z.object({ ssh: z.object({ privateKey: z.unknown() }).loose() }).loose();

/** Struct values cannot be undefined: such keys are left out. */
function withoutUndefined<T>(value: T): T {
    if (Array.isArray(value)) return value.map(withoutUndefined) as T;
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, withoutUndefined(v)])) as T;
    }
    return value;
}

/** An operation's error as the user reads it: no token in it, whatever a service echoed. */
async function reported<T>(op: Promise<T>): Promise<T> {
    try {
        return await op;
    } catch (e) {
        throw new Error(redactSecrets(e instanceof Error ? e.message : String(e)));
    }
}

/**
 * The aios-onboarding resource provider: one long-lived process per engine phase serves every
 * resource of its types. Each operation goes to the handler of the resource's type token, with the
 * stack's kubeconfig from the provider's configuration.
 */
export class AiosOnboardingProvider implements provider.Provider {
    private kubeconfig: string | undefined;
    private privateKey: string | undefined;
    private readonly joinTokens = new JoinTokenLedger();

    constructor(
        readonly version: string,
        private readonly log?: EngineLog,
    ) {}

    /** Takes the provider resource's inputs (see onConfigure). */
    configure(args: unknown): void {
        ({ kubeconfig: this.kubeconfig, privateKey: this.privateKey } = decodeProps("the aios-onboarding provider's configuration", providerConfig, args));
        // The kubernetes provider of the same stack leaves plaintext copies of this kubeconfig behind.
        if (this.kubeconfig) removeKubeconfigCopies(this.kubeconfig);
    }

    private context(urn: string, name: string): OperationContext {
        const write = (message: string, ephemeral: boolean, warning = false) => void this.log?.write(urn, redactSecrets(message), { ephemeral, warning });
        return {
            name,
            kubeconfig: () => {
                if (!this.kubeconfig) {
                    throw new Error(`${name}: the aios-onboarding provider has no kubeconfig; create OnboardingProvider with the cluster's kubeconfig (it is stored once, encrypted, in the provider's state)`);
                }
                removeKubeconfigCopies(this.kubeconfig);
                return this.kubeconfig;
            },
            ssh: (stored) => {
                const privateKey = stored.privateKey ?? this.privateKey;
                if (!privateKey) {
                    throw new Error(
                        `${name}: no SSH key for machine ${stored.host}: the resource holds none and the aios-onboarding provider has none; ` +
                            "give OnboardingProvider the machines' sshPrivateKey (it is stored once, encrypted, in the provider's state)",
                    );
                }
                return { ...stored, privateKey };
            },
            info: (m) => write(m, false),
            warn: (m) => write(m, false, true),
            progress: (m) => write(m, true),
            joinTokens: this.joinTokens,
        };
    }

    /**
     * Before the process ends (the engine's SIGINT after its last step): deletes the join tokens this
     * process handed out that no verification or offboarding deleted, because a join failed or the run
     * stopped before their machines' verifications (see JoinTokenLedger). Within `deadlineMs`, less than
     * the engine's 5 s before its SIGKILL. Says what it did in the engine's log.
     */
    async shutdown(deadlineMs: number): Promise<void> {
        if (this.joinTokens.pending.length === 0 || !this.kubeconfig) return;
        const kube = new KubeClient(parseKubeconfig(this.kubeconfig), deadlineMs);
        const { deleted, left } = await this.joinTokens.revokeAll(kube, deadlineMs);
        const say = (message: string, warning = false) => this.log?.write("", message, { warning }) ?? Promise.resolve();
        const said = left.map(({ tokenId, reason }) =>
            say(`the join token ${tokenId} could not be deleted (${redactSecrets(reason)}); it stops working when it expires, or delete Secret kube-system/bootstrap-token-${tokenId}`, true),
        );
        if (deleted.length > 0) {
            said.push(say(`deleted the join token(s) ${deleted.join(", ")}: their machines' joins failed or were not verified in this run; the next \`pulumi up\` gets new ones where a machine still needs to join`));
        }
        // The engine may stop listening: a message that gets no answer in 0.5 s is given up.
        await Promise.race([Promise.all(said), new Promise((r) => setTimeout(r, 500))]);
    }

    async check(urn: string, olds: unknown, news: unknown): Promise<provider.CheckResult> {
        const { handler, name } = handlerOf(urn);
        const checked = await handler.check(name, olds, news);
        return checked.inputs ? { ...checked, inputs: this.withoutProviderKey(checked.inputs) } : checked;
    }

    /**
     * `inputs` without the SSH key when it is this provider's: the state then keeps it once, in the
     * provider's, instead of in every registration and verification (inputs and outputs). A rotated stack
     * key then changes no machine's resources, only the provider's configuration.
     */
    private withoutProviderKey(inputs: Record<string, unknown>): Record<string, unknown> {
        const parsed = checkedSsh.safeParse(inputs);
        if (!parsed.success || this.privateKey === undefined || reveal(parsed.data.ssh.privateKey) !== this.privateKey) return inputs;
        const { privateKey: _shared, ...ssh } = parsed.data.ssh;
        return { ...inputs, ssh };
    }

    async diff(_id: string, urn: string, olds: unknown, news: unknown): Promise<provider.DiffResult> {
        const { handler, name } = handlerOf(urn);
        return handler.diff(name, olds, news, this.context(urn, name));
    }

    async create(urn: string, inputs: unknown): Promise<provider.CreateResult> {
        const { handler, name } = handlerOf(urn);
        const r = await reported(handler.create(this.context(urn, name), inputs));
        return { ...r, outs: withoutUndefined(r.outs) };
    }

    async update(_id: string, urn: string, olds: unknown, news: unknown): Promise<provider.UpdateResult> {
        const { handler, name } = handlerOf(urn);
        const r = await reported(handler.update(this.context(urn, name), olds, news));
        return { ...r, outs: withoutUndefined(r.outs) };
    }

    async read(id: string, urn: string, props: unknown): Promise<provider.ReadResult> {
        const { handler, name } = handlerOf(urn);
        const r = await reported(handler.read(this.context(urn, name), id, props));
        return { ...r, props: withoutUndefined(r.props) };
    }

    async delete(_id: string, urn: string, props: unknown): Promise<void> {
        const { handler, name } = handlerOf(urn);
        await reported(handler.delete(this.context(urn, name), props));
    }

    /** The component for programs in other languages (Pulumi YAML, generated SDKs): see construct.ts. */
    async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<provider.ConstructResult> {
        if (type !== ONBOARDED_NODE_TYPE) throw new Error(`the aios-onboarding provider has no component ${type} (it serves ${ONBOARDED_NODE_TYPE})`);
        // Loaded on first use: the component brings the whole SDK, a second of CPU at every start of a
        // plugin that most stacks (TypeScript programs) never ask to construct anything.
        const { constructOnboardedNode } = await import("./construct");
        return await constructOnboardedNode(name, inputs, options, { kubeconfig: this.kubeconfig, privateKey: this.privateKey });
    }

    async getSchema(): Promise<string> {
        return JSON.stringify(packageSchema(this.version));
    }
}

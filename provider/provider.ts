import type * as provider from "@pulumi/pulumi/provider";
import { PRECHECKS_TYPE, prechecksHandler } from "../components/prechecks/prechecksResource";
import type { ResourceHandler } from "../components/provider/handler";

/** The type token and the name in a URN (`urn:pulumi:<stack>::<project>::<parent types$>type::<name>`). */
export function urnParts(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    if (parts.length < 4) throw new Error(`not a resource URN: ${urn}`);
    const types = parts[2].split("$");
    return { type: types[types.length - 1], name: parts.slice(3).join("::") };
}

const handlers: Record<string, ResourceHandler> = { [PRECHECKS_TYPE]: prechecksHandler };

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

/**
 * The aios-onboarding resource provider: one long-lived process per engine phase serves every
 * resource of its types. Each operation goes to the handler of the resource's type token.
 */
export class AiosOnboardingProvider implements provider.Provider {
    constructor(readonly version: string) {}

    async check(urn: string, _olds: unknown, news: unknown): Promise<provider.CheckResult> {
        const { handler, name } = handlerOf(urn);
        return handler.check(name, news);
    }

    async diff(_id: string, urn: string, olds: unknown, news: unknown): Promise<provider.DiffResult> {
        const { handler, name } = handlerOf(urn);
        return handler.diff(name, olds, news);
    }

    async create(urn: string, inputs: unknown): Promise<provider.CreateResult> {
        const { handler, name } = handlerOf(urn);
        return handler.create(name, inputs);
    }

    async update(_id: string, urn: string, _olds: unknown, news: unknown): Promise<provider.UpdateResult> {
        const { handler, name } = handlerOf(urn);
        return handler.update(name, news);
    }

    async read(id: string, urn: string, props: unknown): Promise<provider.ReadResult> {
        const { handler, name } = handlerOf(urn);
        return handler.read(name, id, props);
    }

    async delete(_id: string, urn: string, props: unknown): Promise<void> {
        const { handler, name } = handlerOf(urn);
        handler.delete(name, props);
    }
}

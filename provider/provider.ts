import type * as provider from "@pulumi/pulumi/provider";
import { PRECHECKS_TYPE, prechecksHandler } from "../components/prechecks/prechecksResource";

/** The type token and the name in a URN (`urn:pulumi:<stack>::<project>::<parent types$>type::<name>`). */
export function urnParts(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    if (parts.length < 4) throw new Error(`not a resource URN: ${urn}`);
    const types = parts[2].split("$");
    return { type: types[types.length - 1], name: parts.slice(3).join("::") };
}

function unknownType(urn: string): never {
    throw new Error(
        `the aios-onboarding provider has no resource type ${urnParts(urn).type} (it serves ${PRECHECKS_TYPE}); ` +
            "the program and the provider plugin come from different versions of aios-onboarding: install the plugin of the package's version",
    );
}

/**
 * The aios-onboarding resource provider: one long-lived process per engine phase serves every
 * resource of its types. Each operation dispatches on the resource's type token.
 */
export class AiosOnboardingProvider implements provider.Provider {
    constructor(readonly version: string) {}

    async check(urn: string, _olds: unknown, news: unknown): Promise<provider.CheckResult> {
        const { type, name } = urnParts(urn);
        if (type === PRECHECKS_TYPE) return prechecksHandler.check(name, news);
        return unknownType(urn);
    }

    async diff(_id: string, urn: string, olds: unknown, news: unknown): Promise<provider.DiffResult> {
        const { type, name } = urnParts(urn);
        if (type === PRECHECKS_TYPE) return prechecksHandler.diff(name, olds, news);
        return unknownType(urn);
    }

    async create(urn: string, inputs: unknown): Promise<provider.CreateResult> {
        const { type, name } = urnParts(urn);
        if (type === PRECHECKS_TYPE) return prechecksHandler.create(name, inputs);
        return unknownType(urn);
    }

    async update(_id: string, urn: string, _olds: unknown, news: unknown): Promise<provider.UpdateResult> {
        const { type, name } = urnParts(urn);
        if (type === PRECHECKS_TYPE) return prechecksHandler.update(name, news);
        return unknownType(urn);
    }

    async read(id: string, urn: string, props: unknown): Promise<provider.ReadResult> {
        const { type, name } = urnParts(urn);
        if (type === PRECHECKS_TYPE) return prechecksHandler.read(name, id, props);
        return unknownType(urn);
    }

    async delete(_id: string, urn: string): Promise<void> {
        const { type } = urnParts(urn);
        // A machine's prechecks own nothing outside the state.
        if (type === PRECHECKS_TYPE) return;
        unknownType(urn);
    }
}

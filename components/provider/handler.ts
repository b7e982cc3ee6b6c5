import type * as provider from "@pulumi/pulumi/provider";

/**
 * What the aios-onboarding provider plugin (provider/) does for one resource type, one handler per type
 * token. `name` is the resource's name, for error messages; every input is decoded with zod first.
 */
export interface ResourceHandler {
    check(name: string, news: unknown): provider.CheckResult;
    diff(name: string, olds: unknown, news: unknown): provider.DiffResult;
    create(name: string, inputs: unknown): provider.CreateResult;
    update(name: string, news: unknown): provider.UpdateResult;
    read(name: string, id: string, props: unknown): provider.ReadResult;
    delete(name: string, props: unknown): void;
}

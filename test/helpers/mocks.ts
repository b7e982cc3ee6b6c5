import * as pulumi from "@pulumi/pulumi";
import { joinConfiguration } from "../../components/join/joinConfiguration";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { deserializeProperties } from "@pulumi/pulumi/runtime/rpc";
import { RegisterResourceRequest, RegisterResourceResponse, Result } from "@pulumi/pulumi/proto/resource_pb";

/** Every resource the mocks saw, in registration order. */
export const created: pulumi.runtime.MockResourceArgs[] = [];

/**
 * Test hooks; reset them after the test. `beforeResource` runs before the mocks answer for a
 * resource (a step that takes time). `failStep` makes a resource's step fail the way the engine
 * reports it under `pulumi up --continue-on-error`: a registration answered with result FAIL (and
 * its dependents skipped, see failStepsLikeTheEngine).
 */
export const mockHooks: {
    beforeResource?: (a: pulumi.runtime.MockResourceArgs) => Promise<void>;
    failStep?: (type: string, name: string, inputs: Record<string, unknown>) => boolean;
} = {};

type Callback = (err: Error | null, resp?: RegisterResourceResponse) => void;
interface MockMonitor {
    registerResource(req: RegisterResourceRequest, cb: Callback): void;
    newUrn(parent: string, type: string, name: string): string;
}

/** URNs of the steps that failed or were skipped, and the steps the mocks skipped (in registration order). */
const failedOrSkipped = new Set<string>();
export const skipped: string[] = [];

/** The URNs a registration depends on, as the engine reads them (dependsOn and every input's). */
function dependencies(req: RegisterResourceRequest): string[] {
    const byProperty = [...req.getPropertydependenciesMap().values()].flatMap((d) => d.getUrnsList());
    return [...req.getDependenciesList(), ...byProperty];
}

/**
 * Fails the steps `failStep` picks and, as the 3.259 engine does under --continue-on-error, skips
 * every step that depends on a failed or skipped one (answered with result SKIP, never created).
 */
function failStepsLikeTheEngine(): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        const inputs = deserializeProperties(req.getObject() ?? new Struct()) as Record<string, unknown>;
        const urn = monitor.newUrn(req.getParent(), req.getType(), req.getName());
        const skip = dependencies(req).some((d) => failedOrSkipped.has(d));
        const fail = !skip && !!mockHooks.failStep?.(req.getType(), req.getName(), inputs);
        if (!skip && !fail) return register(req, cb);
        failedOrSkipped.add(urn);
        if (skip) skipped.push(req.getName());
        const resp = new RegisterResourceResponse();
        resp.setUrn(urn);
        resp.setObject(Struct.fromJavaScript({}));
        resp.setResult(skip ? Result.SKIP : Result.FAIL);
        cb(null, resp);
    };
}

export async function installMocks(): Promise<void> {
    await pulumi.runtime.setMocks(
        {
            newResource: async (a) => {
                created.push(a);
                await mockHooks.beforeResource?.(a);
                // Resources echo their inputs; the registration and the verification answer like the provider would.
                const state: Record<string, unknown> = { ...a.inputs };
                if (a.type === "aios-onboarding:index:Verification") {
                    const nodeId = a.name.replace(/-verify$/, "");
                    Object.assign(state, { nodeName: nodeId, labels: { nodeID: nodeId }, kubeletVersion: "v1.36.3", addresses: [{ type: "InternalIP", address: "10.0.0.5" }], ready: true });
                }
                if (a.type === "aios-onboarding:index:Registration") {
                    Object.assign(state, {
                        registeredAt: "2026-11-24T00:00:00.000Z",
                        joinConfiguration: joinConfiguration("kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:" + "a".repeat(64), a.name.replace(/-registration$/, "")),
                        adopted: false,
                    });
                }
                return { id: `${a.name}-id`, state };
            },
            call: (a) => {
                throw new Error(`mock call not implemented: ${a.token}`);
            },
        },
        "aios-onboarding",
        "unit",
        false,
    );
    failStepsLikeTheEngine();
}

export function unwrap<T>(x: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve, reject) => {
        if (pulumi.Output.isInstance(x)) {
            // Output.promise() carries rejections that apply() would swallow.
            (x as unknown as { promise(): Promise<T> }).promise().then(resolve, reject);
        } else Promise.resolve(x).then(resolve, reject);
    });
}

export function findCreated(type: string, name: string): pulumi.runtime.MockResourceArgs | undefined {
    return created.find((r) => r.type === type && r.name === name);
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a mock input value arrived marked secret. */
export function isSecretInput(value: unknown): boolean {
    return !!value && typeof value === "object" && (value as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === SECRET_SIG;
}

export function secretValue(value: unknown): unknown {
    return isSecretInput(value) ? (value as { value: unknown }).value : value;
}

/**
 * Runs `fn` and returns the unhandled rejections it left behind (after `settleMs`), with mocha's
 * own listeners out of the way. The SDK reports each unhandled rejection of a program: as the
 * error it is, or as a crash of the program with a stack trace.
 */
export async function unhandledRejectionsOf(fn: () => Promise<unknown>, settleMs = 200): Promise<unknown[]> {
    const unhandled: unknown[] = [];
    const listener = (e: unknown) => unhandled.push(e);
    const mochaListeners = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", listener);
    try {
        await fn();
        await new Promise((r) => setTimeout(r, settleMs));
    } finally {
        process.removeListener("unhandledRejection", listener);
        for (const l of mochaListeners) process.on("unhandledRejection", l);
    }
    return unhandled;
}

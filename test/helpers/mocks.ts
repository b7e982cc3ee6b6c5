import * as pulumi from "@pulumi/pulumi";

/** Every resource the mocks saw, in registration order. */
export const created: pulumi.runtime.MockResourceArgs[] = [];

/**
 * Runs before the mocks answer for a resource: a test may delay the answer (a step that takes
 * time) or throw (a step that fails). Reset it after the test.
 */
export const mockHooks: { beforeResource?: (a: pulumi.runtime.MockResourceArgs) => Promise<void> } = {};

export async function installMocks(): Promise<void> {
    await pulumi.runtime.setMocks(
        {
            newResource: async (a) => {
                created.push(a);
                await mockHooks.beforeResource?.(a);
                // Commands echo their inputs; verify answers like the real step would.
                const state: Record<string, unknown> = { ...a.inputs };
                if (a.type === "command:local:Command" && a.name.endsWith("-verify")) {
                    state.stdout = JSON.stringify({ nodeName: a.name.replace(/-verify$/, ""), labels: { nodeID: a.name.replace(/-verify$/, "") }, kubeletVersion: "v1.36.3", addresses: [{ type: "InternalIP", address: "10.0.0.5" }], ready: true });
                }
                if (a.type === "command:local:Command" && a.name.endsWith("-registration")) {
                    state.stdout = JSON.stringify({ protocol: "gateway", registeredAt: "2026-11-24T00:00:00.000Z", joinCommand: "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:" + "a".repeat(64), adopted: false });
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

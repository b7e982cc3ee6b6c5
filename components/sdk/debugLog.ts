/**
 * The Node.js SDK sends every RegisterResource response to the engine as a debug diagnostic
 * ("RegisterResource RPC finished: …; resp: …"), secret values included in plaintext. The CLI
 * hides debug diagnostics unless run with --debug, but they are in every Automation API event
 * stream and `--event-log` file: the join token, the kubeconfig and the SSH key would be there.
 * So the SDK's debug log is cut where the first secret value starts.
 */

/** The marker key and value the SDK wraps every secret value in (runtime/rpc.ts). */
const SECRET_MARKERS = ["4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"];

export function withoutSecretValues(message: string): string {
    const cut = Math.min(...SECRET_MARKERS.map((m) => message.indexOf(m)).filter((i) => i >= 0));
    return Number.isFinite(cut) ? `${message.slice(0, cut)}… [cut by aios-onboarding: the rest holds secret values]` : message;
}

interface DebugLog {
    debug(msg: string, ...rest: unknown[]): Promise<void>;
}

const guarded = new WeakSet<object>();

/** Makes `log.debug` (the SDK's, unless another is given) drop secret values; idempotent. */
export function keepSecretsOutOfDebugLog(log: DebugLog = require("@pulumi/pulumi/log") as DebugLog): void {
    if (guarded.has(log)) return;
    guarded.add(log);
    const debug = log.debug.bind(log);
    log.debug = (msg: string, ...rest: unknown[]) => debug(withoutSecretValues(String(msg)), ...rest);
}

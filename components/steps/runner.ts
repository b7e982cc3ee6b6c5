/**
 * The process that `local.Command` children run during `pulumi up` and delete: one step per
 * invocation (`<runner> <step>`), its input as JSON on stdin (secrets included, so they are
 * never on a command line), its result as JSON on stdout, progress and errors on stderr.
 */
// Each step loads only the modules it uses: a step is a fresh process, and its start-up is paid
// once per step per machine (the AIOS clients and zod alone take a quarter of a second).
import type { DrainInput, NodeCleanupInput } from "../offboard/offboard";
import type { RegistrationInput } from "../registration/register";
import type { VerifyInput } from "../verify/verify";
import { redactSecrets } from "../aios/secrets";

function readStdin(): Promise<string> {
    return new Promise((resolve, reject) => {
        let data = "";
        process.stdin.setEncoding("utf8");
        process.stdin.on("data", (c: string) => (data += c));
        process.stdin.on("end", () => resolve(data));
        process.stdin.on("error", reject);
    });
}

const log = (msg: string): void => void process.stderr.write(`${redactSecrets(msg)}\n`);

/**
 * Every step that holds the kubeconfig also removes the kubernetes provider's plaintext copies of it
 * (see removeKubeconfigCopies): a `pulumi destroy` runs no program, but it runs the delete steps.
 */
function removeProviderKubeconfigCopies(stdin: string): void {
    try {
        const { kubeconfig } = JSON.parse(stdin) as { kubeconfig?: unknown };
        if (typeof kubeconfig !== "string") return;
        const { removeKubeconfigCopies } = require("../kube/providerCopies") as typeof import("../kube/providerCopies");
        removeKubeconfigCopies(kubeconfig);
    } catch {
        // Not JSON: the step itself reports that.
    }
}

export async function runStep(step: string, stdin: string): Promise<string> {
    switch (step) {
        case "register": {
            const { register } = await import("../registration/register");
            return JSON.stringify(await register(JSON.parse(stdin) as RegistrationInput));
        }
        case "register-refresh":
            // An update of the registration must not register again: it keeps the first result.
            return process.env.PULUMI_COMMAND_STDOUT ?? "{}";
        case "verify": {
            const { verifyNode } = await import("../verify/verify");
            return JSON.stringify(await verifyNode(JSON.parse(stdin) as VerifyInput, log));
        }
        case "offboard": {
            const { drainAndDeregister } = await import("../offboard/offboard");
            await drainAndDeregister(JSON.parse(stdin) as DrainInput, log);
            return "";
        }
        case "cleanup": {
            const { cleanupNode } = await import("../offboard/offboard");
            await cleanupNode(JSON.parse(stdin) as NodeCleanupInput, log);
            return "";
        }
        default:
            throw new Error(`unknown step "${step}"`);
    }
}

if (require.main === module) {
    const step = process.argv[2] ?? "";
    readStdin()
        .then((input) => {
            removeProviderKubeconfigCopies(input);
            return runStep(step, input);
        })
        .then((out) => {
            if (out) process.stdout.write(`${out}\n`);
        })
        .catch((e: unknown) => {
            log(e instanceof Error ? e.message : String(e));
            process.exitCode = 1;
        });
}

/**
 * The process that `local.Command` children run during `pulumi up` and delete: one step per
 * invocation (`<runner> <step>`), its input as JSON on stdin (secrets included, so they are
 * never on a command line), its result as JSON on stdout, progress and errors on stderr.
 */
import { cleanupNode, drainAndDeregister, DrainInput, NodeCleanupInput } from "../offboard/offboard";
import { register, RegistrationInput } from "../registration/register";
import { verifyNode, VerifyInput } from "../verify/verify";
import { redactSecrets } from "../aios";
import { AppliedLabels, applyNodeLabels, LabelsInput, removeNodeLabels } from "../labels/labels";

export type StepName = "register" | "register-refresh" | "verify" | "offboard" | "cleanup" | "labels" | "labels-remove";

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

/** What the previous run of this step applied (the command provider passes its stdout). */
function previousLabels(): AppliedLabels | undefined {
    try {
        return process.env.PULUMI_COMMAND_STDOUT ? (JSON.parse(process.env.PULUMI_COMMAND_STDOUT) as AppliedLabels) : undefined;
    } catch {
        return undefined;
    }
}

export async function runStep(step: string, stdin: string): Promise<string> {
    switch (step) {
        case "register":
            return JSON.stringify(await register(JSON.parse(stdin) as RegistrationInput));
        case "register-refresh":
            // An update of the registration must not register again: it keeps the first result.
            return process.env.PULUMI_COMMAND_STDOUT ?? "{}";
        case "verify":
            return JSON.stringify(await verifyNode(JSON.parse(stdin) as VerifyInput, log));
        case "offboard":
            await drainAndDeregister(JSON.parse(stdin) as DrainInput, log);
            return "";
        case "cleanup":
            await cleanupNode(JSON.parse(stdin) as NodeCleanupInput, log);
            return "";
        case "labels":
            return JSON.stringify(await applyNodeLabels(JSON.parse(stdin) as LabelsInput, previousLabels()));
        case "labels-remove":
            await removeNodeLabels(JSON.parse(stdin) as LabelsInput, previousLabels());
            return "";
        default:
            throw new Error(`unknown step "${step}"`);
    }
}

if (require.main === module) {
    const step = process.argv[2] ?? "";
    readStdin()
        .then((input) => runStep(step, input))
        .then((out) => {
            if (out) process.stdout.write(`${out}\n`);
        })
        .catch((e: unknown) => {
            log(e instanceof Error ? e.message : String(e));
            process.exitCode = 1;
        });
}

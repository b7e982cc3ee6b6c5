// The aios-onboarding resource provider plugin. The engine starts it through
// bin/pulumi-resource-aios-onboarding with its own address as the argument.
import * as fs from "node:fs";
import * as path from "node:path";
import * as provider from "@pulumi/pulumi/provider";
import { z } from "zod";
import { EngineLog, onConfigure } from "./engine";
import { AiosOnboardingProvider } from "./provider";

/** The package's version, from the package.json above this file (provider/ in a checkout, dist/provider/ installed). */
function packageVersion(): string {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const file = path.join(dir, "package.json");
        if (!fs.existsSync(file)) continue;
        const pkg = z.object({ name: z.string(), version: z.string() }).safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
        if (pkg.success && pkg.data.name === "aios-onboarding") return pkg.data.version;
    }
    throw new Error(`no package.json of aios-onboarding above ${__dirname}`);
}

const args = process.argv.slice(2);
const onboarding = new AiosOnboardingProvider(packageVersion(), new EngineLog(args[0]));
onConfigure((config) => onboarding.configure(config));
// The engine ends its plugins with SIGINT (then SIGKILL 5 s later) once its last step is done: the
// provider deletes the join tokens nothing else will, then exits. A second signal ends it at once.
let ending = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
        if (ending) process.exit(1);
        ending = true;
        onboarding
            .shutdown(3_500)
            .catch((e: unknown) => process.stderr.write(`pulumi-resource-aios-onboarding: at shutdown: ${e instanceof Error ? e.message : String(e)}\n`))
            .finally(() => process.exit(0));
    });
}
provider.main(onboarding, args).catch((e: unknown) => {
    process.stderr.write(`pulumi-resource-aios-onboarding: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});

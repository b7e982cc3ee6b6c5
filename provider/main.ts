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
provider.main(onboarding, args).catch((e: unknown) => {
    process.stderr.write(`pulumi-resource-aios-onboarding: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});

/**
 * Runs the AIOS stand-ins as one process:
 *
 *     node -r ts-node/register/transpile-only world/aios/main.ts --config <file.json>
 *
 * Prints one line `{"ready": true, "ports": {...}}` on stdout once every service listens, logs to
 * stderr, and exits 0 on SIGTERM/SIGINT or `POST /_world/stop`.
 */
import * as fs from "node:fs";
import { startAiosWorld } from "./server";

function configPath(argv: string[]): string {
    const i = argv.indexOf("--config");
    const p = i >= 0 ? argv[i + 1] : undefined;
    if (!p) {
        process.stderr.write("usage: main.ts --config <file.json>\n");
        process.exit(2);
    }
    return p;
}

async function main(): Promise<void> {
    const file = configPath(process.argv.slice(2));
    const config = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    const world = await startAiosWorld(config as Parameters<typeof startAiosWorld>[0]);
    let stopping = false;
    const stop = async (why: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`[aios-world] world: stopping (${why})\n`);
        await world.stop();
        process.exit(0);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
    void world.stopRequested.then(() => stop("POST /_world/stop"));
    process.stdout.write(JSON.stringify({ ready: true, ports: world.ports }) + "\n");
    // The same news as a log line, for log watchers that look for the bare marker {"ready":true}.
    const list = Object.entries(world.ports).map(([k, v]) => `${k}=:${v}`).join(" ");
    process.stderr.write(`[aios-world] world: {"ready":true} ${list}\n`);
}

main().catch((e: unknown) => {
    process.stderr.write(`[aios-world] failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});

import * as path from "node:path";

/**
 * How a `local.Command` runs our step runner: with the Node binary running this program,
 * from the compiled runner when the package is used from dist/, or through ts-node when
 * the program runs from its TypeScript sources.
 */
export function stepInterpreter(): string[] {
    const here = __filename;
    if (here.endsWith(".ts")) {
        return [process.execPath, "-r", require.resolve("ts-node/register/transpile-only"), path.join(__dirname, "runner.ts")];
    }
    return [process.execPath, path.join(__dirname, "runner.js")];
}

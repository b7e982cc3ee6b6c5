import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * How a `local.Command` runs our step runner: with the Node binary running this program and
 * the compiled runner. From the package's dist/ that is `runner.js` beside this file. From the
 * TypeScript sources (this repo's program.ts under ts-node) the step sources are transpiled once
 * into `node_modules/.cache/aios-onboarding/steps`, because starting ts-node in every step
 * process costs about a second of CPU per step, three steps per machine. When that cache cannot
 * be written, the steps run through ts-node.
 */
export function stepInterpreter(): string[] {
    if (!__filename.endsWith(".ts")) return [process.execPath, path.join(__dirname, "runner.js")];
    cached ??= transpiledRunner();
    return cached ?? [process.execPath, "-r", require.resolve("ts-node/register/transpile-only"), path.join(__dirname, "runner.ts")];
}

let cached: string[] | undefined;

const componentsDir = path.join(__dirname, "..");

/** Transpiles components/**\/*.ts into the cache where a file changed; the runner's command line, or undefined. */
function transpiledRunner(): string[] | undefined {
    const root = path.dirname(componentsDir);
    const out = path.join(root, "node_modules", ".cache", "aios-onboarding", "steps");
    try {
        // typescript is there whenever these sources run (ts-node needs it).
        const ts = require("typescript") as typeof import("typescript");
        for (const file of sourceFiles(componentsDir)) {
            const source = fs.readFileSync(file, "utf8");
            const target = path.join(out, path.relative(root, file)).replace(/\.ts$/, ".js");
            const stamp = `// ${createHash("sha256").update(`${ts.version}\n${source}`).digest("hex")}\n`;
            if (readHead(target, stamp.length) === stamp) continue;
            const js = ts.transpileModule(source, {
                fileName: file,
                compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true },
            }).outputText;
            fs.mkdirSync(path.dirname(target), { recursive: true });
            // Programs of several stacks may start at once: never leave a half-written file.
            const tmp = `${target}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, stamp + js);
            fs.renameSync(tmp, target);
        }
        return [process.execPath, path.join(out, "components", "steps", "runner.js")];
    } catch {
        return undefined;
    }
}

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return sourceFiles(p);
        return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
    });
}

function readHead(file: string, bytes: number): string | undefined {
    try {
        const fd = fs.openSync(file, "r");
        try {
            const buf = Buffer.alloc(bytes);
            const n = fs.readSync(fd, buf, 0, bytes, 0);
            return buf.subarray(0, n).toString("utf8");
        } finally {
            fs.closeSync(fd);
        }
    } catch {
        return undefined;
    }
}

// Runs this package from a checkout's TypeScript sources without paying TypeScript's start-up on every
// process start: provider/, components/, program.ts and index.ts are transpiled into
// node_modules/.cache/aios-onboarding/js when a source changed (one stamp over every file's path, size and
// mtime). Both the provider plugin (the engine starts it twice per `pulumi up`; through ts-node that took 3 s
// each) and the stack program (through the language host's ts-node, 1.9 s of transpiling, and source-map
// stack traces that cost 4.7 s of CPU at 51 machines: the SDK takes a stack trace for every promise it
// tracks) start from it. Plain JavaScript because it is what runs before anything can be transpiled.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");

const root = path.resolve(__dirname, "..");
const out = path.join(root, "node_modules", ".cache", "aios-onboarding", "js");

/** True in a checkout (sources and the TypeScript compiler present), false in an installed package. */
function inCheckout() {
    return fs.existsSync(path.join(root, "provider", "main.ts")) && fs.existsSync(path.join(root, "node_modules", "typescript"));
}

function sources(dir) {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return sources(p);
        return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
    });
}

/** The transpiled file of `entry` (a path below the root without extension, e.g. "provider/main"), brought up to date. */
function transpiled(entry) {
    const files = [...["provider", "components"].flatMap((d) => sources(path.join(root, d))), path.join(root, "program.ts"), path.join(root, "index.ts")].sort();
    const stamp = crypto
        .createHash("sha256")
        .update(files.map((f) => { const s = fs.statSync(f); return `${path.relative(root, f)} ${s.size} ${s.mtimeMs}`; }).join("\n"))
        .digest("hex");
    const stampFile = path.join(out, "stamp");
    if (!fs.existsSync(stampFile) || fs.readFileSync(stampFile, "utf8") !== stamp) {
        const ts = require(require.resolve("typescript", { paths: [root] }));
        for (const file of files) {
            const js = ts.transpileModule(fs.readFileSync(file, "utf8"), {
                fileName: file,
                compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
            }).outputText;
            const target = path.join(out, path.relative(root, file)).replace(/\.ts$/, ".js");
            fs.mkdirSync(path.dirname(target), { recursive: true });
            // The program and two plugin processes may start at once: never leave a half-written file.
            fs.writeFileSync(`${target}.${process.pid}`, js);
            fs.renameSync(`${target}.${process.pid}`, target);
        }
        fs.writeFileSync(`${stampFile}.${process.pid}`, stamp);
        fs.renameSync(`${stampFile}.${process.pid}`, stampFile);
    }
    return path.join(out, `${entry}.js`);
}

/** The file to run for `entry`: transpiled from the sources in a checkout, else the package's compiled dist/. */
function entryFile(entry) {
    return inCheckout() ? transpiled(entry) : path.join(root, "dist", `${entry}.js`);
}

module.exports = { entryFile };

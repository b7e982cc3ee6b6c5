// Runs the provider plugin from a checkout's TypeScript sources without paying TypeScript's start-up on
// every plugin start (the engine starts the plugin twice per `pulumi up`; through ts-node that took 3 s
// each). provider/ and components/ are transpiled into node_modules/.cache/aios-onboarding/plugin when
// a source changed (one stamp over every file's path, size and mtime), then the transpiled main runs.
// Plain JavaScript because it is what runs before anything can be transpiled.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");

const root = path.resolve(__dirname, "..");
const out = path.join(root, "node_modules", ".cache", "aios-onboarding", "plugin");

function sources(dir) {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return sources(p);
        return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
    });
}

const files = ["provider", "components"].flatMap((d) => sources(path.join(root, d))).sort();
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
        // Two plugin processes may start at once: never leave a half-written file.
        fs.writeFileSync(`${target}.${process.pid}`, js);
        fs.renameSync(`${target}.${process.pid}`, target);
    }
    fs.writeFileSync(`${stampFile}.${process.pid}`, stamp);
    fs.renameSync(`${stampFile}.${process.pid}`, stampFile);
}
require(path.join(out, "provider", "main.js"));

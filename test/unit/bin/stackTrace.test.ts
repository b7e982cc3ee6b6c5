import { strict as assert } from "node:assert";
import * as path from "node:path";
import { z } from "zod";

const stackTrace = z
    .object({ prepareStackTrace: z.custom<(error: Error, frames: NodeJS.CallSite[]) => string>((v) => typeof v === "function"), DECLARATION_FRAMES: z.number(), PROMISE_FRAMES: z.number() })
    .parse(require(path.resolve(__dirname, "..", "..", "..", "bin", "stack-trace.js")));

/** A call site as V8 hands it to Error.prepareStackTrace, only what the formatter reads. */
function site(functionName: string | null, fileName: string, line: number): NodeJS.CallSite {
    return { getFunctionName: () => functionName, getFileName: () => fileName, toString: () => `${functionName ?? "<anonymous>"} (${fileName}:${line}:1)` } as unknown as NodeJS.CallSite;
}

const SDK = "/p/node_modules/@pulumi/pulumi";
const deep = (first: NodeJS.CallSite) => [first, ...Array.from({ length: 9 }, (_, i) => site(`f${i}`, "/p/components/x.js", i + 1))];

describe("the program's stack traces", () => {
    it("writes an ordinary error's whole stack as V8 does", () => {
        const frames = deep(site("main", "/p/program.js", 3));
        const text = stackTrace.prepareStackTrace(new Error("boom"), frames);
        assert.equal(text.split("\n").length, 1 + frames.length);
        assert.ok(text.startsWith("Error: boom\n    at main (/p/program.js:3:1)\n    at f0 (/p/components/x.js:1:1)"));
    });

    it("keeps only the declaring frames of the stack the SDK stores with every resource", () => {
        const text = stackTrace.prepareStackTrace(new Error(), deep(site("callsites", `${SDK}/resource.js`, 300)));
        assert.equal(text.split("\n").length, 1 + stackTrace.DECLARATION_FRAMES);
    });

    it("keeps the first frames of the stack the SDK keeps with every promise it tracks", () => {
        const text = stackTrace.prepareStackTrace(new Error(), deep(site("debuggablePromise", `${SDK}/runtime/debuggable.js`, 253)));
        assert.deepEqual(text.split("\n"), ["Error", `    at debuggablePromise (${SDK}/runtime/debuggable.js:253:1)`, "    at f0 (/p/components/x.js:1:1)", "    at f1 (/p/components/x.js:2:1)"]);
        assert.equal(stackTrace.PROMISE_FRAMES, 3);
    });

    it("leaves a function of the same name elsewhere alone", () => {
        const text = stackTrace.prepareStackTrace(new Error(), deep(site("debuggablePromise", "/p/components/mine.js", 1)));
        assert.equal(text.split("\n").length, 11);
    });
});

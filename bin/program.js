// The stack program as the Pulumi.yaml of this repository names it: program.ts, run from the transpile cache
// in a checkout (see transpile-cache.js), else the package's compiled dist/program.js. Its exports are the
// stack's outputs.
"use strict";
// The SDK's runner installs source-map-support's Error.prepareStackTrace, and the SDK formats a stack trace
// for every promise it tracks and every resource it registers. That hook maps each frame through source
// maps this JavaScript does not have: measured, 1.8 s of the program's 6.5 s of CPU in a preview of 50
// onboarded machines. This formatter writes frames as V8 does, with one exception.
//
// The SDK stores with every resource the whole call stack it was declared from (`stackTrace` in the
// state: about 0.5 KB per resource, 2.4 KB per machine, rewritten with every checkpoint of the stack).
// It reads that stack from a `new Error().stack` in its Resource.callsites, and skips that frame and the
// next four (its own and the resource class's constructors). For that one stack only the frames up to the
// resource's declaration are written: the state keeps its source position, and no call stack.
const SDK_RESOURCE = /[\\/]@pulumi[\\/]pulumi[\\/]resource\.js$/;
const DECLARATION_FRAMES = 6;
Error.prepareStackTrace = (error, frames) => {
    const first = frames[0];
    const callsites = first !== undefined && first.getFunctionName() === "callsites" && SDK_RESOURCE.test(first.getFileName() ?? "");
    return [String(error), ...(callsites ? frames.slice(0, DECLARATION_FRAMES) : frames).map((f) => `    at ${f}`)].join("\n");
};
module.exports = require(require("./transpile-cache").entryFile("program"));

// How the program writes stack traces (bin/program.js installs it as Error.prepareStackTrace).
"use strict";
// The SDK's runner installs source-map-support's Error.prepareStackTrace, and the SDK formats a stack trace
// for every promise it tracks and every resource it registers. That hook maps each frame through source
// maps this JavaScript does not have: measured, 1.8 s of the program's 6.5 s of CPU in a preview of 50
// onboarded machines. This formatter writes frames as V8 does, except in two stacks of the SDK's own.
//
// The SDK stores with every resource the whole call stack it was declared from (`stackTrace` in the
// state: about 0.5 KB per resource, 2.4 KB per machine, rewritten with every checkpoint of the stack).
// It reads that stack from a `new Error().stack` in its Resource.callsites, and skips that frame and the
// next four (its own and the resource class's constructors). For that one stack only the frames up to the
// resource's declaration are written: the state keeps its source position, and no call stack.
//
// The SDK also keeps a stack with every promise it tracks (`debuggablePromise`), read only to report a
// promise left pending when the program ends; formatting them all was 0.66 s of the program's CPU in a
// preview of 100 onboarded machines. Those keep their first three frames, where in the SDK the promise
// was made.
const SDK_RESOURCE = /[\\/]@pulumi[\\/]pulumi[\\/]resource\.js$/;
const SDK_DEBUGGABLE = /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/;
const DECLARATION_FRAMES = 6;
const PROMISE_FRAMES = 3;
function prepareStackTrace(error, frames) {
    const first = frames[0];
    const name = first === undefined ? null : first.getFunctionName();
    const kept =
        name === "callsites" && SDK_RESOURCE.test(first.getFileName() ?? "")
            ? frames.slice(0, DECLARATION_FRAMES)
            : name === "debuggablePromise" && SDK_DEBUGGABLE.test(first.getFileName() ?? "")
              ? frames.slice(0, PROMISE_FRAMES)
              : frames;
    return [String(error), ...kept.map((f) => `    at ${f}`)].join("\n");
}
module.exports = { prepareStackTrace, DECLARATION_FRAMES, PROMISE_FRAMES };

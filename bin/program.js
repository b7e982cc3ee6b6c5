// The stack program as the Pulumi.yaml of this repository names it: program.ts, run from the transpile cache
// in a checkout (see transpile-cache.js), else the package's compiled dist/program.js. Its exports are the
// stack's outputs.
"use strict";
// The SDK's runner installs source-map-support's Error.prepareStackTrace, and the SDK formats a stack trace
// for every promise it tracks and every resource it registers. That hook maps each frame through source
// maps this JavaScript does not have: measured, 1.8 s of the program's 6.5 s of CPU in a preview of 50
// onboarded machines. V8's own formatting gives the same frames.
Error.prepareStackTrace = undefined;
module.exports = require(require("./transpile-cache").entryFile("program"));

// The stack program as the Pulumi.yaml of this repository names it: program.ts, run from the transpile cache
// in a checkout (see transpile-cache.js), else the package's compiled dist/program.js. Its exports are the
// stack's outputs.
"use strict";
// The SDK formats a stack trace for every promise it tracks and every resource it registers: see
// stack-trace.js for what is written, and why.
Error.prepareStackTrace = require("./stack-trace").prepareStackTrace;
module.exports = require(require("./transpile-cache").entryFile("program"));

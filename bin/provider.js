// The provider plugin's program (bin/pulumi-resource-aios-onboarding runs it): provider/main, transpiled
// from the sources in a checkout, else the package's compiled dist/ (see transpile-cache.js).
"use strict";
require(require("./transpile-cache").entryFile("provider/main"));

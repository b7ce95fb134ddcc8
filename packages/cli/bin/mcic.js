#!/usr/bin/env node
// The bin npm links at install time, before any build: it exists in the source tree so the
// workspace link (`npx mcic`) is there from `npm ci` on; the CLI itself is the built dist/main.js.
import "../dist/main.js";

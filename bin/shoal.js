#!/usr/bin/env node
// The `shoal` command. The TypeScript sources are compiled to dist/ by `npm ci` (prepare).
import { main } from "../dist/bin/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`shoal: ${err?.message ?? err}`);
    process.exitCode = 1;
  },
);

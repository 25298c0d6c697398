// Part of `npm run build`: puts the dashboard's static files beside its compiled script, in
// dist/dashboard/ (tsc compiles the .ts files there; it does not copy anything else).
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const from = fileURLToPath(new URL(".", import.meta.url));
const to = fileURLToPath(new URL("../../../dist/dashboard/", import.meta.url));
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) if (/\.(html|css|svg)$/.test(name)) copyFileSync(from + name, to + name);

// prepack: copies the worker's release build (build/ at the repository root, made by
// scripts/build-worker.sh) into dist/, so the package ships the wasm and its glue.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const build = join(here, "..", "..", "build");
const files = ["index.js", "glue.js", "index_bg.wasm"];
if (!files.every((file) => existsSync(join(build, file)))) {
  console.error(`edge-session: no release build in ${build}; run \`bash scripts/build-worker.sh\` at the repository root first`);
  process.exit(1);
}
// Only a build of the sources beside it: a package of an older worker would ship fixes
// it does not contain.
const check = spawnSync("bash", [join(here, "..", "..", "scripts", "build-worker.sh"), "--check"], { stdio: "inherit" });
if (check.status !== 0) {
  console.error("edge-session: build/ is stale; run `bash scripts/build-worker.sh` at the repository root first");
  process.exit(1);
}
mkdirSync(join(here, "dist"), { recursive: true });
for (const file of files) copyFileSync(join(build, file), join(here, "dist", file));
console.error(`edge-session: packed the build from ${build}`);

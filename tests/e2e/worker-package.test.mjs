// The worker as an npm package (packages/worker), used as a newcomer would, with no Rust:
// `npm pack`, installed in an empty folder whose PATH has no cargo or rustc, set up by
// `npx edge-session init`, served by that folder's own `wrangler dev`, and bundled by
// `wrangler deploy --dry-run`. Twice: in front of an Express app (the Node package's
// quick start, as its README has it), and wrapping a Hono Worker in-process (this
// package's README quick start, as written).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Client, freePort, root, sleep, startApp } from "../../tools/harness.mjs";

// Short windows, so a rotation happens within the test: the access cookie lapses after
// 1 s and the family's object rotates a credential older than 2 s.
const WINDOWS = ["--var", "ACCESS_TTL_SECS:1", "--var", "ROTATE_AFTER_SECS:2", "--var", "GRACE_SECS:1"];

/** PATH without any directory that holds a Rust toolchain. */
const PATH = process.env.PATH.split(delimiter).filter((dir) => !["cargo", "rustc"].some((tool) => {
  try { accessSync(join(dir, tool), constants.X_OK); return true; } catch { return false; }
})).join(delimiter);
const ENV = { ...process.env, PATH, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

let work;
const tarballs = {};
const running = [];

/** The fenced block after `marker` in a README (the code a reader copies). */
function readmeBlock(file, marker) {
  const text = readFileSync(join(root, file), "utf8");
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `${file}: no "${marker}"`);
  const block = /```(?:js|javascript)\n([\s\S]*?)```/.exec(text.slice(at));
  assert.ok(block, `${file}: no code block after "${marker}"`);
  return block[1];
}

/** `npm install` in `dir` as a user would, offline when the cache has it. */
function npmInstall(dir, ...specs) {
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...specs], { cwd: dir, env: ENV, stdio: "pipe" });
}

/** A new project folder with the packed packages installed, and `init` run with `args`. */
function project(name, extra, args) {
  const dir = join(work, name);
  mkdirSync(dir);
  npmInstall(dir, tarballs.worker, tarballs.origin, "wrangler@4.86.0", ...extra);
  const out = spawnSync("npx", ["edge-session", "init", ...args], { cwd: dir, env: ENV, encoding: "utf8" });
  assert.equal(out.status, 0, out.stderr);
  return { dir, printed: out.stdout, vars: devVars(dir) };
}

function devVars(dir) {
  const text = readFileSync(join(dir, ".dev.vars"), "utf8");
  return Object.fromEntries([...text.matchAll(/^([A-Z_]+)="(.*)"$/gm)].map((m) => [m[1], m[2]]));
}

/** The folder's own wrangler (from its node_modules), serving its wrangler.toml. */
async function wranglerDev(dir, ...script) {
  const port = await freePort();
  const app = await startApp("npx", ["wrangler", "dev", ...script, "--ip", "127.0.0.1", "--port", String(port),
    "--inspector-port", String(await freePort()), ...WINDOWS], { cwd: dir, env: ENV, ready: /Ready on/, port, ms: 90_000 });
  running.push(app);
  return `http://127.0.0.1:${port}`;
}

function deployDryRun(dir) {
  const out = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", join(dir, "out")], { cwd: dir, env: ENV, encoding: "utf8" });
  assert.equal(out.status, 0, out.stdout + out.stderr);
  assert.match(out.stdout, /env\.SESSION_FAMILY \(SessionFamily\)\s+Durable Object/);
  assert.match(out.stdout, /env\.USER_SESSIONS \(UserSessions\)\s+Durable Object/);
  assert.match(out.stdout, /Total Upload/i);
}

/** login → identified (`fresh`) → rotated → logout → anonymous, through `edge`. */
async function story(edge, login) {
  const client = new Client(edge);
  assert.equal((await client.fetch("/api/me")).status, 401, "anonymous at first");
  const signedIn = await client.fetch("/login", login);
  assert.equal(signedIn.status, 303);
  assert.ok(client.refresh && client.access, "the login directive set both edge cookies");
  let me = await client.fetch("/api/me");
  assert.equal(me.status, 200, me.text);
  assert.deepEqual([me.json().sub, me.json().state], ["ada", "fresh"]);
  const first = client.refresh;
  await sleep(2_500); // past ROTATE_AFTER_SECS and the access cookie's life
  me = await client.fetch("/api/me");
  assert.deepEqual([me.json().sub, me.json().state], ["ada", "rotated"]);
  assert.notEqual(client.refresh, first, "a new refresh credential");
  const out = await client.fetch("/logout", { method: "POST" });
  assert.equal(out.status, 303);
  assert.ok(!client.refresh && !client.access, "logout deleted both cookies");
  assert.equal((await client.fetch("/api/me")).status, 401);
  // The copied jar from before the logout is refused too: the family has ended.
  const copied = new Client(edge);
  copied.cookies.set("__Host-es-refresh", first);
  assert.equal((await copied.fetch("/api/me")).status, 401);
}

before(() => {
  for (const tool of ["cargo", "rustc"]) {
    assert.notEqual(spawnSync("sh", ["-c", `command -v ${tool}`], { env: ENV }).status, 0, `${tool} is on the test's PATH`);
  }
  work = mkdtempSync(join(tmpdir(), "edge-worker-package-"));
  // The worker package ships build/ (npm test built it); prepack copies it into dist/.
  for (const [key, dir] of [["worker", "packages/worker"], ["origin", "packages/node"]]) {
    const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", work], { cwd: join(root, dir), env: ENV, encoding: "utf8" }).trim().split("\n").pop();
    tarballs[key] = join(work, name);
  }
});

after(async () => {
  await Promise.all(running.map((app) => app.stop()));
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the packed worker ships the build, the bin, the types, and nothing else", () => {
  const listing = execFileSync("tar", ["-tzf", tarballs.worker], { encoding: "utf8" }).trim().split("\n").sort();
  assert.deepEqual(listing, [
    "package/CHANGELOG.md", "package/LICENSE", "package/README.md", "package/bin/edge-session.mjs",
    "package/dist/glue.js", "package/dist/index.js", "package/dist/index_bg.wasm", "package/index.d.ts", "package/index.js",
    "package/lib/init.mjs", "package/lib/secrets.mjs", "package/lib/template.mjs", "package/package.json",
  ]);
});

test("in front of an Express app: init, wrangler dev, the whole story, deploy --dry-run", async () => {
  const originPort = await freePort();
  const { dir, printed, vars } = project("proxy", ["express@4"], ["--origin", `http://127.0.0.1:${originPort}`]);
  assert.equal(statSync(join(dir, ".dev.vars")).mode & 0o777, 0o600);
  assert.equal(vars.ORIGIN_URL, `http://127.0.0.1:${originPort}`);
  assert.ok(printed.includes(`ORIGIN_SECRET=${vars.ORIGIN_SECRET}`), "init prints the origin's secret");

  // The Node package's quick start, as its README has it (only its port changed).
  const quickStart = readmeBlock("packages/node/README.md", "## Quick start (Express)");
  assert.match(quickStart, /app\.listen\(3000\)/);
  writeFileSync(join(dir, "app.mjs"), quickStart.replace("app.listen(3000)", `app.listen(${originPort}, () => console.log("listening"))`));
  const express = await startApp(process.execPath, ["app.mjs"], {
    cwd: dir, env: { ...ENV, ORIGIN_SECRET: vars.ORIGIN_SECRET }, ready: "listening", port: originPort,
  });
  running.push(express);
  const edge = await wranglerDev(dir);
  await story(edge, { method: "POST", body: new URLSearchParams({ username: "ada" }) });
  deployDryRun(dir);
});

/** One `init --wrap` project, shared by the wrapped tests (one npm install). */
let wrapped;
const wrappedProject = () => (wrapped ??= project("wrapped", ["hono@4"], ["--wrap"]));

test("wrapping a Hono Worker in-process: the README's quick start as written", async () => {
  const { dir } = wrappedProject();
  assert.match(readFileSync(join(dir, "wrangler.toml"), "utf8"), /^compatibility_flags = \["nodejs_compat"\]$/m);
  writeFileSync(join(dir, "src/index.js"), readmeBlock("packages/worker/README.md", "<!-- tested: packages/worker wrap quick start -->"));
  const edge = await wranglerDev(dir);
  // A client cannot claim an identity: the edge strips X-Edge-* before the handler runs.
  const forged = await fetch(`${edge}/`, { headers: { "X-Edge-User": "mallory", "X-Edge-Assertion": "forged" } });
  assert.equal(await forged.text(), "hello, anonymous");
  await story(edge, { method: "POST", body: new URLSearchParams({ username: "ada" }) });
  deployDryRun(dir);
});

// A plain fetch handler, as a Worker written without a framework has it. It declares a
// class named Fetcher too: bundled without keep_names, esbuild renames one of the two,
// and the package's must still be the edge's origin.
const PLAIN_WORKER = `
import { Fetcher as Mine } from "./other.js"; // bundled first: it keeps the name
import { withEdgeSession, SessionFamily, UserSessions } from "edge-session";
export { SessionFamily, UserSessions };
globalThis.mine = Mine;
const edgeOnly = (env) => Object.keys(env).filter((k) => /^(SESSION_KEYS|SESSION_FAMILY|USER_SESSIONS|ORIGIN_SECRET)$/.test(k)).sort();
const app = {
  fetch(request, env, ctx) { // synchronous on purpose
    const { pathname } = new URL(request.url);
    if (pathname === "/boom") throw new Error("the app failed");
    return Response.json({
      exports: Object.keys(ctx.exports ?? {}).sort(),
      // Around any wrapper: the property itself, as workerd defines it.
      viaDescriptor: Object.keys(Object.getOwnPropertyDescriptor(ctx, "exports")?.value ?? {}).sort(),
      cron: globalThis.cron ?? null,
      country: request.cf?.country ?? null,
      user: request.headers.get("x-edge-user"),
      cookie: request.headers.get("cookie"),
      scheduled: typeof wrapped.scheduled,
      env: edgeOnly(env),
    });
  },
  async scheduled(controller, env, ctx) {
    globalThis.cron = { env: edgeOnly(env), exports: Object.keys(ctx.exports ?? {}).sort() };
  },
};
const wrapped = withEdgeSession(app);
export default wrapped;
`;

test("wrapping a plain fetch handler: a synchronous answer, request.cf, other handlers kept, an app error", async () => {
  const { dir } = wrappedProject();
  writeFileSync(join(dir, "src/plain.js"), PLAIN_WORKER);
  writeFileSync(join(dir, "src/other.js"), "export class Fetcher { fetch() {} }\n");
  const toml = readFileSync(join(dir, "wrangler.toml"), "utf8").replace('main = "src/index.js"', 'main = "src/plain.js"\nkeep_names = false');
  writeFileSync(join(dir, "wrangler.plain.toml"), toml);
  const edge = await wranglerDev(dir, "--config", "wrangler.plain.toml", "--test-scheduled");
  const res = await fetch(`${edge}/`, { headers: { cookie: "theme=dark; __Host-es-refresh=forged", "X-Edge-User": "mallory" } });
  assert.equal(res.status, 200);
  const seen = await res.json();
  assert.equal(typeof seen.country, "string", "the visitor's request.cf reaches the app");
  assert.equal(seen.user, null, "a client's X-Edge-User never reaches the app");
  assert.equal(seen.cookie, "theme=dark", "edge cookies never reach the app");
  assert.equal(seen.scheduled, "function");
  assert.deepEqual(seen.env, ["ORIGIN_SECRET"], "the app's env holds no session keys and no edge objects");
  assert.ok(seen.exports.includes("default"), `the app still sees the Worker's own exports: ${seen.exports}`);
  assert.ok(!seen.exports.includes("SessionFamily") && !seen.exports.includes("UserSessions"), `ctx.exports: ${seen.exports}`);
  assert.ok(!seen.viaDescriptor.includes("SessionFamily"), `ctx's own exports property: ${seen.viaDescriptor}`);
  // Its cron handler (wrangler's /__scheduled) gets the app's env and ctx as well.
  assert.equal((await fetch(`${edge}/__scheduled`)).status, 200);
  const cron = (await (await fetch(`${edge}/`)).json()).cron;
  assert.deepEqual(cron, { env: ["ORIGIN_SECRET"], exports: seen.exports }, "scheduled: no keys, no edge objects");
  // An exception in the app is the origin failing: a 502, logged, never a hang.
  const boom = await fetch(`${edge}/boom`);
  assert.equal(boom.status, 502);
});

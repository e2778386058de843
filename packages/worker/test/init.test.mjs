// `npx edge-session init` and `secret`, run as a user runs them (the bin, in a folder).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_VARS, COMPATIBILITY_DATE } from "../lib/template.mjs";

const BIN = fileURLToPath(new URL("../bin/edge-session.mjs", import.meta.url));
const ROOT_TOML = fileURLToPath(new URL("../../../wrangler.toml", import.meta.url));
const folder = () => mkdtempSync(join(tmpdir(), "edge-init-"));
const run = (cwd, ...args) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8" });
const devVars = (dir) => Object.fromEntries(readFileSync(join(dir, ".dev.vars"), "utf8").split("\n")
  .map((line) => /^([A-Z_]+)="(.*)"$/.exec(line)).filter(Boolean).map((m) => [m[1], m[2]]));

test("init with a local origin: the URL and fresh keys in .dev.vars (0600), the rest in wrangler.toml", () => {
  const dir = folder();
  const out = run(dir, "init", "--origin", "http://localhost:3000");
  assert.equal(out.status, 0, out.stderr);
  const vars = devVars(dir);
  assert.match(vars.SESSION_KEYS, /^k1:[A-Za-z0-9_-]{43}$/);
  assert.match(vars.ORIGIN_SECRET, /^o1:[A-Za-z0-9_-]{43}$/);
  assert.notEqual(vars.SESSION_KEYS.slice(3), vars.ORIGIN_SECRET.slice(3));
  assert.equal(vars.ORIGIN_URL, "http://localhost:3000");
  assert.equal(statSync(join(dir, ".dev.vars")).mode & 0o777, 0o600);
  // The origin is told exactly the secret it must hold.
  assert.ok(out.stdout.includes(`ORIGIN_SECRET=${vars.ORIGIN_SECRET}`));
  assert.ok(!out.stdout.includes(vars.SESSION_KEYS), "the session keys are never printed");
  const toml = readFileSync(join(dir, "wrangler.toml"), "utf8");
  assert.match(toml, /^main = "src\/index.js"$/m);
  assert.match(toml, /^# ORIGIN_URL = /m, "a local URL is not deployed");
  assert.match(readFileSync(join(dir, "src/index.js"), "utf8"), /export \{ default, SessionFamily, UserSessions \} from "edge-session"/);
  assert.deepEqual(readFileSync(join(dir, ".gitignore"), "utf8").split("\n").filter(Boolean), [".dev.vars", ".prod.vars", ".wrangler/", "node_modules/"]);
});

test("the route to uncomment sits among the top-level keys, above the first [table]", () => {
  // TOML: a key after a [table] header belongs to that table, so a routes line in the
  // wrong place is silently no route at all.
  const dir = folder();
  assert.equal(run(dir, "init", "--origin", "http://localhost:3000").status, 0);
  const lines = readFileSync(join(dir, "wrangler.toml"), "utf8").split("\n");
  const route = lines.findIndex((line) => /^# routes = \[/.test(line));
  const firstTable = lines.findIndex((line) => /^\[/.test(line));
  assert.ok(route > 0 && route < firstTable, `routes at line ${route}, first table at ${firstTable}`);
});

test("a public origin goes to wrangler.toml; a service binding; a wrapped Worker", () => {
  let dir = folder();
  assert.equal(run(dir, "init", "--origin", "https://app.example.com").status, 0);
  assert.match(readFileSync(join(dir, "wrangler.toml"), "utf8"), /^ORIGIN_URL = "https:\/\/app.example.com"$/m);
  assert.equal(devVars(dir).ORIGIN_URL, undefined);

  dir = folder();
  assert.equal(run(dir, "init", "--service", "my-app").status, 0);
  assert.match(readFileSync(join(dir, "wrangler.toml"), "utf8"), /\[\[services\]\]\nbinding = "ORIGIN"\nservice = "my-app"/);

  dir = folder();
  assert.equal(run(dir, "init", "--wrap").status, 0);
  assert.match(readFileSync(join(dir, "src/index.js"), "utf8"), /export default withEdgeSession\(app\)/);
});

test("init never overwrites the user's files or keys, and says what to add", () => {
  const dir = folder();
  writeFileSync(join(dir, "wrangler.toml"), 'name = "mine"\n');
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src/index.js"), "export default {};\n");
  writeFileSync(join(dir, ".dev.vars"), 'SESSION_KEYS="k9:keep-this-secret-keep-this-secret-1234"\nOTHER=1\n');
  writeFileSync(join(dir, ".gitignore"), "dist");
  const out = run(dir, "init");
  assert.equal(out.status, 0, out.stderr);
  assert.equal(readFileSync(join(dir, "wrangler.toml"), "utf8"), 'name = "mine"\n');
  assert.equal(readFileSync(join(dir, "src/index.js"), "utf8"), "export default {};\n");
  assert.match(out.stdout, /wrangler.toml exists: left as it is/);
  assert.match(out.stdout, /class_name = "SessionFamily"/);
  const vars = devVars(dir);
  assert.equal(vars.SESSION_KEYS, "k9:keep-this-secret-keep-this-secret-1234");
  assert.match(vars.ORIGIN_SECRET, /^o1:/);
  assert.equal(vars.ORIGIN_URL, "http://localhost:3000");
  assert.match(readFileSync(join(dir, ".dev.vars"), "utf8"), /^OTHER=1$/m);
  assert.equal(readFileSync(join(dir, ".gitignore"), "utf8"), "dist\n.dev.vars\n.prod.vars\n.wrangler/\nnode_modules/\n");

  // --force replaces the files init owns, and still keeps the keys.
  assert.equal(run(dir, "init", "--force", "--name", "My App!").status, 0);
  assert.match(readFileSync(join(dir, "wrangler.toml"), "utf8"), /^name = "my-app"$/m);
  assert.equal(devVars(dir).SESSION_KEYS, "k9:keep-this-secret-keep-this-secret-1234");
});

test("bad flags get one clear line and exit 2, never a stack trace", () => {
  const dir = folder();
  for (const [args, message] of [
    [["init", "--origin", "http://localhost:3000/app"], /no path, query or credentials/],
    [["init", "--origin", "not a url"], /is not a URL/],
    [["init", "--origin", "ftp://x"], /http\(s\):\/\/host/],
    [["init", "--origin", "http://a:b@localhost"], /credentials/],
    [["init", "--wrap", "--service", "x"], /choose one of/],
    [["init", "--service", "Bad_Name"], /a Worker's name/],
    [["init", "--bogus"], /Unknown option/],
    [["frobnicate"], /unknown command/],
    [["secret", "bad kid!"], /key id/],
    [["init", "--origin", 'https://app"x.example'], /host\[:port\]/],
    [["init", "--origin", "http://app.example.com"], /must be https:\/\/ for a host that is not local/],
    [["secrets"], /one FILE/],
  ]) {
    const out = run(dir, ...args);
    assert.equal(out.status, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message, args.join(" "));
    assert.doesNotMatch(out.stderr, /\n\s+at /, "no stack trace");
  }
});

test("secret prints a fresh key ring entry the worker accepts", () => {
  const a = execFileSync(process.execPath, [BIN, "secret", "k2"], { encoding: "utf8" }).trim();
  const b = execFileSync(process.execPath, [BIN, "secret", "k2"], { encoding: "utf8" }).trim();
  assert.match(a, /^k2:[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
});

test("the template's defaults are the repository's wrangler.toml", () => {
  const root = readFileSync(ROOT_TOML, "utf8");
  const vars = root.slice(root.indexOf("[vars]"), root.indexOf("[[durable_objects"));
  const defaults = [...vars.matchAll(/^([A-Z_]+) = "([^"]*)"$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(DEFAULT_VARS, defaults);
  assert.match(root, new RegExp(`^compatibility_date = "${COMPATIBILITY_DATE}"$`, "m"));
  for (const fragment of ['class_name = "SessionFamily"', 'class_name = "UserSessions"', 'tag = "v1"\nnew_sqlite_classes = ["SessionFamily"]', 'tag = "v2"\nnew_sqlite_classes = ["UserSessions"]']) {
    assert.ok(root.includes(fragment), fragment);
  }
});

test("init never writes through a symbolic link, dangling or not, even with --force", () => {
  const elsewhere = join(folder(), "elsewhere.txt");
  for (const [name, args] of [[".dev.vars", ["init"]], ["wrangler.toml", ["init"]], ["wrangler.toml", ["init", "--force"]]]) {
    const dir = folder();
    const link = join(dir, name);
    symlinkSync(elsewhere, link); // dangling: the target does not exist
    const out = run(dir, ...args);
    assert.equal(out.status, 2, `${name} ${args}: ${out.stderr}`);
    assert.match(out.stderr, /symbolic link: refusing to write through it/);
    assert.ok(!existsSync(elsewhere), `nothing was written to the link's target (${name})`);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.ok(!existsSync(join(dir, "src")), "a refusal writes nothing at all");
  }
});

test("a .dev.vars others could read is replaced by a 0600 one, and init says so", () => {
  const dir = folder();
  writeFileSync(join(dir, ".dev.vars"), "OTHER=1\n");
  chmodSync(join(dir, ".dev.vars"), 0o644);
  const out = run(dir, "init");
  assert.equal(out.status, 0, out.stderr);
  assert.equal(statSync(join(dir, ".dev.vars")).mode & 0o777, 0o600);
  assert.match(out.stdout, /was readable by other users \(mode 0644\)/);
  assert.match(readFileSync(join(dir, ".dev.vars"), "utf8"), /^OTHER=1$/m);
});

test("a linked src folder is refused, and a readable .dev.vars with keys already in it is made 0600", () => {
  let dir = folder();
  const victim = folder();
  symlinkSync(victim, join(dir, "src"));
  const out = run(dir, "init");
  assert.equal(out.status, 2, out.stderr);
  assert.ok(!existsSync(join(victim, "index.js")), "nothing written into the link's target");

  dir = folder();
  assert.equal(run(dir, "init").status, 0);
  chmodSync(join(dir, ".dev.vars"), 0o644);
  const again = run(dir, "init", "--force");
  assert.equal(again.status, 0, again.stderr);
  assert.equal(statSync(join(dir, ".dev.vars")).mode & 0o777, 0o600);
  assert.match(again.stdout, /readable by other users \(mode 0644\)/);
});

test("secrets writes production keys to a new 0600 file and never reuses one", () => {
  const dir = folder();
  const out = run(dir, "secrets", ".prod.vars");
  assert.equal(out.status, 0, out.stderr);
  const file = join(dir, ".prod.vars");
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const vars = Object.fromEntries([...readFileSync(file, "utf8").matchAll(/^([A-Z_]+)="(.*)"$/gm)].map((m) => [m[1], m[2]]));
  assert.match(vars.SESSION_KEYS, /^k1:[A-Za-z0-9_-]{43}$/);
  assert.ok(out.stdout.includes(`ORIGIN_SECRET=${vars.ORIGIN_SECRET}`), "the app's secret is printed");
  assert.ok(!out.stdout.includes(vars.SESSION_KEYS), "the session keys are not");
  const again = run(dir, "secrets", ".prod.vars");
  assert.equal(again.status, 2);
  assert.match(again.stderr, /exists: delete it first/);
  assert.equal(readFileSync(file, "utf8").includes(vars.SESSION_KEYS), true, "the file is untouched");
});

// The origin packages' quick starts, run as their READMEs have them: a fresh folder (a
// fresh venv for Python), the README's install line, its code block saved under the name
// it gives, its run command; behind the real worker, a newcomer's first session:
// anonymous → 401, log in, identified, rotated, log out. Rust runs its example, which is
// the README block (packages/rust/tests/readme.rs). The Node quick start runs in
// worker-package.test.mjs (behind the packed worker); Elixir's needs Hex, which this
// network cannot reach (its functions run in packages.test.mjs through examples/elixir).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, ORIGIN_SECRET, freePort, root, sleep, startApp, startEdge } from "../../tools/harness.mjs";

const WINDOWS = { ROTATE_AFTER_SECS: "2", GRACE_SECS: "1", ACCESS_TTL_SECS: "1", RECOVERY_SECS: "30" };
let work;
const running = [];

before(() => { work = mkdtempSync(join(tmpdir(), "edge-quickstarts-")); });
after(async () => {
  await Promise.all(running.map((app) => app.stop()));
  rmSync(work, { recursive: true, force: true });
});

/** The README, and the fenced block (of `lang`) that follows `marker` in it. */
function readme(file) {
  const text = readFileSync(join(root, file), "utf8");
  return {
    text,
    block(marker, lang) {
      const at = text.indexOf(marker);
      assert.ok(at >= 0, `${file}: no "${marker}"`);
      const found = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(text.slice(at));
      assert.ok(found, `${file}: no ${lang} block after "${marker}"`);
      return found[1];
    },
    /** Asserts the README says `line` (so the test runs what a reader runs). */
    says(line) { assert.ok(text.includes(line), `${file} no longer says: ${line}`); },
  };
}

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: "pipe", env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" } });

/** A fresh venv in `dir` with `specs` installed by its own pip. */
function venv(dir, specs) {
  run("python3", ["-m", "venv", join(dir, "venv")], dir);
  run(join(dir, "venv/bin/pip"), ["install", "--quiet", ...specs], dir);
  return join(dir, "venv/bin");
}

/** Starts the app (`command args` in `dir`) with ORIGIN_SECRET and EDGE_URL, and an edge
 * in front of it. */
async function behindEdge(dir, port, command, args, ready, env = {}) {
  const edgePort = await freePort();
  const app = await startApp(command, args, {
    cwd: dir, env: { ORIGIN_SECRET, EDGE_URL: `http://127.0.0.1:${edgePort}`, ...env }, ready, port, ms: 60_000,
  });
  running.push(app);
  const edge = await startEdge({ ...WINDOWS, ORIGIN_URL: `http://127.0.0.1:${port}` }, { port: edgePort });
  running.push(edge);
  return edge.url;
}

/** A newcomer's first session through the edge; `me` is the path that needs a user. */
async function firstSession(edge, { me, whoami, done = 303 }) {
  const client = new Client(edge);
  assert.equal((await client.fetch(me)).status, 401, "anonymous at first");
  const forged = await client.fetch(me, { headers: { "X-Edge-User": "mallory", "X-Edge-Assertion": "forged" } });
  assert.equal(forged.status, 401, "a forged identity is anonymous");
  const login = await client.fetch("/login", { method: "POST", body: new URLSearchParams({ username: "ada" }) });
  assert.equal(login.status, done, login.text);
  assert.ok(client.refresh && client.access, "the login directive was accepted");
  let res = await client.fetch(me);
  assert.equal(res.status, 200, res.text);
  assert.equal(whoami(res).sub, "ada");
  if (whoami(res).state !== undefined) assert.equal(whoami(res).state, "fresh");
  await sleep(2_500);
  res = await client.fetch(me);
  assert.equal(whoami(res).sub, "ada");
  if (whoami(res).state !== undefined) assert.equal(whoami(res).state, "rotated");
  assert.equal((await client.fetch("/logout", { method: "POST" })).status, done);
  assert.ok(!client.refresh && !client.access, "logout deleted both cookies");
  assert.equal((await client.fetch(me)).status, 401);
}

const json = (res) => ({ sub: res.json().sub, state: res.json().state });

test("Python, FastAPI: the README's install line, app.py and uvicorn command", async () => {
  const doc = readme("packages/python/README.md");
  doc.says('pip install "path/to/edge-session/packages/python[fastapi]" uvicorn');
  doc.says("uvicorn app:app --port 8000");
  const dir = join(work, "fastapi");
  mkdirSync(dir);
  const bin = venv(dir, [`${root}packages/python[fastapi]`, "uvicorn"]);
  writeFileSync(join(dir, "app.py"), doc.block("## Quick start (FastAPI)", "python"));
  const port = await freePort();
  const edge = await behindEdge(dir, port, join(bin, "uvicorn"), ["app:app", "--port", String(port)], "Uvicorn running");
  await firstSession(edge, { me: "/api/me", whoami: json });
});

test("Python, Flask: the README's install line, app.py and flask run", async () => {
  const doc = readme("packages/python/README.md");
  doc.says('pip install "path/to/edge-session/packages/python[flask]"');
  doc.says("flask run --port 8000");
  const dir = join(work, "flask");
  mkdirSync(dir);
  const bin = venv(dir, [`${root}packages/python[flask]`]);
  writeFileSync(join(dir, "app.py"), doc.block("Flask (`pip install", "python"));
  const port = await freePort();
  const edge = await behindEdge(dir, port, join(bin, "flask"), ["run", "--port", String(port)], "Running on");
  await firstSession(edge, { me: "/api/me", whoami: json });
});

test("Ruby, Rack: the README's Gemfile, config.ru and puma command", async () => {
  const doc = readme("packages/ruby/README.md");
  doc.says("bundle exec puma -p 9292");
  const dir = join(work, "rack");
  mkdirSync(dir);
  writeFileSync(join(dir, "Gemfile"), doc.block("## Quick start (Rack)", "ruby").replace("path/to/edge-session/", root));
  writeFileSync(join(dir, "config.ru"), doc.block("```ruby\n# config.ru", "ruby"));
  // `bundle install` as the README says, but --local: rubygems.org is unreachable here,
  // and Puma and ruby-jwt are Debian's.
  run("bundle", ["install", "--local", "--quiet"], dir);
  const port = await freePort();
  const edge = await behindEdge(dir, port, "bundle", ["exec", "puma", "-p", String(port)], "Listening on");
  // This quick start says who, not in which state.
  await firstSession(edge, { me: "/", whoami: (res) => ({ sub: /^Hello (.*)$/.exec(res.text)?.[1] }) });
});

test("Rust, axum: the README's main.rs (examples/quickstart.rs), its devices route included", async () => {
  // tests/readme.rs holds the README's block equal to the example; npm test built it
  // (scripts/test.sh, origin_apps) with the features the README's Cargo.toml names.
  const doc = readme("packages/rust/README.md");
  doc.says('features = ["axum", "client"]');
  const port = await freePort();
  const bin = join(root, "target/debug/examples/quickstart");
  const edge = await behindEdge(join(root, "packages/rust"), port, bin, [], "listening on", { PORT: String(port) });
  const client = new Client(edge);
  assert.equal((await client.fetch("/api/devices")).status, 401, "anonymous: no devices");
  await firstSession(edge, { me: "/api/me", whoami: json, done: 200 });
  // Signed in again: the logged-out session is gone, this one is listed.
  await client.fetch("/login", { method: "POST", body: new URLSearchParams({ username: "ada" }) });
  const me = (await client.fetch("/api/me")).json();
  const devices = await client.fetch("/api/devices");
  assert.equal(devices.status, 200, devices.text);
  assert.deepEqual(devices.json().map((s) => s.sid), [me.sid]);
});

// Origin kits (examples/): each example origin verifies real assertions produced by the
// worker and signs directives the worker accepts. Python (PyJWT), Node (jose) and Elixir
// (OTP :crypto and :httpd, JSON by :jiffy).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { startEdge, Client, ORIGIN_SECRET, sleep } from "./harness.mjs";

const root = new URL("../..", import.meta.url).pathname;
const running = [];
after(async () => { for (const stop of running) await stop(); });

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startKit(command, args, cwd) {
  const port = await freePort();
  const child = spawn(command, args, { cwd: `${root}/${cwd}`, env: { ...process.env, PORT: String(port), ORIGIN_SECRET }, stdio: "pipe" });
  let output = "";
  child.stdout.on("data", (d) => { output += d; });
  child.stderr.on("data", (d) => { output += d; });
  for (let i = 0; i < 100 && !output.includes("origin on"); i++) {
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  assert.ok(output.includes("origin on"), `kit did not start:\n${output}`);
  running.push(async () => { child.kill(); });
  return `http://127.0.0.1:${port}`;
}

const KITS = {
  python: () => startKit(`${root}/.venv/bin/python`, ["origin.py"], "examples/python"),
  node: () => startKit(process.execPath, ["origin.mjs"], "examples/node"),
  elixir: () => startKit("elixir", ["origin.exs"], "examples/elixir"),
};

for (const [kit, start] of Object.entries(KITS)) {
  test(`${kit} kit: signs a login the edge accepts, verifies the edge's assertions`, async () => {
    const origin = await start();
    const edge = await startEdge({ ORIGIN_URL: origin, ACCESS_TTL_SECS: "60" });
    running.push(() => edge.stop());
    const client = new Client(edge.url);
    assert.deepEqual((await client.fetch("/")).json(), { kit, user: null, state: null });
    await client.fetch("/login?ada");
    assert.ok(client.refresh, "the kit's login directive was accepted");
    assert.deepEqual((await client.fetch("/me")).json(), { kit, user: "ada", state: "fresh" }, "assertion verified by the kit");
    // Around the edge, a forged assertion or a plain header earns nothing.
    const direct = await fetch(origin + "/me", { headers: { "X-Edge-User": "mallory", "X-Edge-Assertion": "e30.e30.AAAA" } });
    assert.deepEqual(await direct.json(), { kit, user: null, state: null });
    await client.fetch("/logout");
    assert.equal(client.cookies.size, 0, "the kit's logout directive was accepted");
  });
}

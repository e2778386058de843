// Origin kits (examples/): each example origin verifies real assertions produced by the
// worker, signs directives the worker accepts, and calls the worker's admin API ("your
// devices"). Elixir (OTP :crypto, :httpd and :httpc, JSON by :jiffy). The Node and
// Python packages and their framework adapters are tested in packages.test.mjs.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { ACCESS_COOKIE, startEdge, Client, ORIGIN_SECRET, sleep } from "../../tools/harness.mjs";

const root = new URL("../..", import.meta.url).pathname;
const running = [];
after(async () => { for (const stop of running) await stop(); });

/** `n` distinct free ports: all are held at once, then released. */
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () =>
    new Promise((resolve) => { const s = createServer().listen(0, "127.0.0.1", () => resolve(s)); })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function startKit(command, args, cwd, port, edgeUrl) {
  const env = { ...process.env, PORT: String(port), ORIGIN_SECRET, EDGE_URL: edgeUrl };
  const child = spawn(command, args, { cwd: `${root}/${cwd}`, env, stdio: "pipe" });
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
  elixir: (...at) => startKit("elixir", ["origin.exs"], "examples/elixir", ...at),
};

// The kit calls the edge, so it must know the edge's URL when it starts, and the edge
// needs the kit's: both ports are chosen first. One kit and edge serve both tests.
const setups = {};
const setup = (kit) => (setups[kit] ??= (async () => {
  const [edgePort, kitPort] = await freePorts(2);
  const origin = await KITS[kit](kitPort, `http://127.0.0.1:${edgePort}`);
  const edge = await startEdge({ ORIGIN_URL: origin, ACCESS_TTL_SECS: "60" }, { port: edgePort });
  running.push(() => edge.stop());
  return { origin, edge };
})());

for (const kit of Object.keys(KITS)) {
  test(`${kit} kit: signs a login the edge accepts, verifies the edge's assertions`, async () => {
    const { origin, edge } = await setup(kit);
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
    // X-Edge-User decodes to the exact sub, spaces, `+` and `%` included.
    const odd = "zoë mallet+1%";
    await client.fetch(`/login?${encodeURIComponent(odd)}`);
    assert.deepEqual((await client.fetch("/whoami")).json(), { kit, user: odd, state: "fresh", header_user: odd });
  });

  test(`${kit} kit: lists the user's devices and signs out the others through the admin API`, async () => {
    const { edge } = await setup(kit);
    const anonymous = await new Client(edge.url).fetch("/devices");
    assert.equal(anonymous.status, 401);
    assert.deepEqual(anonymous.json(), { kit, error: "not signed in" });
    const [a, b] = [new Client(edge.url), new Client(edge.url)];
    for (const client of [a, b]) await client.fetch("/login?grace");
    const listA = await a.fetch("/devices");
    assert.equal(listA.status, 200, listA.text);
    const mine = listA.json();
    const theirs = (await b.fetch("/devices")).json();
    assert.match(mine.current, /^[A-Za-z0-9_-]{22}$/, "the current sid comes from the verified assertion");
    assert.notEqual(mine.current, theirs.current);
    assert.deepEqual({ ...mine, devices: [...mine.devices].sort() }, { kit, current: mine.current, devices: [mine.current, theirs.current].sort() });

    const viaGet = await a.fetch("/devices/sign-out-others");
    assert.equal(viaGet.status, 405, "a state change needs POST (SameSite=Lax cookies: no cross-site POST carries them)");
    assert.deepEqual((await a.fetch("/devices/sign-out-others", { method: "POST" })).json(), { kit, revoked: 1 });
    // B's access cookie stays valid for ACCESS_TTL (stateless by design); its refresh
    // cookie, which the edge checks against the revoked family, no longer identifies it.
    b.cookies.delete(ACCESS_COOKIE);
    assert.deepEqual((await b.fetch("/me")).json(), { kit, user: null, state: null }, "B was signed out");
    // A's family was kept: its refresh cookie alone still identifies it.
    a.cookies.delete(ACCESS_COOKIE);
    assert.equal((await a.fetch("/me")).json().user, "grace", "A is still signed in");
    assert.deepEqual((await a.fetch("/devices")).json(), { kit, current: mine.current, devices: [mine.current] });
  });
}

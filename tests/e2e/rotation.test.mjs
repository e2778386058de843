// End to end, strict mode (ACCESS_TTL_SECS=0, every request reaches the family's
// object): rotation, the 100-request race (S3), a lost rotating response (S2), theft
// after grace (S5, S9), and storage writes only when the state changes. Time moves by
// the edge's test clock (`edge.clock`), not by sleeping.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  generationOf, REFRESH_COOKIE, startOrigin, startEdge, Client, loginDirective, logoutDirective, debugOf,
} from "../../tools/harness.mjs";

const ROTATE_MS = 3_000;
const GRACE_MS = 2_000;
let origin, edge;
before(async () => {
  origin = await startOrigin();
  origin.respond = async (req) => req.url === "/login" ? { headers: { "X-Edge-Login": await loginDirective(req, `user-${req.headers["x-test-user"]}`) } } : {};
  edge = await startEdge({
    ORIGIN_URL: origin.url, ACCESS_TTL_SECS: "0",
    ROTATE_AFTER_SECS: String(ROTATE_MS / 1000), GRACE_SECS: String(GRACE_MS / 1000), RECOVERY_SECS: "20",
  });
});
after(async () => { await edge?.stop(); await origin?.close(); });

async function login(name) {
  const client = new Client(edge.url);
  await client.fetch("/login", { headers: { "x-test-user": name } });
  assert.ok(client.refresh, "logged in");
  return client;
}

const refreshSet = (res) => res.setCookies.find((c) => c.name === REFRESH_COOKIE)?.value;

test("rotation after ROTATE_AFTER_SECS hands out the next generation", async () => {
  const client = await login("rot");
  const first = client.refresh;
  const early = await client.fetch("/");
  assert.deepEqual(early.json(), { user: "user-rot", state: "fresh" });
  assert.equal(refreshSet(early), undefined, "no refresh cookie before it is due");
  edge.clock.advance(ROTATE_MS + 200);
  const due = await client.fetch("/");
  assert.deepEqual(due.json(), { user: "user-rot", state: "rotated" });
  assert.equal(generationOf(refreshSet(due)), generationOf(first) + 1);
  assert.equal(client.refresh, refreshSet(due));
});

test("S3: 100 concurrent requests at a due rotation — all the same user, exactly one rotation, one new value", async () => {
  const client = await login("race");
  await client.fetch("/"); // confirm generation 1
  edge.clock.advance(ROTATE_MS + 200);
  const cookie = client.cookieHeader();
  const results = await Promise.all(Array.from({ length: 100 }, async () => {
    const res = await edge.fetch("/burst", { headers: { cookie } });
    return { status: res.status, body: await res.json(), refresh: res.headers.getSetCookie().find((l) => l.startsWith(`${REFRESH_COOKIE}=`)) };
  }));
  assert.ok(results.every((r) => r.status === 200), "no errors");
  assert.ok(results.every((r) => r.body.user === "user-race"), "all authenticated as the same user");
  const states = results.map((r) => r.body.state);
  assert.equal(states.filter((s) => s === "rotated").length, 1, `exactly one rotation: ${states}`);
  assert.ok(states.every((s) => s === "rotated" || s === "grace"), `others are grace aliases: ${states}`);
  const values = new Set(results.map((r) => r.refresh?.split(";")[0]).filter(Boolean));
  assert.equal(values.size, 1, "every refresh cookie set is the same new value");
  assert.equal(results.filter((r) => r.refresh).length, 100, "every response hands out the newest credential");
});

test("S2: a response dropped after a rotation — the next request is grace, later recovered", async () => {
  const client = await login("lost");
  await client.fetch("/");
  edge.clock.advance(ROTATE_MS + 200);
  const dropped = await client.fetch("/", { read: false });
  assert.equal(dropped.json().state, "rotated");
  const withinGrace = await client.fetch("/", { read: false });
  assert.deepEqual(withinGrace.json(), { user: "user-lost", state: "grace" });
  assert.equal(refreshSet(withinGrace), refreshSet(dropped), "grace re-delivers the current credential");
  edge.clock.advance(GRACE_MS + 300);
  const recovered = await client.fetch("/");
  assert.deepEqual(recovered.json(), { user: "user-lost", state: "recovered" });
  assert.equal(client.refresh, refreshSet(dropped));
  assert.deepEqual((await client.fetch("/")).json(), { user: "user-lost", state: "fresh" });
});

test("S5/S9: the old credential after grace is reuse — the family is revoked and later requests are anonymous", async () => {
  const client = await login("theft");
  await client.fetch("/");
  const stolen = client.refresh;
  edge.clock.advance(ROTATE_MS + 200);
  assert.equal((await client.fetch("/")).json().state, "rotated");
  const soon = new Client(edge.url);
  soon.cookies.set(REFRESH_COOKIE, stolen);
  assert.deepEqual((await soon.fetch("/")).json(), { user: "user-theft", state: "grace" }, "S5: usable 100 ms later");
  assert.equal((await client.fetch("/")).json().state, "fresh", "owner confirms the new generation");
  edge.clock.advance(GRACE_MS + 300);
  const thief = new Client(edge.url);
  thief.cookies.set(REFRESH_COOKIE, stolen);
  const replay = await thief.fetch("/");
  assert.deepEqual(replay.json(), { user: null, state: "reused" }, "refused, and the origin hears why");
  assert.equal(replay.setCookies.length, 0, "no cookie deleted or set");
  const event = await edge.waitEvent((e) => e.edge_session === "reuse_detected" && e.sub === "user-theft");
  assert.equal(event?.action, "family_revoked", "a security event is logged");
  const owner = await client.fetch("/");
  assert.deepEqual(owner.json(), { user: null, state: "ended" }, "S9: the owner's next request is anonymous");
  assert.equal(owner.setCookies.length, 0, "an anonymous answer never deletes cookies");
});

test("storage is written on confirmation and rotation only, not per request", async () => {
  const client = await login("writes");
  const writes = [];
  for (let i = 0; i < 10; i++) writes.push(Number(debugOf(await client.fetch("/")).writes));
  assert.deepEqual(writes, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], "first confirmation writes once, then nothing");
  edge.clock.advance(ROTATE_MS + 200);
  const rotation = await client.fetch("/");
  assert.equal(rotation.json().state, "rotated");
  assert.equal(debugOf(rotation).writes, "1");
});

test("logout everywhere revokes every family of the user, and only theirs", async () => {
  const devices = [await login("multi"), await login("multi"), await login("multi")];
  const other = await login("other");
  for (const d of devices) assert.equal((await d.fetch("/")).json().user, "user-multi");
  const base = origin.respond;
  origin.respond = async (req) => req.url === "/logout-all"
    ? { headers: { "X-Edge-Logout": await logoutDirective(req, "everywhere", { sub: "user-multi" }) } }
    : base(req);
  try {
    await devices[0].fetch("/logout-all");
  } finally {
    origin.respond = base;
  }
  assert.equal(devices[0].cookies.size, 0, "this device's cookies cleared");
  for (const d of devices.slice(1)) {
    const res = await d.fetch("/");
    assert.deepEqual(res.json(), { user: null, state: "ended" }, "the other devices are logged out");
    assert.equal(res.setCookies.length, 0);
  }
  assert.equal((await other.fetch("/")).json().user, "user-other", "another user is untouched");
  const event = await edge.waitEvent((e) => e.edge_session === "logout_everywhere" && e.sub === "user-multi");
  assert.equal(event?.families, "3");
  const again = await login("multi");
  assert.equal((await again.fetch("/")).json().user, "user-multi", "logging in again works");
});

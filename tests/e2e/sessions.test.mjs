// "Your devices": the UserSessions index and the origin-facing admin API.
// POST /__edge/admin with an ORIGIN_SECRET-signed `edge-admin+jwt` lists a user's
// sessions (with the login's user agent and country, and last seen) and revokes one or
// all. A family leaves the index when its object is deleted, however it ended.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startOrigin, startEdge, Client, directive, loginDirective, loginLogoutRoutes, logoutDirective, debugOf, sleep } from "../../tools/harness.mjs";

let origin, edge;
before(async () => {
  origin = await startOrigin();
  origin.respond = async (req) => (await loginLogoutRoutes(req))
    ?? { body: JSON.stringify({ user: req.headers["x-edge-user"] ?? null, sid: req.headers["x-edge-session"] ?? null }) };
  // ACCESS_TTL 0: every request asks the family, so a revocation shows at once.
  // IDLE 8 s: last_seen is kept to 0.8 s, and the index hears of it every 4 s. LIFETIME
  // 10 s: expiry fits in a test.
  edge = await startEdge({
    ORIGIN_URL: origin.url, ACCESS_TTL_SECS: "0", ROTATE_AFTER_SECS: "60", GRACE_SECS: "1",
    IDLE_TIMEOUT_SECS: "8", SESSION_LIFETIME_SECS: "10",
  });
});
after(async () => { await edge?.stop(); await origin?.close(); });

let users = 0;
const newUser = () => `user-${process.pid}-${++users}`;

/** A logged-in device of `sub`, with its session id as the origin sees it. */
async function device(sub, userAgent = "test-device") {
  const client = new Client(edge.url);
  const fetchAs = client.fetch.bind(client);
  client.fetch = (path, opts = {}) => fetchAs(path, { ...opts, headers: { "User-Agent": userAgent, ...opts.headers } });
  await client.fetch(`/login?${sub}`);
  client.sid = (await client.fetch("/")).json().sid;
  assert.match(client.sid ?? "", /^[A-Za-z0-9_-]{22}$/, "logged in");
  return client;
}

const now = () => Math.floor(Date.now() / 1000);
// Every admin token carries a fresh random jti: the edge refuses a revocation's replay.
const adminToken = (claims, opts = {}) =>
  directive("edge-admin+jwt", { jti: randomBytes(12).toString("base64url"), ...claims }, { exp: now() + 60, ...opts });

async function admin(claims, { token, method = "POST" } = {}) {
  const bearer = token ?? await adminToken(claims);
  const res = await fetch(`${edge.url}/__edge/admin`, { method, headers: { authorization: `Bearer ${bearer}` } });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const list = async (sub) => (await admin({ sub, act: "list" })).body.sessions;

/** Polls the list until `pred` holds (the index is updated after responses). */
async function listUntil(sub, pred, ms = 5_000) {
  const deadline = Date.now() + ms;
  let sessions = await list(sub);
  while (!pred(sessions) && Date.now() < deadline) {
    await sleep(200);
    sessions = await list(sub);
  }
  return sessions;
}

test("lists a user's sessions with the device each logged in from", async () => {
  const sub = newUser();
  const before = now();
  const laptop = await device(sub, "Laptop/1.0");
  const phone = await device(sub, "Phone/2.0");
  await device(newUser(), "Someone-else/1.0");
  const res = await admin({ sub, act: "list" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.body.sub, sub);
  const sessions = res.body.sessions;
  assert.deepEqual(sessions.map((s) => s.sid), [laptop.sid, phone.sid], "this user's two sessions, oldest first");
  assert.deepEqual(sessions.map((s) => s.user_agent), ["Laptop/1.0", "Phone/2.0"]);
  for (const s of sessions) {
    assert.ok(s.created_at >= before - 1 && s.created_at <= now() + 1, `created_at ${s.created_at}`);
    // The device's first request refreshed at its object, so last_seen may have moved.
    assert.ok(s.last_seen >= s.created_at && s.last_seen <= now() + 1, `last_seen ${s.last_seen}`);
    assert.equal(s.remember, false);
    assert.ok(s.country === null || /^[A-Z0-9]{2}$/.test(s.country), `country ${s.country}`);
  }
  assert.deepEqual(await list(newUser()), [], "a user never seen has no sessions");
});

test("last seen moves when the family refreshes, in the index at most every half idle timeout", async () => {
  const sub = newUser();
  const client = await device(sub);
  const [{ created_at }] = await list(sub);
  edge.clock.advance(2_000); // past last_seen's 0.8 s step, within the index's 4 s
  const moved = await client.fetch("/");
  assert.deepEqual([debugOf(moved).writes, debugOf(moved).touched], ["1", "0"], "the family wrote; the index is not told yet");
  edge.clock.advance(2_500); // past the index's step (half the idle timeout)
  const res = await client.fetch("/");
  assert.deepEqual([debugOf(res).writes, debugOf(res).touched], ["1", "1"], "the family persisted its new last_seen, and told the index");
  const [session] = await listUntil(sub, (s) => s[0]?.last_seen > created_at);
  assert.ok(session.last_seen >= created_at + 4, `last_seen ${session.last_seen} vs created ${created_at}`);
});

test("revoking one session logs that device out and no other", async () => {
  const sub = newUser();
  const [lost, kept] = [await device(sub), await device(sub)];
  const other = await device(newUser());
  assert.deepEqual((await admin({ sub, act: "revoke", sid: lost.sid })).body, { revoked: 1, pending: 0 });
  assert.deepEqual((await lost.fetch("/")).json(), { user: null, sid: null }, "the revoked device is anonymous");
  assert.equal((await kept.fetch("/")).json().user, sub);
  assert.deepEqual((await list(sub)).map((s) => s.sid), [kept.sid]);
  const again = await admin({ sub, act: "revoke", sid: lost.sid });
  assert.equal(again.status, 404, "already revoked");
  // A session id of another user cannot be revoked through this user.
  const cross = await admin({ sub, act: "revoke", sid: other.sid });
  assert.equal(cross.status, 404);
  assert.equal((await other.fetch("/")).json().user !== null, true, "the other user's session survives");
  const event = await edge.waitEvent((e) => e.edge_session === "admin_revoke" && e.sub === sub);
  assert.equal(event?.act, "revoke");
});

test("sign out all other devices keeps the caller's session", async () => {
  const sub = newUser();
  const [mine, second, third] = [await device(sub), await device(sub), await device(sub)];
  assert.deepEqual((await admin({ sub, act: "revoke_all", except: mine.sid })).body, { revoked: 2, pending: 0 });
  assert.equal((await mine.fetch("/")).json().user, sub);
  for (const d of [second, third]) assert.equal((await d.fetch("/")).json().user, null);
  assert.deepEqual((await list(sub)).map((s) => s.sid), [mine.sid]);
  assert.deepEqual((await admin({ sub, act: "revoke_all" })).body, { revoked: 1, pending: 0 });
  assert.equal((await mine.fetch("/")).json().user, null);
});

test("a replayed revocation token is refused: it cannot sign out a login made after it", async () => {
  const sub = newUser();
  const old = await device(sub);
  const token = await adminToken({ sub, act: "revoke_all" });
  assert.deepEqual((await admin(null, { token })).body, { revoked: 1, pending: 0 });
  assert.equal((await old.fetch("/")).json().user, null);
  const fresh = await device(sub);
  const replay = await admin(null, { token });
  assert.equal(replay.status, 409, "the replay is refused");
  assert.deepEqual(replay.body, { error: "token already used" });
  assert.equal((await fresh.fetch("/")).json().user, sub, "the later login survives");
  // A list token may be reused: it changes nothing.
  const listing = await adminToken({ sub, act: "list" });
  for (let i = 0; i < 2; i++) assert.equal((await admin(null, { token: listing })).status, 200);
});

test("a session leaves the index when it ends: logout, and expiry by its alarm", async () => {
  const sub = newUser();
  const leaving = await device(sub);
  const expiring = await device(sub);
  await leaving.fetch("/logout");
  assert.equal(leaving.cookies.size, 0);
  let sessions = await listUntil(sub, (s) => s.length === 1);
  assert.deepEqual(sessions.map((s) => s.sid), [expiring.sid], "the logged-out family unregistered");
  // The 10 s lifetime ends the other; its alarm deletes the family and unregisters it.
  // (Pruning by age cannot explain this: the index keeps entries for the 30-day
  // remember-me lifetime.)
  sessions = await listUntil(sub, (s) => s.length === 0, 15_000);
  assert.deepEqual(sessions, []);
  assert.equal((await expiring.fetch("/")).json().user, null);
});

test("bad admin calls get a clear 4xx, wake no Durable Object and change nothing", async () => {
  const sub = newUser();
  const client = await device(sub);
  const call = (init) => fetch(`${edge.url}/__edge/admin`, init).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() }));
  const missing = await call({ method: "POST" });
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get("www-authenticate"), /^Bearer/);
  assert.equal(missing.headers.get("x-edge-debug"), "path=none", "no object asked");
  const wrongMethod = await admin({ sub, act: "list" }, { method: "GET" });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get("allow"), "POST");
  assert.equal(wrongMethod.headers.get("x-edge-debug"), "path=none");
  // The control: a good token does ask the user's object.
  assert.equal((await admin({ sub, act: "list" })).headers.get("x-edge-debug"), "path=object");
  const forged = [
    await loginDirective({ headers: {} }, sub),                              // a directive is not an admin token
    await logoutDirective({ headers: {} }, "everywhere", { sub }),
    await adminToken({ sub, act: "revoke_all" }, { exp: now() + 3_600 }),    // lives too long
    await adminToken({ sub, act: "revoke_all" }, { iat: now() - 600, exp: now() - 540 }), // expired
    await adminToken({ sub, act: "revoke_all" }, { key: new TextEncoder().encode("x".repeat(32)) }),
    "not.a.jws",
  ];
  for (const token of forged) {
    const res = await admin(null, { token });
    assert.equal(res.status, 401, `refused: ${token.slice(0, 40)}`);
    assert.equal(res.body.error, "invalid token", "an unauthenticated caller learns nothing more");
    assert.equal(res.headers.get("x-edge-debug"), "path=none", `refused before any object woke: ${token.slice(0, 40)}`);
  }
  // Signed with the secret but asking for something malformed: 400, saying what.
  const malformed = [
    [await adminToken({ sub, act: "explode" }), /act must be/],
    [await adminToken({ sub, act: "revoke", sid: "../../etc" }), /session id malformed/],
    [await directive("edge-admin+jwt", { sub, act: "revoke_all" }, { exp: now() + 60 }), /jti/], // no jti
  ];
  for (const [token, reason] of malformed) {
    const res = await admin(null, { token });
    assert.equal(res.status, 400, `malformed: ${token.slice(0, 40)}`);
    assert.match(res.body.error, reason);
    assert.equal(res.headers.get("x-edge-debug"), "path=none", "refused before any object woke");
  }
  const event = await edge.waitEvent((e) => e.edge_session === "admin_rejected");
  assert.ok(event, "a rejected admin token is logged");
  assert.equal((await client.fetch("/")).json().user, sub, "nothing was revoked");
  assert.equal((await list(sub)).length, 1);
});

// Security events, black-box: a receiver on EVENTS_URL verifies every body with jose (a
// JWT library that shares nothing with the edge's code) against EVENTS_SECRET alone, and
// is down when the test says so. Each event must arrive signed, with the right type,
// sub, sid and device, one jti however often it was delivered, and no credential
// anywhere; an event queued before its family ended is delivered after; the EVENTS
// queue carries the same bodies to a consumer Worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { jwtVerify } from "jose";
import {
  Client, ORIGIN_SECRET, REFRESH_COOKIE, SESSION_KEYS, debugOf, directive, loginLogoutRoutes, sleep, startEdge, startOrigin,
  until, verifyAssertion,
} from "../../tools/harness.mjs";

const EVENTS_SECRET = `e1:${randomBytes(32).toString("base64url")}`;
const eventsKey = new TextEncoder().encode(EVENTS_SECRET.slice(3));
const UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0";
const HOME = "country=CH; asn=3303; colo=ZRH";

const WEBHOOK_LIFETIME = 300;
const QUEUE_LIFETIME = 4 * 24 * 3600;

/**
 * A webhook receiver: records every delivery; `down` answers 503 to the next n. Every
 * body must live exactly `lifetime` seconds: a webhook delivery's, or a queue message's.
 */
async function startReceiver({ lifetime = WEBHOOK_LIFETIME } = {}) {
  const receiver = { deliveries: [], down: 0 };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString();
    const refused = receiver.down > 0;
    if (refused) receiver.down -= 1;
    receiver.deliveries.push({ body, refused, contentType: req.headers["content-type"], at: Date.now() });
    res.writeHead(refused ? 503 : 204).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  receiver.url = `http://127.0.0.1:${server.address().port}/hooks/edge`;
  receiver.close = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
  /** Verified events taken (2xx), deduplicated by jti as a receiver should. */
  receiver.events = async () => {
    const seen = new Map();
    for (const d of receiver.deliveries.filter((d) => !d.refused)) {
      const event = await verify(d.body, lifetime);
      seen.set(event.jti, event);
    }
    return [...seen.values()];
  };
  receiver.waitFor = async (pred, ms = 30_000) => {
    const found = await until(async () => (await receiver.events()).find(pred), Boolean, ms);
    const tried = receiver.deliveries.map((d) => (d.refused ? "refused" : "taken")).join(",");
    assert.ok(found, `no such event within ${ms} ms (deliveries: ${tried}); got ${JSON.stringify(await receiver.events())}`);
    return found;
  };
  return receiver;
}

/** What a receiver does with a body: a JWT library, the secret, nothing else. */
async function verify(body, lifetime) {
  const { payload, protectedHeader } = await jwtVerify(body, eventsKey, {
    algorithms: ["HS256"], issuer: "edge-session", audience: "origin", typ: "edge-event+jwt", maxTokenAge: lifetime,
  });
  assert.equal(protectedHeader.kid, "e1");
  assert.equal(payload.exp - payload.iat, lifetime);
  return payload;
}

let origin, receiver, edge;
before(async () => {
  origin = await startOrigin();
  // /login?sub, /logout, /everywhere?sub (log out everywhere); else who and which session.
  origin.respond = async (req) => {
    if (req.url.startsWith("/everywhere?")) {
      const claims = { scope: "everywhere", sub: req.url.slice(12), nonce: req.headers["x-edge-nonce"] };
      return { headers: { "X-Edge-Logout": await directive("edge-logout+jwt", claims) } };
    }
    return (await loginLogoutRoutes(req)) ?? {
      body: JSON.stringify({ user: req.headers["x-edge-user"] ?? null, sid: req.headers["x-edge-session"] ?? null,
        state: req.headers["x-edge-session-state"] ?? null, assertion: req.headers["x-edge-assertion"] ?? null }),
    };
  };
  receiver = await startReceiver();
  // Every request asks the family (ACCESS_TTL 0); rotations and grace in seconds.
  edge = await startEdge({
    ORIGIN_URL: origin.url, EVENTS_URL: receiver.url, EVENTS_SECRET,
    ACCESS_TTL_SECS: "0", ROTATE_AFTER_SECS: "2", GRACE_SECS: "1", RECOVERY_SECS: "1",
  });
});
after(async () => { await edge?.stop(); await receiver?.close(); await origin?.close(); });

let users = 0;
const newUser = () => `events-${process.pid}-${++users}`;

/** A browser of `sub` from `where` (an `x-edge-debug-cf` value), logged in. */
async function browser(sub, { ua = UA, where = HOME } = {}) {
  const client = new Client(edge.url);
  client.as = { "User-Agent": ua, "x-edge-debug-cf": where };
  const fetchAs = client.fetch.bind(client);
  client.fetch = (path, opts = {}) => fetchAs(path, { ...opts, headers: { ...client.as, ...opts.headers } });
  await client.fetch(`/login?${encodeURIComponent(sub)}`);
  client.sid = (await client.fetch("/")).json().sid;
  assert.match(client.sid ?? "", /^[A-Za-z0-9_-]{22}$/, "logged in");
  return client;
}

/** No credential or secret in any delivered body, in any form. */
function assertNoCredential(secrets) {
  for (const d of receiver.deliveries) {
    const [, payload] = d.body.split(".");
    const claims = Buffer.from(payload, "base64url").toString();
    for (const secret of secrets.filter(Boolean)) {
      assert.ok(!d.body.includes(secret) && !claims.includes(secret), `a delivery carries ${secret.slice(0, 12)}…`);
    }
  }
}

test("a login: session.created with the device, after a receiver that fails its first three deliveries", { timeout: 90_000 }, async () => {
  receiver.down = 3;
  const first = receiver.deliveries.length;
  const sub = newUser();
  const client = await browser(sub);
  const event = await receiver.waitFor((e) => e.type === "session.created" && e.sub === sub, 60_000);
  assert.equal(event.sid, client.sid, "the session the origin sees");
  assert.equal(event.jti.length > 0, true);
  assert.deepEqual(event.device, {
    user_agent: UA, browser: "Chrome", os: "Windows", country: "CH", asn: 3303, colo: "ZRH", bound: false,
  });
  assert.ok(Math.abs(event.time - Date.now() / 1000) < 60);
  const attempts = receiver.deliveries.slice(first).filter((d) => d.body.includes(".") && decode(d.body).jti === event.jti);
  assert.ok(attempts.length >= 4, `refused three times, then taken: ${attempts.length} attempts`);
  assert.deepEqual(attempts.slice(0, 3).map((d) => d.refused), [true, true, true]);
  assert.ok(attempts.every((d) => d.contentType === "application/jwt"));
  // Retried within seconds (2 + 5 + 10), not minutes.
  assert.ok(attempts[3].at - attempts[0].at < 30_000, `${attempts[3].at - attempts[0].at} ms`);
  assertNoCredential([client.refresh, client.access, ORIGIN_SECRET.slice(3), SESSION_KEYS.slice(3), EVENTS_SECRET.slice(3)]);
});

const decode = (body) => JSON.parse(Buffer.from(body.split(".")[1], "base64url").toString());

test("a refresh credential reused after grace: session.reuse_detected, the family revoked, no credential in it", { timeout: 60_000 }, async () => {
  const sub = newUser();
  const client = await browser(sub);
  const stolen = client.refresh;
  await sleep(2_300);
  assert.equal((await client.fetch("/")).json().state, "rotated");
  await sleep(1_500);
  const thief = new Client(edge.url);
  thief.cookies.set(REFRESH_COOKIE, stolen);
  const replay = await thief.fetch("/", { headers: { "User-Agent": FIREFOX, "x-edge-debug-cf": "country=BR; asn=28573" } });
  assert.equal(replay.json().state, "reused");
  const event = await receiver.waitFor((e) => e.type === "session.reuse_detected" && e.sub === sub);
  assert.equal(event.sid, client.sid);
  assert.equal(event.revoked, true);
  assert.equal(event.device.browser, "Firefox", "the device that presented the reused credential");
  assert.equal(event.device.country, "BR");
  assertNoCredential([stolen, client.refresh, client.access]);
});

test("logout, logout everywhere, the admin API and sign out others each report session.revoked with who asked", { timeout: 60_000 }, async () => {
  const sub = newUser();
  const [a, b, c, d] = [await browser(sub), await browser(sub), await browser(sub), await browser(sub)];
  await a.fetch("/logout", { headers: { "Sec-Fetch-Site": "same-origin" } });
  const byLogout = await receiver.waitFor((e) => e.type === "session.revoked" && e.sid === a.sid);
  assert.equal(byLogout.by, "logout");
  assert.equal(byLogout.device.browser, "Chrome", "the device it was last seen on");
  const now = Math.floor(Date.now() / 1000);
  // "Your devices" names them as a person would: browser, system, country.
  const listing = await directive("edge-admin+jwt", { sub, act: "list", jti: randomBytes(12).toString("base64url") }, { exp: now + 60 });
  const listed = await (await fetch(`${edge.url}/__edge/admin`, { method: "POST", headers: { authorization: `Bearer ${listing}` } })).json();
  const mine = listed.sessions.find((s) => s.sid === b.sid);
  assert.deepEqual([mine.browser, mine.os, mine.country], ["Chrome", "Windows", "CH"]);
  const token = await directive("edge-admin+jwt", { sub, act: "revoke", sid: b.sid, jti: randomBytes(12).toString("base64url") }, { exp: now + 60 });
  const res = await fetch(`${edge.url}/__edge/admin`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, await res.text());
  assert.equal((await receiver.waitFor((e) => e.type === "session.revoked" && e.sid === b.sid)).by, "admin");
  // "Sign out other devices" from c: the admin API's revoke_all sparing c.
  const others = await directive("edge-admin+jwt", { sub, act: "revoke_all", except: c.sid, jti: randomBytes(12).toString("base64url") }, { exp: now + 60 });
  const spared = await fetch(`${edge.url}/__edge/admin`, { method: "POST", headers: { authorization: `Bearer ${others}` } });
  assert.equal(spared.status, 200, await spared.text());
  assert.equal((await receiver.waitFor((e) => e.type === "session.revoked" && e.sid === d.sid)).by, "others");
  await c.fetch(`/everywhere?${sub}`, { headers: { "Sec-Fetch-Site": "same-origin" } });
  assert.equal((await receiver.waitFor((e) => e.type === "session.revoked" && e.sid === c.sid)).by, "everywhere");
});

test("a session without device binding seen from another country: session.context_changed, with where it was", { timeout: 60_000 }, async () => {
  const sub = newUser();
  const client = await browser(sub);
  assert.equal((await client.fetch("/")).json().user, sub, "the same place: nothing");
  client.as = { "User-Agent": UA, "x-edge-debug-cf": "country=US; asn=7018; colo=EWR" };
  assert.equal((await client.fetch("/")).json().user, sub, "ON_CONTEXT_CHANGE=ignore: still signed in");
  const event = await receiver.waitFor((e) => e.type === "session.context_changed" && e.sub === sub);
  assert.equal(event.action, "none");
  assert.deepEqual([event.previous.country, event.previous.asn, event.device.country, event.device.asn], ["CH", 3303, "US", 7018]);
  await client.fetch("/");
  await sleep(3_000);
  const changes = (await receiver.events()).filter((e) => e.type === "session.context_changed" && e.sub === sub);
  assert.equal(changes.length, 1, "reported once, not on every request from the new place");
});

test("events queued while the receiver is down outlive their family and arrive once it is back", { timeout: 90_000 }, async () => {
  receiver.down = 1_000;
  const sub = newUser();
  const client = await browser(sub);
  await client.fetch("/logout", { headers: { "Sec-Fetch-Site": "same-origin" } });
  assert.equal((await client.fetch("/")).json().user, null);
  await sleep(8_000); // the revoked family's alarm has run: its object keeps only the events
  receiver.down = 0;
  const created = await receiver.waitFor((e) => e.type === "session.created" && e.sub === sub, 60_000);
  const revoked = await receiver.waitFor((e) => e.type === "session.revoked" && e.sub === sub, 60_000);
  assert.notEqual(created.jti, revoked.jti);
  assert.equal(revoked.sid, client.sid);
});

test("ON_CONTEXT_CHANGE=end: the session ends on a change, reported as context_changed and revoked", { timeout: 90_000 }, async () => {
  const strict = await startEdge({
    ORIGIN_URL: origin.url, EVENTS_URL: receiver.url, EVENTS_SECRET, ON_CONTEXT_CHANGE: "end", ACCESS_TTL_SECS: "0",
  });
  try {
    const sub = newUser();
    const client = new Client(strict.url);
    const headers = { "User-Agent": UA, "x-edge-debug-cf": HOME };
    await client.fetch(`/login?${sub}`, { headers });
    const sid = (await client.fetch("/", { headers })).json().sid;
    const moved = await client.fetch("/", { headers: { "User-Agent": FIREFOX, "x-edge-debug-cf": HOME } });
    assert.deepEqual([moved.json().user, moved.json().state], [null, "ended"], "another browser family: ended");
    const changed = await receiver.waitFor((e) => e.type === "session.context_changed" && e.sid === sid);
    assert.equal(changed.action, "ended");
    assert.equal((await receiver.waitFor((e) => e.type === "session.revoked" && e.sid === sid)).by, "context_changed");
  } finally {
    await strict.stop();
  }
});

test("ON_CONTEXT_CHANGE=flag: the session goes on, and every assertion from then on says when its context changed", { timeout: 90_000 }, async () => {
  const flagging = await startEdge({
    ORIGIN_URL: origin.url, EVENTS_URL: receiver.url, EVENTS_SECRET, ON_CONTEXT_CHANGE: "flag", ACCESS_TTL_SECS: "2",
  });
  try {
    const sub = newUser();
    const client = new Client(flagging.url);
    const at = (where, ua = UA) => ({ headers: { "User-Agent": ua, "x-edge-debug-cf": where } });
    const claims = async (res) => (await verifyAssertion(res.json().assertion)).payload;
    await client.fetch(`/login?${sub}`, at(HOME));
    const home = await client.fetch("/", at(HOME));
    assert.equal((await claims(home)).context_changed, undefined, "not flagged at home");
    await sleep(2_500); // the access cookie expired: the next request asks the family's object
    const before = Math.floor(Date.now() / 1000);
    const away = await client.fetch("/", at("country=US; asn=7018; colo=EWR"));
    const after = Math.ceil(Date.now() / 1000);
    assert.equal(debugOf(away).path, "object");
    const flagged = await claims(away);
    assert.equal(flagged.sub, sub, "still signed in");
    assert.ok(flagged.context_changed >= before - 1 && flagged.context_changed <= after, `${flagged.context_changed} in [${before}, ${after}]`);
    // The access cookie the object handed out carries it: the fast path says the same.
    const fast = await client.fetch("/", at("country=US; asn=7018; colo=EWR"));
    assert.equal(debugOf(fast).path, "access");
    assert.equal((await claims(fast)).context_changed, flagged.context_changed);
    // Back home, through the object: still flagged, at the time of the change (a change
    // within 15 minutes of the flag keeps it: a flipping client writes nothing more).
    await sleep(2_500);
    const back = await client.fetch("/", at(HOME));
    assert.equal(debugOf(back).path, "object");
    assert.equal((await claims(back)).context_changed, flagged.context_changed);
    const event = await receiver.waitFor((e) => e.type === "session.context_changed" && e.sub === sub);
    assert.equal(event.action, "flagged");
    // A new login is a new session: not flagged.
    await client.fetch(`/login?${sub}`, at(HOME));
    assert.equal((await claims(await client.fetch("/", at(HOME)))).context_changed, undefined, "a new login starts clean");
  } finally {
    await flagging.stop();
  }
});

test("the EVENTS queue carries the same signed events to a consumer Worker", { timeout: 90_000 }, async () => {
  const consumer = await startReceiver({ lifetime: QUEUE_LIFETIME });
  const queued = await startEdge({ ORIGIN_URL: origin.url, EVENTS_SECRET, ACCESS_TTL_SECS: "0" }, { eventsQueueTo: consumer.url });
  try {
    const sub = newUser();
    const client = new Client(queued.url);
    await client.fetch(`/login?${sub}`, { headers: { "User-Agent": UA } });
    const event = await consumer.waitFor((e) => e.type === "session.created" && e.sub === sub, 60_000);
    assert.equal(event.device.browser, "Chrome");
    assert.equal(receiver.deliveries.some((d) => decode(d.body).jti === event.jti), false, "no EVENTS_URL here");
  } finally {
    await queued.stop();
    await consumer.close();
  }
});

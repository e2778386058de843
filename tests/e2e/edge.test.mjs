// End to end, fast path on: login, identity headers, assertion, spoofing, garbage,
// directives, logout. Real wrangler dev + real Durable Objects + a recording origin.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import {
  ACCESS_COOKIE, REFRESH_COOKIE, startOrigin, startEdge, Client, loginDirective, logoutDirective, directive, debugOf, verifyAssertion, nonceOf,
} from "../../tools/harness.mjs";

let origin, edge;
before(async () => {
  origin = await startOrigin();
  edge = await startEdge({ ORIGIN_URL: origin.url, ROTATE_AFTER_SECS: "60", GRACE_SECS: "5", ACCESS_TTL_SECS: "60" });
});
after(async () => { await edge?.stop(); await origin?.close(); });
beforeEach(() => origin.reset());

/** The origin answers `/login` with a login directive for `sub`. */
function originLogsIn(sub, claims = {}) {
  origin.respond = async (req) => req.url.startsWith("/login") ? { headers: { "X-Edge-Login": await loginDirective(req, sub, claims) } } : {};
}

async function loggedIn(sub = "alice", claims = {}) {
  const client = new Client(edge.url);
  originLogsIn(sub, claims);
  await client.fetch("/login");
  origin.reset();
  return client;
}

const IDENTITY = ["x-edge-user", "x-edge-session", "x-edge-session-state", "x-edge-assertion"];
/** What the edge itself adds in its namespace: the identity, and every request's nonce. */
const EDGE_ADDED = [...IDENTITY, "x-edge-nonce"];

test("login directive sets both cookies with the __Host- attributes, and the origin then sees the user", async () => {
  const client = new Client(edge.url);
  originLogsIn("alice", { remember: true });
  const res = await client.fetch("/login");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-edge-login"), null, "directive stripped from the client response");
  const byName = Object.fromEntries(res.setCookies.map((c) => [c.name, c]));
  for (const name of [ACCESS_COOKIE, REFRESH_COOKIE]) {
    const c = byName[name];
    assert.ok(c, `${name} set`);
    assert.equal(c.attrs.path, "/");
    assert.equal(c.attrs.secure, true);
    assert.equal(c.attrs.httponly, true);
    assert.equal(c.attrs.samesite, "Lax");
    assert.equal(c.attrs.domain, undefined);
  }
  assert.equal(byName[ACCESS_COOKIE].attrs["max-age"], "60");
  assert.ok(Number(byName[REFRESH_COOKIE].attrs["max-age"]) > 2_500_000, "remember me: persistent refresh cookie");
  origin.reset();
  const me = await client.fetch("/me");
  assert.deepEqual(me.json(), { user: "alice", state: "fresh" });
  assert.match(origin.last().headers["x-edge-session"], /^[A-Za-z0-9_-]{22}$/);
});

test("a session without remember me gets a session refresh cookie", async () => {
  const client = new Client(edge.url);
  originLogsIn("bob");
  const res = await client.fetch("/login");
  const refresh = res.setCookies.find((c) => c.name === REFRESH_COOKIE);
  assert.equal(refresh.attrs["max-age"], undefined);
  assert.equal(refresh.attrs.expires, undefined);
});

test("an anonymous request passes through with no identity headers and no cookies", async () => {
  const res = await new Client(edge.url).fetch("/page?q=1");
  assert.equal(res.status, 200);
  assert.equal(res.setCookies.length, 0);
  assert.equal(origin.last().url, "/page?q=1");
  for (const h of IDENTITY) assert.equal(origin.last().headers[h], undefined, h);
  assert.equal(debugOf(res).path, "none");
});

test("spoofed identity headers in any spelling never reach the origin", async () => {
  const spoof = {
    "X-Edge-User": "mallory", "x_edge_user": "mallory", "X-EDGE-ASSERTION": "forged",
    "X-Edge-Session-State": "fresh", "X_Edge_Session": "abc", "x-edge-login": "forged",
  };
  const namespace = (headers) => Object.fromEntries(Object.entries(headers).filter(([name]) => name.replaceAll("_", "-").startsWith("x-edge-")));
  // Anonymous: nothing of the namespace arrives but the edge's own nonce.
  origin.reset();
  await new Client(edge.url).fetch("/", { headers: spoof });
  const anonymous = namespace(origin.last().headers);
  assert.deepEqual(Object.keys(anonymous), ["x-edge-nonce"], `anonymous request carried ${JSON.stringify(anonymous)}`);
  assert.match(anonymous["x-edge-nonce"], /^[A-Za-z0-9_-]{22}$/);
  // Identified: exactly the edge's headers, each with the edge's value.
  const alice = await loggedIn("alice");
  await alice.fetch("/");
  const honest = namespace(origin.last().headers);
  origin.reset();
  await alice.fetch("/", { headers: spoof });
  const seen = namespace(origin.last().headers);
  assert.deepEqual(Object.keys(seen).sort(), [...EDGE_ADDED].sort());
  assert.equal(seen["x-edge-user"], "alice");
  assert.equal(seen["x-edge-session"], honest["x-edge-session"], "the real session, not the spoofed one");
  assert.equal(seen["x-edge-session-state"], "fresh");
  assert.equal((await verifyAssertion(seen["x-edge-assertion"])).payload.sub, "alice");
});

test("the assertion verifies with ORIGIN_SECRET and carries its claims: iss, aud, sub, sid, state, iat, exp, jti, ctx", async () => {
  const client = await loggedIn("carol", { ctx: { tenant: "acme", roles: ["admin"] } });
  await client.fetch("/x");
  const h = origin.last().headers;
  const { payload, protectedHeader } = await verifyAssertion(h["x-edge-assertion"]);
  assert.deepEqual(protectedHeader, { alg: "HS256", typ: "JWT", kid: "o1" });
  assert.equal(payload.iss, "edge-session");
  assert.equal(payload.aud, "origin");
  assert.equal(payload.sub, "carol");
  assert.equal(payload.sid, h["x-edge-session"]);
  assert.equal(payload.state, h["x-edge-session-state"]);
  assert.equal(payload.exp - payload.iat, 60);
  assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 30);
  assert.match(payload.jti, /^[A-Za-z0-9_-]{22}$/);
  assert.deepEqual(payload.ctx, { tenant: "acme", roles: ["admin"] });
  await client.fetch("/y");
  const second = await verifyAssertion(origin.last().headers["x-edge-assertion"]);
  assert.notEqual(second.payload.jti, payload.jti, "a fresh jti per request");
});

test("fast path: a valid access cookie identifies the request without calling the object", async () => {
  const client = await loggedIn("dave");
  const res = await client.fetch("/fast");
  assert.deepEqual(debugOf(res), { path: "access", writes: "0", touched: "0", outcome: "access", forged: "0", analytics: "0" }, "no ANALYTICS binding: no data point");
  assert.deepEqual(res.json(), { user: "dave", state: "fresh" });
  const refreshOnly = new Client(edge.url);
  refreshOnly.cookies.set(REFRESH_COOKIE, client.refresh);
  const slow = await refreshOnly.fetch("/slow");
  assert.equal(debugOf(slow).path, "object");
  assert.deepEqual(slow.json(), { user: "dave", state: "fresh" });
});

test("the edge's cookies are removed from what the origin receives; others are kept", async () => {
  const client = await loggedIn("erin");
  client.cookies.set("theme", "dark");
  await client.fetch("/");
  assert.equal(origin.last().headers.cookie, "theme=dark");
});

test("forged, truncated, oversized and garbage cookies: anonymous, no 5xx, no object call", async () => {
  const real = await loggedIn("frank");
  const flip = (v) => v.slice(0, -3) + (v.at(-3) === "A" ? "B" : "A") + v.slice(-2);
  const cases = [
    [REFRESH_COOKIE, flip(real.refresh)],
    [REFRESH_COOKIE, real.refresh.slice(0, 40)],
    [REFRESH_COOKIE, real.refresh + "x".repeat(300)],
    [ACCESS_COOKIE, flip(real.access)],
    [ACCESS_COOKIE, real.refresh], // a refresh value presented as access
    [REFRESH_COOKIE, real.access], // and the reverse
    [ACCESS_COOKIE, "x".repeat(5000)],
    [REFRESH_COOKIE, "r1.k9.AAAAAAAAAAAAAAAAAAAAAA.1.AAAA.AAAA", "0"], // a key we lack: not counted as forged
    [REFRESH_COOKIE, "%00%01garbage;;==\"quoted\""],
  ];
  for (const [name, value, forged = "1"] of cases) {
    origin.reset();
    const res = await fetch(edge.url + "/", { headers: { cookie: `${name}=${value}` } });
    assert.ok(res.status < 500, `${name}=${value.slice(0, 30)}… gave ${res.status}`);
    assert.equal(res.headers.get("x-edge-debug"), `path=none; writes=0; touched=0; outcome=bad_cookie; forged=${forged}; analytics=0`, `${name}=${value.slice(0, 30)}…`);
    assert.equal(res.headers.getSetCookie().length, 0, "no cookie touched");
    assert.equal(origin.last().headers["x-edge-user"], undefined);
  }
});

test("forged, expired, wrong-typ, wrong-aud, alg:none and reflected-assertion login directives are ignored", async () => {
  const victim = await loggedIn("grace");
  await victim.fetch("/");
  const reflected = origin.last().headers["x-edge-assertion"];
  const wrongKey = new TextEncoder().encode("not-the-origin-secret-not-the-origin-secret");
  const now = Math.floor(Date.now() / 1000);
  const none = (claims) => `${Buffer.from(JSON.stringify({ alg: "none", typ: "edge-login+jwt" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
  // Each answers its own request (right nonce), so what refuses it is the flaw named.
  const forged = {
    "wrong key": (req) => loginDirective(req, "mallory", {}, { key: wrongKey }),
    "expired": (req) => loginDirective(req, "mallory", {}, { iat: now - 600, exp: now - 300 }),
    "lifetime over 5 min": (req) => loginDirective(req, "mallory", {}, { exp: now + 3600 }),
    "wrong typ": (req) => directive("JWT", { sub: "mallory", nonce: nonceOf(req) }),
    "logout typ": (req) => directive("edge-logout+jwt", { sub: "mallory", nonce: nonceOf(req) }),
    "wrong aud": (req) => directive("edge-login+jwt", { sub: "mallory", aud: "origin", nonce: nonceOf(req) }),
    "alg none": (req) => none({ aud: "edge-session", sub: "mallory", iat: now, exp: now + 60, nonce: nonceOf(req) }),
    "reflected assertion": () => reflected,
  };
  for (const [what, token] of Object.entries(forged)) {
    origin.respond = async (req) => ({ headers: { "X-Edge-Login": await token(req) } });
    const res = await new Client(edge.url).fetch("/login");
    assert.equal(res.setCookies.length, 0, `${what}: no cookies`);
    assert.equal(res.headers.get("x-edge-login"), null, `${what}: directive stripped`);
  }
});

test("logout clears both cookies; later requests are anonymous, even replaying the old refresh cookie", async () => {
  const client = await loggedIn("heidi");
  const oldRefresh = client.refresh;
  origin.respond = async (req) => ({ headers: { "X-Edge-Logout": await logoutDirective(req, "session") } });
  const res = await client.fetch("/logout");
  const cleared = res.setCookies.filter((c) => c.attrs["max-age"] === "0").map((c) => c.name).sort();
  assert.deepEqual(cleared, [ACCESS_COOKIE, REFRESH_COOKIE]);
  assert.equal(client.cookies.size, 0);
  origin.reset();
  assert.deepEqual((await client.fetch("/")).json(), { user: null, state: null });
  const replay = new Client(edge.url);
  replay.cookies.set(REFRESH_COOKIE, oldRefresh);
  const after = await replay.fetch("/");
  assert.deepEqual(after.json(), { user: null, state: "ended" }, "anonymous, and the origin hears why");
  assert.equal(after.setCookies.length, 0, "an anonymous answer never deletes cookies");
});

test("a login always creates a new family and revokes the one the request presented", async () => {
  const client = await loggedIn("judy");
  const oldRefresh = client.refresh;
  const oldSession = (await client.fetch("/"), origin.last().headers["x-edge-session"]);
  originLogsIn("judy");
  await client.fetch("/login");
  origin.reset();
  await client.fetch("/");
  assert.notEqual(origin.last().headers["x-edge-session"], oldSession);
  const stale = new Client(edge.url);
  stale.cookies.set(REFRESH_COOKIE, oldRefresh);
  assert.deepEqual((await stale.fetch("/")).json(), { user: null, state: "ended" });
});

test("Set-Cookie lines from the origin pass through, one by one, beside the edge's", async () => {
  const client = new Client(edge.url);
  const appCookies = ["app=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "csrf=abc; Path=/; SameSite=Strict"];
  origin.respond = async (req) => ({ headers: { "X-Edge-Login": await loginDirective(req, "kim"), "Set-Cookie": appCookies } });
  const res = await client.fetch("/login");
  assert.deepEqual(res.setCookies.map((c) => c.name).sort(), [ACCESS_COOKIE, REFRESH_COOKIE, "app", "csrf"]);
  assert.equal(res.setCookies.find((c) => c.name === "app").attrs.expires, "Wed, 21 Oct 2037 07:28:00 GMT");
});

test("an origin redirect is passed back to the browser, not followed", async () => {
  origin.respond = async () => ({ status: 302, headers: { location: "/elsewhere" } });
  const res = await new Client(edge.url).fetch("/go");
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "/elsewhere");
  assert.equal(origin.requests.length, 1);
});

test("a POST body reaches the origin intact", async () => {
  origin.respond = async () => ({});
  const client = await loggedIn("lena");
  const body = JSON.stringify({ hello: "world", n: 42 });
  const res = await client.fetch("/submit", { method: "POST", body, headers: { "content-type": "application/json" } });
  assert.equal(res.status, 200);
  assert.equal(origin.last().method, "POST");
  assert.equal(origin.last().body, body);
  assert.deepEqual(res.json(), { user: "lena", state: "fresh" });
});

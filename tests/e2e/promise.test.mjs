// The promise, system-wide: a credential the edge refused gets nobody in anywhere, and a
// session ends when it is ended. Each test is an attack mounted with raw requests, a
// copied jar or a sibling's form, against one real worker with ON_REUSE=reject (the mode
// where a stale cookie's family lives on) and a listed sign-out origin:
//   - an anonymous request says why it is anonymous (X-Edge-Session-State), so an app's
//     own login bridge can refuse a refused jar;
//   - a refused stale cookie chooses nothing a directive ends;
//   - a logout counts only from the app itself (Fetch Metadata, Origin);
//   - remember-me sessions have an idle limit, and no access cookie outlives its family;
//   - DBSC as the spec expects a server to behave (a retried registration, a challenge
//     signed twice, a skipped refresh, a binding never taken);
//   - a user's index is deleted once its last session ended; the kill switch ends every
//     session at once.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  ACCESS_COOKIE, REFRESH_COOKIE, Client, debugOf, familyOf, loginDirective, logoutDirective, rawHttp, rawRequest,
  startEdge, startOrigin, until,
} from "../../tools/harness.mjs";
import { challengeOf, deviceKey, registrationOffer } from "../../tools/dbsc-peer.mjs";

const WINDOWS = {
  ON_REUSE: "reject", ROTATE_AFTER_SECS: "3", GRACE_SECS: "2", RECOVERY_SECS: "30", ACCESS_TTL_SECS: "5",
  IDLE_TIMEOUT_SECS: "60", SESSION_LIFETIME_SECS: "300", REMEMBER_IDLE_TIMEOUT_SECS: "120",
  DBSC_ACCESS_TTL_SECS: "10", METRICS_WINDOW_SECS: "1", LOGOUT_ORIGINS: "https://www.example.com",
};
let origin, edge;

/**
 * The origin: `/login?<sub>` (`&remember`) logs in, `/logout` and `/everywhere?<sub>`
 * log out; every answer echoes what the edge told it.
 */
async function routes(req) {
  const url = new URL(req.url, "http://origin");
  const sub = url.searchParams.get("sub");
  // Signed at the edge's clock, which the tests move ahead of the real one.
  const iat = Math.floor((Date.now() + edge.clock.ahead) / 1000);
  const at = { iat, exp: iat + 120 };
  if (url.pathname === "/login") return { headers: { "X-Edge-Login": await loginDirective(req, sub, { remember: url.searchParams.has("remember") }, at) } };
  if (url.pathname === "/logout") return { headers: { "X-Edge-Logout": await logoutDirective(req, "session", {}, at) } };
  if (url.pathname === "/everywhere") return { headers: { "X-Edge-Logout": await logoutDirective(req, "everywhere", { sub }, at) } };
  return {};
}

before(async () => {
  origin = await startOrigin();
  edge = await startEdge({ ORIGIN_URL: origin.url, ...WINDOWS });
});
after(async () => { await edge?.stop(); await origin?.close(); });
beforeEach(() => { origin.reset(); origin.respond = routes; });

async function login(sub, { remember = false } = {}) {
  const client = new Client(edge.url);
  const res = await client.fetch(`/login?sub=${encodeURIComponent(sub)}${remember ? "&remember" : ""}`);
  assert.ok(client.refresh && client.access, `${sub} logged in: ${res.status} ${res.text}`);
  return Object.assign(client, { sid: familyOf(client.refresh), loginResponse: res });
}

/** What the origin saw for a request: its user and `X-Edge-Session-State`. */
const seen = () => ({ user: origin.last().headers["x-edge-user"] ?? null, state: origin.last().headers["x-edge-session-state"] ?? null });

/** A request carrying exactly these cookies (a copied jar, or part of one). */
async function withJar(cookies, path = "/", headers = {}) {
  const cookie = Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join("; ");
  const res = await edge.fetch(path, { headers: { cookie, ...headers }, redirect: "manual" });
  await res.arrayBuffer();
  return { res, ...seen(), debug: debugOf(res) };
}

/** Moves the edge's clock forward `secs` (objects and worker alike). */
const advance = (secs) => edge.clock.advance(secs * 1000);

const userIndexDir = () => join(edge.state, "v3/do/edge-session-UserSessions");
const tablesOf = (file) => JSON.parse(execFileSync("python3", ["-c",
  "import json, sqlite3, sys; print(json.dumps([r[0] for r in sqlite3.connect(sys.argv[1]).execute(\"SELECT name FROM sqlite_master WHERE type = 'table'\")]))",
  file]).toString());
/** The user indexes that still hold a table, read from workerd's SQLite files. */
const storedIndexes = () => existsSync(userIndexDir())
  ? readdirSync(userIndexDir()).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
    .filter((f) => tablesOf(join(userIndexDir(), f)).includes("user_index"))
  : [];

// Runs first, on the real clock: the alarms it waits for fire on the real clock.
test("a user's index is deleted once its last session ended: no storage kept for a user who left", async () => {
  const before = storedIndexes().length;
  const a = await login("leaver");
  const b = await login("leaver");
  await until(() => storedIndexes().length, (n) => n === before + 1);
  assert.equal(storedIndexes().length, before + 1, "one index for the user, holding two sessions");
  await a.fetch("/logout");
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(storedIndexes().length, before + 1, "one session left: kept");
  await b.fetch("/logout");
  const left = await until(() => storedIndexes().length, (n) => n === before, 15_000);
  assert.equal(left, before, "the last session's alarm unregistered it, and the index deleted itself");
  // The user comes back: a new index, as if new.
  const again = await login("leaver");
  assert.equal((await again.fetch("/")).status, 200);
  assert.equal(seen().user, "leaver");
});

// Before any test moves the clock: SESSIONS_NOT_BEFORE is checked against the real one.
test("the kill switch (SESSIONS_NOT_BEFORE) ends every session at once, access cookies too; logins go on", async () => {
  const old = await login("kim");
  const remembered = await login("kim", { remember: true });
  await edge.stop({ keepState: true });
  const cut = Math.floor(Date.now() / 1000) + 1;
  await new Promise((r) => setTimeout(r, 1100));
  edge = await startEdge({ ORIGIN_URL: origin.url, ...WINDOWS, SESSIONS_NOT_BEFORE: String(cut) }, { restartOf: edge });
  for (const [what, jar] of [
    ["a live access cookie", { [ACCESS_COOKIE]: old.access }],
    ["the whole jar", { [ACCESS_COOKIE]: old.access, [REFRESH_COOKIE]: old.refresh }],
    ["a remember-me refresh cookie", { [REFRESH_COOKIE]: remembered.refresh }],
  ]) {
    const res = await withJar(jar);
    assert.equal(res.user, null, `${what}: anonymous`);
    assert.ok(["ended", "expired"].includes(res.state), `${what}: ${res.state}`);
  }
  assert.equal((await withJar({ [REFRESH_COOKIE]: old.refresh })).state, "ended");
  const fresh = await login("kim");
  await fresh.fetch("/");
  assert.equal(seen().user, "kim", "a login after the switch works");
});

test("an anonymous request says why: X-Edge-Session-State names the refusal; no edge cookie, no header", async () => {
  // Never signed in: no header, and a client cannot plant one.
  assert.equal((await withJar({}, "/", { "X-Edge-Session-State": "fresh" })).state, null);
  // A forged cookie (and a spoofed header beside it).
  const forged = await withJar({ [REFRESH_COOKIE]: `r1.k1.${"A".repeat(22)}.1.${"A".repeat(43)}.${"A".repeat(43)}` }, "/", { "x-edge-session_state": "fresh" });
  assert.deepEqual([forged.user, forged.state], [null, "invalid"]);
  // Signed in, then logged out: the old refresh cookie is `ended`.
  const out = await login("ann");
  const jar = { [REFRESH_COOKIE]: out.refresh };
  await out.fetch("/logout");
  const ended = await withJar(jar);
  assert.deepEqual([ended.user, ended.state], [null, "ended"]);
  // Identified requests keep their states.
  const bea = await login("bea");
  await bea.fetch("/");
  assert.deepEqual(seen(), { user: "bea", state: "fresh" });
  // An access cookie alone past its life: `expired`; the whole family idle: `expired`.
  const access = { [ACCESS_COOKIE]: bea.access };
  advance(6);
  const expired = await withJar(access);
  assert.deepEqual([expired.user, expired.state], [null, "expired"]);
  advance(61);
  const idle = await withJar({ [REFRESH_COOKIE]: bea.refresh });
  assert.deepEqual([idle.user, idle.state], [null, "expired"]);
});

test("a stale refresh cookie under ON_REUSE=reject is `reused`, and chooses nothing a logout or login ends", async () => {
  const owner = await login("owen");
  const stale = owner.refresh;
  advance(4);
  owner.cookies.delete(ACCESS_COOKIE);
  await owner.fetch("/");
  assert.equal(seen().state, "rotated");
  owner.cookies.delete(ACCESS_COOKIE);
  await owner.fetch("/"); // the new generation is in use: no recovery for the old one
  advance(3); // past grace: the old value is a copy in the wrong hands
  const thief = { [REFRESH_COOKIE]: stale };
  const reused = await withJar(thief);
  assert.deepEqual([reused.user, reused.state], [null, "reused"]);
  // The thief's /logout is anonymous, so the origin's logout handler answers it with a
  // logout directive. It must not end the family the stale cookie names.
  const loggedOut = await withJar(thief, "/logout");
  assert.equal(loggedOut.res.status, 200);
  const loggedIn = await withJar(thief, "/login?sub=mallory");
  assert.ok(loggedIn.res.headers.getSetCookie().some((l) => l.startsWith(REFRESH_COOKIE)), "the thief got a session of its own");
  assert.ok(await stillSignedIn(owner, "owen"), "the owner is still signed in");
});

/** The edge's clock for a raw request (tests move it ahead of the real one). */
const clockLine = () => `x-edge-debug-clock: ${edge.clock.ahead}`;

/** What Chromium sends for a click on a link in a sibling's page. */
const CLICK = ["Sec-Fetch-Site: same-site", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document", "Sec-Fetch-User: ?1"];

/** A logout of `client`'s session sent as raw bytes with these extra header lines. */
async function rawLogout(client, head, path = "/logout", method = "POST") {
  const cookie = `Cookie: ${client.cookieHeader()}`;
  const res = await rawRequest(edge.port, rawHttp(method, path, [cookie, clockLine(), ...head], method === "POST" ? "x=1" : ""));
  return { status: res.status, deletes: res.setCookies.filter((c) => c.attrs["max-age"] === "0").map((c) => c.name).sort() };
}

/** Whether `client`'s session still identifies it at its object (its access cookie set
 * aside); the client keeps what it is handed, as a browser would. */
async function stillSignedIn(client, sub) {
  client.cookies.delete(ACCESS_COOKIE);
  await client.fetch("/");
  return seen().user === sub;
}

test("logout CSRF from a sibling subdomain's form or a cross-site navigation ends nothing; the app's own logout does", async () => {
  const victim = await login("vic");
  const attacks = [
    ["a sibling's form", ["Sec-Fetch-Site: same-site", "Sec-Fetch-Mode: navigate", "Origin: https://evil.example.com"], "POST"],
    ["a cross-site navigation", ["Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document"], "GET"],
    ["an old browser's cross-origin form", ["Origin: https://evil.example.com"], "POST"],
    ["an opaque origin", ["Sec-Fetch-Site: cross-site", "Origin: null"], "POST"],
    ["a link whose page withholds its Referer", CLICK, "GET"],
    ["an image in a post on the listed origin", ["Sec-Fetch-Site: same-site", "Sec-Fetch-Mode: no-cors", "Sec-Fetch-Dest: image", "Referer: https://www.example.com/forum"], "GET"],
    ["a link on the listed origin redirected through another site", ["Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document", "Sec-Fetch-User: ?1", "Referer: https://www.example.com/"], "GET"],
    ["a sibling claiming the listed origin as its Referer beside its own Origin", ["Sec-Fetch-Site: same-site", "Origin: https://evil.example.com", "Referer: https://www.example.com/"], "POST"],
  ];
  for (const [what, head, method] of attacks) {
    const answer = await rawLogout(victim, head, "/logout", method);
    assert.equal(answer.status, 200, `${what}: the origin's page still answers`);
    assert.deepEqual(answer.deletes, [], `${what}: no cookie cleared`);
    assert.ok(await stillSignedIn(victim, "vic"), `${what}: the session did not end`);
  }
  const rejected = await edge.waitEvent((e) => e.edge_session === "directive_rejected" && e.origin === "https://evil.example.com");
  assert.deepEqual([rejected.reason, rejected.sec_fetch_site], ["cross_site", "same-site"]);
  // "Log out everywhere" from a sibling: the other device survives too.
  const phone = await login("vic");
  assert.deepEqual((await rawLogout(victim, ["Sec-Fetch-Site: same-site", "Origin: https://evil.example.com"], "/everywhere?sub=vic")).deletes, []);
  assert.ok(await stillSignedIn(phone, "vic"), "every session survived");

  // The app's own logout (same-origin), a listed sign-out origin, a non-browser client.
  for (const [what, head, method = "POST"] of [
    ["same-origin", ["Sec-Fetch-Site: same-origin", `Origin: ${edge.url}`]],
    ["the listed www origin's form", ["Sec-Fetch-Site: same-site", "Origin: https://www.example.com"]],
    ["a click on the listed www origin's link (a GET: no Origin, its Referer)", [...CLICK, "Referer: https://www.example.com/account"], "GET"],
    ["typed in the address bar", ["Sec-Fetch-Site: none"]],
    ["a non-browser client", []],
  ]) {
    const client = await login("vic");
    assert.deepEqual((await rawLogout(client, head, "/logout", method)).deletes, [ACCESS_COOKIE, REFRESH_COOKIE], `${what}: cleared`);
    assert.ok(!(await stillSignedIn(client, "vic")), `${what}: ended`);
  }
});

test("a login still counts cross-site: an identity provider calls back with a cross-site navigation", async () => {
  const res = await rawRequest(edge.port, rawHttp("GET", "/login?sub=idp-user", [clockLine(), "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate"]));
  assert.equal(res.status, 200);
  const refresh = res.setCookies.find((c) => c.name === REFRESH_COOKIE);
  assert.ok(refresh, "logged in");
  assert.equal((await withJar({ [REFRESH_COOKIE]: refresh.value })).user, "idp-user");
});

test("remember me: unused for REMEMBER_IDLE_TIMEOUT_SECS the session is over; in use it lives on", async () => {
  const kept = await login("rem", { remember: true });
  const idle = await login("rem", { remember: true });
  for (let i = 0; i < 3; i++) {
    advance(50);
    kept.cookies.delete(ACCESS_COOKIE);
    await kept.fetch("/");
    assert.equal(seen().user, "rem", `in use every 50 s: still signed in (${i})`);
  }
  const late = await withJar({ [REFRESH_COOKIE]: idle.refresh });
  assert.deepEqual([late.user, late.state], [null, "expired"], "150 s unused, 120 s allowed");
});

test("no access cookie outlives its family: Max-Age and the credential end with the family's lifetime", async () => {
  const client = await login("capped");
  // In use every 50 s (idle limit 60 s) up to 3 s before its 300 s lifetime.
  for (let at = 50; at <= 250; at += 50) {
    advance(50);
    assert.ok(await stillSignedIn(client, "capped"), `at ${at} s`);
  }
  advance(47);
  client.cookies.delete(ACCESS_COOKIE);
  const res = await client.fetch("/");
  assert.equal(seen().user, "capped");
  const access = res.setCookies.find((c) => c.name === ACCESS_COOKIE);
  const left = Number(access?.attrs["max-age"]);
  assert.ok(left >= 1 && left <= 4, `Max-Age is what is left of the family, not ACCESS_TTL_SECS' 5: ${left}`);
  edge.clock.advance(left * 1000 + 500);
  const after = await withJar({ [ACCESS_COOKIE]: access.value });
  assert.deepEqual([after.user, after.state], [null, "expired"], "the credential ends with its family");
});

test("DBSC: a registration sent twice is answered twice; a challenge signed twice within grace too; never a second key", async () => {
  const client = await login("dee");
  const offer = registrationOffer(client.loginResponse.headers);
  assert.ok(offer, "the login offered binding");
  const device = await deviceKey();
  const proof = await device.sign(offer.challenge, { withJwk: true });
  const register = () => client.fetch(offer.path, { method: "POST", headers: { "Secure-Session-Response": proof } });
  const first = await register();
  assert.equal(first.status, 200, first.text);
  // The answer was lost; the browser sends the same registration again.
  const retried = await register();
  assert.equal(retried.status, 200, `answered again, not refused: ${retried.text}`);
  assert.equal(retried.json().session_identifier, client.sid);
  const thief = await deviceKey();
  const other = await client.fetch(offer.path, { method: "POST", headers: { "Secure-Session-Response": await thief.sign(offer.challenge, { withJwk: true }) } });
  assert.equal(other.status, 409, "a second key never binds");

  // Refresh: the challenge the last answer handed out, signed; then the same proof again
  // (refreshes racing): answered; past GRACE_SECS: a fresh challenge instead.
  const next = challengeOf(retried.headers);
  const refresh = async (jti) => client.fetch("/__edge/dbsc/refresh", {
    method: "POST", headers: { "Sec-Secure-Session-Id": client.sid, "Secure-Session-Response": await device.sign(jti) },
  });
  const proofOf = await device.sign(next.challenge);
  const send = () => client.fetch("/__edge/dbsc/refresh", { method: "POST", headers: { "Sec-Secure-Session-Id": client.sid, "Secure-Session-Response": proofOf } });
  assert.equal((await send()).status, 200);
  assert.equal((await send()).status, 200, "the same proof racing it");
  advance(3);
  const stale = await send();
  assert.equal(stale.status, 403, "past grace: sign a fresh one");
  assert.equal((await refresh(challengeOf(stale.headers).challenge)).status, 200);
});

test("DBSC: a skipped refresh is counted as dbsc_skipped, not as a copied jar; a binding never taken is counted once", async () => {
  const bound = await login("skip");
  const offer = registrationOffer(bound.loginResponse.headers);
  const device = await deviceKey();
  const reg = await bound.fetch(offer.path, { method: "POST", headers: { "Secure-Session-Response": await device.sign(offer.challenge, { withJwk: true }) } });
  assert.equal(reg.status, 200);
  const alone = { [REFRESH_COOKIE]: bound.refresh };
  const skipped = await withJar(alone, "/", { "Secure-Session-Skipped": `server_error;session_identifier="${bound.sid}"` });
  assert.deepEqual([skipped.user, skipped.state, skipped.debug.outcome], [null, "device_bound", "dbsc_skipped"]);
  const event = await edge.waitEvent((e) => e.edge_session === "dbsc_refresh_skipped" && e.family === bound.sid);
  assert.equal(event?.reason, "server_error");
  // Without the header (or naming another session) it is the copied-jar alarm.
  const other = await withJar(alone, "/", { "Secure-Session-Skipped": `server_error;session_identifier="${"B".repeat(22)}"` });
  assert.equal(other.debug.outcome, "device_bound");
  assert.ok(await edge.waitEvent((e) => e.edge_session === "dbsc_unbound_refresh_refused" && e.family === bound.sid));

  // A browser that ignores the offer: reported once, when it first comes back unbound.
  const plain = await login("plain");
  advance(6);
  plain.cookies.delete(ACCESS_COOKIE);
  await plain.fetch("/");
  await plain.fetch("/");
  assert.equal(seen().user, "plain");
  const reports = () => edge.events().filter((e) => e.edge_session === "dbsc_not_registered" && e.family === plain.sid);
  await until(() => reports().length, (n) => n > 0);
  assert.equal(reports().length, 1);
  // And counted in the per-window outcome line (METRICS_WINDOW_SECS=1).
  await new Promise((r) => setTimeout(r, 1100));
  await withJar({});
  const windows = await until(() => edge.events().filter((e) => e.edge_session === "request_outcomes" && e.dbsc_not_registered), (w) => w.length > 0);
  assert.ok(windows.length > 0, "a window counted it");
  assert.ok(edge.events().some((e) => e.edge_session === "request_outcomes" && e.dbsc_skipped), "and the skip");
  assert.ok(!edge.events().some((e) => e.edge_session === "dbsc_not_registered" && e.family === bound.sid), "a bound family never is");
});

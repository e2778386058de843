// Device-bound sessions (DBSC) end to end in headless Chromium with software keys: the
// login offers registration and Chromium binds the session; the bound access cookie is
// refreshed by proofs, proactively and when it is gone, across several lifetimes and
// several tabs; a copy of the cookie jar in a plain HTTP client is anonymous once its
// access cookie expires and cannot disturb the owner; a Chromium without the DBSC
// features keeps the rotation rules exactly as before.
//
// Bound cookies live DBSC_ACCESS_TTL_SECS=8 here (300 in production) and Chromium's
// proactive refresh starts 3 s before expiry (120 s in production), so a lifetime is 8 s.
// Chromium's per-site signing quota (6 per 9 min) is lifted: it would stop a test that
// lives through many lifetimes in a minute, not a user.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";
import {
  ACCESS_COOKIE, REFRESH_COOKIE, Client, directive, loginLogoutRoutes, rawHttp, rawRequest, sleep, startEdge,
  startOrigin,
} from "../../tools/harness.mjs";

const TTL_SECS = 8;
const GRACE_SECS = 2;
const WINDOWS = { DBSC_ACCESS_TTL_SECS: String(TTL_SECS), GRACE_SECS: String(GRACE_SECS), ACCESS_TTL_SECS: "3",
  ROTATE_AFTER_SECS: "5", RECOVERY_SECS: "60" };
const BASE_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];
const DBSC_FEATURES = "DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting";
const THRESHOLD_SECS = 3;
const PROACTIVE = `DeviceBoundSessionProactiveRefresh:Threshold/${THRESHOLD_SECS}s`;

let origin, edge;
const browsers = [];
before(async () => {
  origin = await startOrigin();
  origin.respond = async (req) => (await loginLogoutRoutes(req)) ?? {};
  edge = await startEdge({ ORIGIN_URL: origin.url, ...WINDOWS });
});
after(async () => {
  for (const b of browsers) await b.close();
  await edge?.stop();
  await origin?.close();
});

/**
 * A Chromium profile: `dbsc` features on or off, proactive refresh on or off, and
 * Chromium's own signing quota lifted (the default) or kept.
 */
async function launch({ dbsc = true, proactive = true, quota = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "edge-dbsc-"));
  const args = [...BASE_ARGS];
  if (dbsc) {
    const features = quota ? DBSC_FEATURES.replace("DeviceBoundSessions:RefreshQuota/false", "DeviceBoundSessions") : DBSC_FEATURES;
    args.push(`--enable-features=${features}${proactive ? `,${PROACTIVE}` : ""}`);
    if (!proactive) args.push("--disable-features=DeviceBoundSessionProactiveRefresh");
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true, args, baseURL: edge.url,
  });
  const close = async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); };
  browsers.push({ close });
  const page = context.pages()[0] ?? await context.newPage();
  return { context, page };
}

/** Logs `sub` in through a page navigation; returns the family id (`sid`). */
async function login(page, sub) {
  await page.goto(`/login?${sub}`);
  const who = await whoami(page);
  assert.equal(who.user, sub, "logged in");
  return (await page.context().cookies(edge.url)).find((c) => c.name === REFRESH_COOKIE).value.split(".")[2];
}

/** What the origin saw for one fetch from the page. */
async function whoami(page) {
  return page.evaluate(async () => (await fetch("/whoami", { cache: "no-store" })).json());
}

const events = (name, family) => edge.events().filter((e) => e.edge_session === name && (!family || e.family === family));

const adminList = async (sub) => {
  const token = await directive("edge-admin+jwt", { sub, act: "list", jti: randomBytes(12).toString("base64url") },
    { exp: Math.floor(Date.now() / 1000) + 60 });
  const res = await fetch(`${edge.url}/__edge/admin`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  return (await res.json()).sessions;
};

async function until(what, probe, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

let owner; // { context, page, sid }
let thief; // a plain HTTP client holding a copy of the owner's cookie jar

test("Chromium registers at login: the family is bound, and 'your devices' says so", async () => {
  owner = await launch();
  owner.sid = await login(owner.page, "alice");
  await until("dbsc_registered", () => events("dbsc_registered", owner.sid).length > 0);
  const access = (await owner.context.cookies(edge.url)).find((c) => c.name === ACCESS_COOKIE);
  assert.ok(access, "the bound access cookie is in the jar");
  const lifetime = access.expires - Date.now() / 1000;
  assert.ok(lifetime > TTL_SECS - 3 && lifetime <= TTL_SECS + 1, `the bound cookie lives DBSC_ACCESS_TTL_SECS: ${lifetime}`);
  const listed = await until("device_bound in the index", async () => (await adminList("alice")).find((s) => s.sid === owner.sid && s.device_bound));
  assert.equal(listed.device_bound, true);
});

/**
 * Fetches /whoami from every page, `perTab` at once, every `everyMs`, for `ms`: every
 * answer the origin gave, as { user, state }.
 */
async function browse(pages, { ms, everyMs = 500, perTab = 1 }) {
  const seen = [];
  const until = Date.now() + ms;
  await Promise.all(pages.map(async (page) => {
    while (Date.now() < until) {
      const burst = await page.evaluate(async (n) => Promise.all(Array.from({ length: n }, async () => {
        const res = await fetch("/whoami", { cache: "no-store" });
        return res.json();
      })), perTab);
      seen.push(...burst);
      await sleep(everyMs);
    }
  }));
  return seen;
}

/**
 * Object calls for refreshes of `sid` so far: each proof costs one (a `403` challenge
 * costs none: the worker answers it alone).
 */
const refreshCalls = (sid) => events("dbsc_refreshed", sid).length + events("dbsc_refresh_failed", sid).length;
/** Refresh POSTs the edge answered with `status` so far, from wrangler's request log. */
const refreshAnswers = (status) =>
  edge.logs.join("").split("\n").filter((l) => l.includes(`POST /__edge/dbsc/refresh ${status}`)).length;
/** A refresh starts THRESHOLD before expiry, so a busy tab refreshes every TTL − THRESHOLD. */
const REFRESH_EVERY_SECS = TTL_SECS - THRESHOLD_SECS;

test("proactive refresh keeps the session across 3 bound-cookie lifetimes, one refresh per cookie", { timeout: 90_000 }, async () => {
  assert.ok(owner?.sid, "registered");
  // Malware copies the jar now; the copy is tried again once it has expired (below).
  thief = new Client(edge.url);
  for (const c of await owner.context.cookies(edge.url)) thief.cookies.set(c.name, c.value);
  assert.ok(thief.refresh && thief.access, "the copy holds both cookies");
  assert.equal((await thief.fetch("/whoami")).json().user, "alice", "within the access cookie's life the copy works");
  thief.expiresAt = Date.now() + (TTL_SECS + GRACE_SECS) * 1000;
  const before = refreshCalls(owner.sid);
  const [ok, challenged] = [refreshAnswers(200), refreshAnswers(403)];
  const seconds = 3 * TTL_SECS;
  const seen = await browse([owner.page], { ms: seconds * 1000 });
  const lost = seen.filter((w) => w.user !== "alice");
  assert.deepEqual(lost, [], "every request was alice");
  const calls = refreshCalls(owner.sid) - before;
  const expected = seconds / REFRESH_EVERY_SECS;
  const [oks, challenges] = [refreshAnswers(200) - ok, refreshAnswers(403) - challenged];
  console.log(`# proactive: ${seen.length} requests, ${calls} refresh object calls in ${seconds} s (${expected.toFixed(1)} expected); refresh answers: ${oks} × 200, ${challenges} × 403`);
  assert.ok(oks > 0, "wrangler's request log shows the refreshes");
  assert.ok(challenges <= oks, `at most one challenge round trip per refresh: ${challenges} × 403`);
  assert.ok(calls >= expected - 2 && calls <= expected + 1, `one refresh per cookie, not per request: ${calls}`);
  assert.deepEqual(events("dbsc_unbound_refresh_refused", owner.sid), [], "the owner never sent its refresh cookie alone");
  assert.deepEqual(events("dbsc_refresh_failed", owner.sid), []);
});

test("three tabs at once, across 2 lifetimes: every request is the user, still one refresh per lifetime", { timeout: 90_000 }, async () => {
  assert.ok(owner?.sid, "registered");
  const tabs = [owner.page, await owner.context.newPage(), await owner.context.newPage()];
  await Promise.all(tabs.slice(1).map((t) => t.goto("/whoami")));
  const before = refreshCalls(owner.sid);
  const seconds = 2 * TTL_SECS;
  const seen = await browse(tabs, { ms: seconds * 1000, everyMs: 200, perTab: 8 });
  assert.deepEqual(seen.filter((w) => w.user !== "alice"), [], "every request was alice");
  const calls = refreshCalls(owner.sid) - before;
  const expected = seconds / REFRESH_EVERY_SECS;
  console.log(`# three tabs: ${seen.length} requests, ${calls} refresh object calls in ${seconds} s (${expected.toFixed(1)} expected)`);
  assert.ok(calls >= expected - 2 && calls <= expected + 1, `one refresh per cookie, not per tab or request: ${calls}`);
  assert.deepEqual(events("dbsc_unbound_refresh_refused", owner.sid), []);
  for (const t of tabs.slice(1)) await t.close();
});

test("proactive refresh off: requests wait while the browser refreshes a missing cookie, none is anonymous", { timeout: 90_000 }, async () => {
  const bob = await launch({ proactive: false });
  bob.sid = await login(bob.page, "bob");
  await until("bob bound", () => events("dbsc_registered", bob.sid).length > 0);
  // Idle past the cookie's life, twice, so each next request finds it gone.
  const seen = [];
  for (let i = 0; i < 2; i++) {
    await sleep((TTL_SECS + 1) * 1000);
    const gone = !(await bob.context.cookies(edge.url)).some((c) => c.name === ACCESS_COOKIE);
    assert.ok(gone, "the bound cookie expired in the browser");
    seen.push(...await browse([bob.page], { ms: 2000, everyMs: 200, perTab: 4 }));
  }
  assert.deepEqual(seen.filter((w) => w.user !== "bob"), [], "every request was bob");
  assert.ok(events("dbsc_refreshed", bob.sid).length >= 2, "refreshed after each expiry");
  assert.deepEqual(events("dbsc_unbound_refresh_refused", bob.sid), [], "held, not sent without the cookie");
});

/** A P-256 key of the thief's own (WebCrypto), signing proofs as DBSC does. */
async function thiefKey() {
  const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", publicKey);
  const b64 = (x) => Buffer.from(typeof x === "string" ? x : new Uint8Array(x)).toString("base64url");
  return async (jti, withJwk) => {
    const header = b64(JSON.stringify({ alg: "ES256", typ: "dbsc+jwt", ...(withJwk ? { jwk: { kty, crv, x, y } } : {}) }));
    const input = `${header}.${b64(JSON.stringify({ jti }))}`;
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, new TextEncoder().encode(input));
    return `${input}.${b64(signature)}`;
  };
}

test("a copied cookie jar is anonymous once its access cookie expires, and cannot disturb the owner", { timeout: 90_000 }, async () => {
  assert.ok(owner?.sid && thief, "registered, and the jar copied");
  await sleep(Math.max(0, thief.expiresAt + 1000 - Date.now()));
  const after = await thief.fetch("/whoami");
  assert.equal(after.json().user, null, "anonymous with the refresh cookie alone");
  assert.match(after.headers.get("x-edge-debug"), /outcome=device_bound/);
  await until("dbsc_unbound_refresh_refused", () => events("dbsc_unbound_refresh_refused", owner.sid).length > 0);

  // The thief cannot get a refresh: it is challenged, and its own key's proof is refused.
  const sign = await thiefKey();
  const post = (path, headers) => thief.fetch(path, { method: "POST", headers });
  const challenged = await post("/__edge/dbsc/refresh", { "Sec-Secure-Session-Id": owner.sid });
  assert.equal(challenged.status, 403);
  const challenge = /^"([^"]+)";id="([^"]+)"$/.exec(challenged.headers.get("secure-session-challenge"));
  assert.equal(challenge?.[2], owner.sid);
  const forged = await post("/__edge/dbsc/refresh", { "Sec-Secure-Session-Id": owner.sid, "Secure-Session-Response": await sign(challenge[1]) });
  assert.equal(forged.status, 400, "a proof by another key");
  assert.equal(forged.setCookies.length, 0);
  // Nor bind the family to its own key with that challenge.
  const rebind = await post("/__edge/dbsc/register", { "Secure-Session-Response": await sign(challenge[1], true) });
  assert.equal(rebind.status, 400, "a refresh challenge does not register");
  // Logging out or in with the copied jar ends nobody's session but the thief's own.
  origin.reset();
  origin.respond = async (req) => (await loginLogoutRoutes(req)) ?? {};
  assert.equal((await thief.fetch("/logout")).status, 200);
  await thief.fetch("/login?mallory");
  assert.equal((await thief.fetch("/whoami")).json().user, "mallory");

  const who = await whoami(owner.page);
  assert.equal(who.user, "alice", "the owner is still signed in");
  const listed = await adminList("alice");
  assert.ok(listed.some((s) => s.sid === owner.sid && s.device_bound), "and still listed, bound");
  assert.equal(events("reuse_detected", owner.sid).length, 0, "nothing read as theft that would revoke the owner");
});

test("logout ends a bound session in the browser too, and the next login binds a new one", { timeout: 60_000 }, async () => {
  assert.ok(owner?.sid, "registered");
  const refused = () => events("dbsc_refresh_failed").filter((e) => e.reason === "no_session").length;
  const refusedBefore = refused();
  const logout = await owner.page.evaluate(async () => (await fetch("/logout", { cache: "no-store" })).status);
  assert.equal(logout, 200);
  // The bound cookie is gone, so Chromium refreshes first: the edge answers 401 (the
  // logout deleted every edge cookie, so nothing names the session), Chromium ends its
  // DBSC session, and the request goes on anonymous.
  assert.equal((await whoami(owner.page)).user, null, "signed out, not stuck behind a refresh");
  await until("the refresh refused with 401", () => refused() > refusedBefore);
  const again = await login(owner.page, "alice");
  assert.notEqual(again, owner.sid, "a login starts a new family");
  await until("the new family bound", () => events("dbsc_registered", again).length > 0);
  assert.equal((await whoami(owner.page)).user, "alice");
});

test("a Chromium without the DBSC features keeps the rotation rules exactly as before", { timeout: 60_000 }, async () => {
  const plain = await launch({ dbsc: false });
  plain.sid = await login(plain.page, "carol");
  const seen = await browse([plain.page], { ms: 9_000, everyMs: 400, perTab: 3 });
  assert.deepEqual(seen.filter((w) => w.user !== "carol"), [], "every request was carol");
  const states = new Set(seen.map((w) => w.state));
  assert.ok(states.has("rotated"), `rotations happened: ${[...states]}`);
  for (const name of ["dbsc_registered", "dbsc_registration_failed", "dbsc_refreshed", "dbsc_refresh_failed"]) {
    assert.deepEqual(events(name, plain.sid), [], `no ${name}: it never spoke DBSC`);
  }
  const listed = (await adminList("carol")).find((s) => s.sid === plain.sid);
  assert.equal(listed.device_bound, false);
  // Offered binding at login, never bound: reported once (a downgrade would show as a
  // rise of these among browsers that do bind); a bound family never is.
  await until("dbsc_not_registered", () => events("dbsc_not_registered", plain.sid).length > 0);
  assert.equal(events("dbsc_not_registered", plain.sid).length, 1, "once per family, not per request");
  assert.deepEqual(events("dbsc_not_registered", owner.sid), []);
});

test("Chromium out of its signing quota says so (Secure-Session-Skipped): counted as dbsc_skipped, never the copied-jar alarm", { timeout: 120_000 }, async () => {
  // Chromium's quota (6 signings per site in 9 minutes, registration included) lets it
  // refresh five times; after that it sends requests without the bound cookie, naming
  // the session in Secure-Session-Skipped. Such a request is anonymous all the same.
  const erin = await launch({ quota: true });
  erin.sid = await login(erin.page, "erin");
  await until("erin bound", () => events("dbsc_registered", erin.sid).length > 0);
  const skipped = await until("a skipped refresh", async () => {
    await browse([erin.page], { ms: 1000 });
    return events("dbsc_refresh_skipped", erin.sid)[0];
  }, 90_000);
  assert.equal(skipped.reason, "quota_exceeded");
  const header = origin.requests.map((r) => r.headers["secure-session-skipped"]).find(Boolean);
  assert.equal(header, `quota_exceeded;session_identifier="${erin.sid}"`, "as Chromium wrote it");
  assert.deepEqual(events("dbsc_unbound_refresh_refused", erin.sid), [], "the owner's skips are not a copied jar");
  assert.ok(events("dbsc_refreshed", erin.sid).length >= 4, "it refreshed until its quota ran out");
});

test("hostile bytes at the DBSC endpoints: a clear 4xx, never a 5xx, no cookie set, and no object woken", async () => {
  const dave = new Client(edge.url);
  await dave.fetch("/login?dave");
  const sid = dave.refresh.split(".")[2];
  const cookie = `Cookie: ${REFRESH_COOKIE}=${dave.refresh}`;
  const forged = `Cookie: ${REFRESH_COOKIE}=r1.k1.${sid}.1.${"A".repeat(43)}.${"A".repeat(43)}`;
  const proofShaped = (jti) => `${Buffer.from('{"alg":"ES256","typ":"dbsc+jwt"}').toString("base64url")}.${Buffer.from(JSON.stringify({ jti })).toString("base64url")}.${"A".repeat(86)}`;
  const cases = [
    ["refresh, no cookie", "POST", "/__edge/dbsc/refresh", [`Sec-Secure-Session-Id: ${sid}`], 401],
    ["refresh, forged cookie", "POST", "/__edge/dbsc/refresh", [forged, `Sec-Secure-Session-Id: ${sid}`], 401],
    ["refresh, another session's id", "POST", "/__edge/dbsc/refresh", [cookie, `Sec-Secure-Session-Id: ${"B".repeat(22)}`], 401],
    ["refresh, id with raw high bytes", "POST", "/__edge/dbsc/refresh", [cookie, Buffer.from([...Buffer.from("Sec-Secure-Session-Id: "), 0xff, 0xfe, 0xa0])], 401],
    ["refresh, proof of raw high bytes", "POST", "/__edge/dbsc/refresh", [cookie, `Sec-Secure-Session-Id: ${sid}`, Buffer.from([...Buffer.from("Secure-Session-Response: "), 0xff, 0x2e, 0xff, 0x2e, 0xff])], 400],
    ["refresh, 20 KB proof", "POST", "/__edge/dbsc/refresh", [cookie, `Sec-Secure-Session-Id: ${sid}`, `Secure-Session-Response: ${"A.".repeat(10_000)}A`], 400],
    ["refresh, alg none", "POST", "/__edge/dbsc/refresh", [cookie, `Sec-Secure-Session-Id: ${sid}`, `Secure-Session-Response: ${Buffer.from('{"alg":"none","typ":"dbsc+jwt"}').toString("base64url")}.e30.`], 400],
    ["refresh, a made-up challenge", "POST", "/__edge/dbsc/refresh", [cookie, `Sec-Secure-Session-Id: ${sid}`, `Secure-Session-Response: ${proofShaped("c1.k1.1.AAAA.AAAA")}`], 403],
    ["register, no cookie", "POST", "/__edge/dbsc/register", [`Secure-Session-Response: ${proofShaped("x")}`], 401],
    ["register, no proof", "POST", "/__edge/dbsc/register", [cookie], 400],
    ["register, no jwk", "POST", "/__edge/dbsc/register", [cookie, `Secure-Session-Response: ${proofShaped("x")}`], 400],
    ["GET", "GET", "/__edge/dbsc/refresh", [cookie], 405],
  ];
  for (const [what, method, path, head, status] of cases) {
    const res = await rawRequest(edge.port, rawHttp(method, path, head));
    assert.equal(res.status, status, `${what}: ${res.body}`);
    assert.equal(res.setCookies.length, 0, `${what}: no cookie set`);
    if (status !== 405) {
      assert.equal(res.headers["cache-control"], "private, no-store", what);
      assert.doesNotMatch(res.headers["x-edge-debug"] ?? "", /object/, `${what}: no object asked (${res.headers["x-edge-debug"]})`);
    }
  }
  assert.equal((await dave.fetch("/whoami")).json().user, "dave", "dave's session is untouched");
});

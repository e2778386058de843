// Device-bound sessions (DBSC) end to end in headless Chromium with software keys: the
// login offers registration and Chromium binds the session; the bound access cookie is
// refreshed by proofs, proactively and when it is gone, across several lifetimes and
// several tabs; a copy of the cookie jar in a plain HTTP client is anonymous once its
// access cookie expires and cannot disturb the owner; a Chromium without the DBSC
// features keeps the rotation rules exactly as before.
//
// Bound cookies live DBSC_ACCESS_TTL_SECS=10 here (300 in production) and Chromium's
// proactive refresh starts 4 s before expiry (120 s in production), so a lifetime is 10 s.
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
  ACCESS_COOKIE, REFRESH_COOKIE, Client, directive, loginLogoutRoutes, sleep, startEdge, startOrigin,
} from "../../tools/harness.mjs";

const TTL_SECS = 10;
const GRACE_SECS = 2;
const WINDOWS = { DBSC_ACCESS_TTL_SECS: String(TTL_SECS), GRACE_SECS: String(GRACE_SECS), ACCESS_TTL_SECS: "3",
  ROTATE_AFTER_SECS: "5", RECOVERY_SECS: "60" };
const BASE_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];
const DBSC_FEATURES = "DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting";
const PROACTIVE = "DeviceBoundSessionProactiveRefresh:Threshold/4s";

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

/** A Chromium profile: `dbsc` features on or off, proactive refresh on or off. */
async function launch({ dbsc = true, proactive = true } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "edge-dbsc-"));
  const args = [...BASE_ARGS];
  if (dbsc) {
    args.push(`--enable-features=${DBSC_FEATURES}${proactive ? `,${PROACTIVE}` : ""}`);
    if (!proactive) args.push("--disable-features=DeviceBoundSessionProactiveRefresh");
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true, args, baseURL: edge.url,
  });
  // Every DBSC request the browser makes, by path.
  const dbscRequests = [];
  context.on("request", (r) => { const p = new URL(r.url()).pathname; if (p.startsWith("/__edge/dbsc/")) dbscRequests.push({ path: p, at: Date.now() }); });
  const close = async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); };
  browsers.push({ close });
  const page = context.pages()[0] ?? await context.newPage();
  return { context, page, dbscRequests };
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

let owner; // { context, page, dbscRequests, sid }

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

// The worker calls its objects by RPC (src/shell/objects/rpc.rs), which workerd allows
// only on a class declared `extends DurableObject` (src/shell/entry.js). During a deploy
// a worker may reach an object of a release before RPC: build/glue.js exports the objects
// exactly as such a release did (the Rust classes alone, answering `fetch`). Every
// command must still be answered, and the session carry on once the objects take RPC.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOrigin, startEdge, Client, loginLogoutRoutes, debugOf, directive } from "../../tools/harness.mjs";

const VARS = { ACCESS_TTL_SECS: "0" }; // every request goes through the family's object
let origin, edge;
after(async () => { await edge?.stop(); await origin?.close(); });

async function admin(claims) {
  const now = Math.floor(Date.now() / 1000);
  const token = await directive("edge-admin+jwt", { jti: randomBytes(12).toString("base64url"), ...claims }, { exp: now + 60 });
  const res = await fetch(`${edge.url}/__edge/admin`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

async function login(sub) {
  const client = new Client(edge.url);
  await client.fetch(`/login?${sub}`);
  assert.ok(client.refresh, `${sub} logged in`);
  return client;
}

const objectCalls = (name) => edge.events().filter((e) => e.edge_session === name).map((e) => e.object);

// wrangler dev writes every DevTools event (each subrequest) under WRANGLER_LOG_PATH:
// one directory per instance, read back as text.
const logDirs = [];
function wranglerLog() {
  const dir = mkdtempSync(join(tmpdir(), "edge-wrangler-log-"));
  logDirs.push(dir);
  process.env.WRANGLER_LOG_PATH = dir;
  return () => readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
}
after(() => { for (const dir of logDirs) rmSync(dir, { recursive: true, force: true }); });

test("objects of a release before RPC answer over HTTP, and the session carries on after the deploy", async () => {
  origin = await startOrigin();
  origin.respond = async (req) => (await loginLogoutRoutes(req))
    ?? { body: JSON.stringify({ user: req.headers["x-edge-user"] ?? null, sid: req.headers["x-edge-session"] ?? null }) };
  const oldLog = wranglerLog();
  edge = await startEdge({ ORIGIN_URL: origin.url, ...VARS }, { main: "glue.js" });

  const laptop = await login("ann");
  const phone = await login("ann");
  const res = await laptop.fetch("/");
  assert.equal(res.json().user, "ann");
  assert.equal(debugOf(res).path, "object", "decided by the family's object");
  const { sid } = res.json();
  // The index's object tells the phone's family's object to end: object to object.
  const phoneSid = (await phone.fetch("/")).json().sid;
  assert.deepEqual((await admin({ sub: "ann", act: "revoke", sid: phoneSid })).body, { revoked: 1, pending: 0 });
  assert.deepEqual((await phone.fetch("/")).json(), { user: null, sid: null }, "the revoked phone is anonymous");
  const fellBack = new Set(objectCalls("object_without_rpc"));
  assert.deepEqual([...fellBack].sort(), ["SESSION_FAMILY", "USER_SESSIONS"], "both objects were asked over HTTP");
  assert.deepEqual(objectCalls("object_error"), [], "and no call failed");
  assertCookiesNotIn(oldLog(), [laptop.refresh, phone.refresh]);

  // The deploy: the same storage, the objects callable by RPC now.
  await edge.stop({ keepState: true });
  const newLog = wranglerLog();
  edge = await startEdge({ ORIGIN_URL: origin.url, ...VARS }, { restartOf: edge });
  const tablet = await login("ann");
  const after = await laptop.fetch("/");
  assert.deepEqual([after.json().user, after.json().sid, debugOf(after).path], ["ann", sid, "object"], "the same session");
  const tabletSid = (await tablet.fetch("/")).json().sid;
  const listed = await admin({ sub: "ann", act: "list" });
  assert.deepEqual(listed.body.sessions.map((s) => s.sid), [sid, tabletSid], "the index kept what the old objects wrote");
  assert.deepEqual(objectCalls("object_without_rpc"), [], "every call went by RPC");
  assert.deepEqual(objectCalls("object_error"), []);
  assertCookiesNotIn(newLog(), [laptop.refresh, tablet.refresh]);
});

/** What SECURITY.md ("Local development logs") says of wrangler's log: each subrequest's
 * events are there, and no refresh cookie (wrangler 4.86 abbreviates headers and bodies;
 * by RPC an object's reply is no subrequest at all). */
function assertCookiesNotIn(log, cookies) {
  assert.ok(log.includes("Network.requestWillBeSent") && log.includes(origin.url), "wrangler logged the origin subrequests");
  for (const cookie of cookies) assert.ok(cookie && !log.includes(cookie), "no refresh cookie in wrangler's log");
}

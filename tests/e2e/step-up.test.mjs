// Step-up (issue 20): the origin says the user of this session just proved who they are
// again (`X-Edge-Step-Up`), and the edge moves the session's auth_time and rotates its
// credential in place: same sid, same entry in "your devices", and a cookie jar copied
// before the step-up is a retired generation, so using it is reuse. Black-box: directives
// signed with jose, the real worker, the admin API for the session list.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  Client, debugOf, directive, loginDirective, nonceOf, sleep, startEdge, startOrigin, verifyAssertion,
} from "../../tools/harness.mjs";

const GRACE_SECS = 1;
let origin, edge;
before(async () => {
  origin = await startOrigin();
  // /login?sub=…, /step-up?sub=…&amr=a,b (a step-up for that user, whoever the request is).
  origin.respond = async (req) => {
    const url = new URL(req.url, "http://origin");
    const sub = url.searchParams.get("sub");
    if (url.pathname === "/login") return { headers: { "X-Edge-Login": await loginDirective(req, sub, { amr: ["pwd"] }) } };
    if (url.pathname === "/step-up") {
      const amr = url.searchParams.get("amr")?.split(",");
      const token = await directive("edge-step-up+jwt", { sub, nonce: nonceOf(req), ...(amr ? { amr } : {}) });
      return { headers: { "X-Edge-Step-Up": token }, body: JSON.stringify({ assertion: req.headers["x-edge-assertion"] ?? null }) };
    }
    return { body: JSON.stringify({ assertion: req.headers["x-edge-assertion"] ?? null }) };
  };
  edge = await startEdge({ ORIGIN_URL: origin.url, ACCESS_TTL_SECS: "2", GRACE_SECS: String(GRACE_SECS) });
});
after(async () => { await edge?.stop(); await origin?.close(); });

const claims = async (client, path = "/") => {
  const res = await client.fetch(path);
  const { assertion } = res.json();
  return assertion ? { ...(await verifyAssertion(assertion)).payload, path: debugOf(res).path } : null;
};

const now = () => Math.floor(Date.now() / 1000);
async function listSessions(sub) {
  const token = await directive("edge-admin+jwt", { sub, act: "list", jti: randomBytes(12).toString("base64url") }, { exp: now() + 60 });
  const res = await fetch(`${edge.url}/__edge/admin`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  return (await res.json()).sessions.map((s) => s.sid);
}

test("a step-up moves auth_time and amr, rotates in place, and a jar copied before it is reuse", async () => {
  const owner = new Client(edge.url);
  await owner.fetch("/login?sub=ada");
  const before = await claims(owner);
  await sleep(GRACE_SECS * 1000 + 1_100); // past the hold, and a second for auth_time to move
  const thief = new Client(edge.url);
  thief.cookies = new Map(owner.cookies); // the whole jar, copied before the step-up
  const oldRefresh = owner.refresh;

  const res = await owner.fetch("/step-up?sub=ada&amr=pwd,otp");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-edge-step-up"), null, "the directive never reaches the client");
  assert.notEqual(owner.refresh, oldRefresh, "the credential rotated");
  assert.match(res.headers.get("cache-control") ?? "", /no-store/, "a response with a credential is not cached");
  const after = await claims(owner);
  assert.equal(after.path, "access", "the step-up's access cookie answers");
  assert.equal(after.sid, before.sid, "the same session");
  assert.ok(after.auth_time > before.auth_time, `${after.auth_time} after ${before.auth_time}`);
  assert.deepEqual(after.amr, ["pwd", "otp"]);
  assert.deepEqual(await listSessions("ada"), [before.sid], "the same place in \"your devices\"");

  await sleep(2_100); // every access cookie expired: the object decides
  const slow = await claims(owner);
  assert.deepEqual([slow.path, slow.sid, slow.auth_time], ["object", before.sid, after.auth_time]);
  // Grace counts from the owner's first use of the new generation (racing tabs): past it,
  // the old one is a copy used after its owner moved on.
  await sleep(GRACE_SECS * 1000 + 200);
  thief.cookies.delete("__Host-es-access");
  assert.equal(await claims(thief), null, "the copy taken before the step-up identifies no one");
  owner.cookies.delete("__Host-es-access"); // (an access cookie lives on for ACCESS_TTL_SECS)
  assert.equal(await claims(owner), null, "and, as reuse, it ended the family");
});

test("a step-up within the hold (right after a login) lives in its answer's access cookie alone", async () => {
  const client = new Client(edge.url);
  await client.fetch("/login?sub=grace");
  const login = await claims(client);
  const refresh = client.refresh;
  const res = await client.fetch("/step-up?sub=grace&amr=otp");
  assert.equal(client.refresh, refresh, "held: the generation the login handed out may still be landing");
  assert.ok(res.setCookies.some((c) => c.name === "__Host-es-access"), "a new access cookie");
  const stepped = await claims(client);
  assert.deepEqual([stepped.path, stepped.sid, stepped.amr], ["access", login.sid, ["otp"]]);
  assert.ok(stepped.auth_time >= login.auth_time);
  await sleep(2_100); // the access cookie expired: the object answers, from the login
  const next = await claims(client);
  assert.deepEqual([next.path, next.sid, next.auth_time, next.amr], ["object", login.sid, login.auth_time, ["pwd"]]);
});

test("a jar copied before a step-up never carries it, and its use within grace ends the step-up", async () => {
  const owner = new Client(edge.url);
  await owner.fetch("/login?sub=mina");
  await sleep(GRACE_SECS * 1000 + 1_100);
  const before = await claims(owner);
  const thief = new Client(edge.url);
  thief.cookies = new Map(owner.cookies);
  thief.cookies.delete("__Host-es-access");
  await owner.fetch("/step-up?sub=mina&amr=pwd,otp");
  const racing = await claims(thief); // at once: within grace, as a racing tab would be
  assert.deepEqual([racing.path, racing.sid, racing.auth_time], ["object", before.sid, before.auth_time], "the login's auth_time");
  owner.cookies.delete("__Host-es-access");
  const after = await claims(owner);
  assert.deepEqual([after.sid, after.auth_time], [before.sid, before.auth_time], "the step-up ended: asked again");
});

test("a step-up for another user, or on an anonymous request, changes nobody", async () => {
  const client = new Client(edge.url);
  await client.fetch("/login?sub=lee");
  const before = await claims(client);
  await sleep(GRACE_SECS * 1000 + 100);
  const refresh = client.refresh;
  const res = await client.fetch("/step-up?sub=mallory&amr=pwd");
  assert.equal(res.setCookies.length, 0, "nothing set");
  assert.equal(client.refresh, refresh);
  const after = await claims(client);
  assert.deepEqual([after.sub, after.sid, after.auth_time, after.amr], [before.sub, before.sid, before.auth_time, ["pwd"]]);
  const logged = await edge.waitEvent((e) => e.edge_session === "directive_rejected" && e.header === "X-Edge-Step-Up");
  assert.match(logged?.reason ?? "", /^other_user/, "logged as a rejected directive");

  const anonymous = new Client(edge.url);
  const none = await anonymous.fetch("/step-up?sub=lee");
  assert.equal(none.setCookies.length, 0, "a step-up is not a login");
  assert.equal(await claims(anonymous), null);
});

// A secret per job (issue 20): with DIRECTIVE_SECRET set, only it signs logins and
// logouts; with ADMIN_SECRET set, only it signs admin tokens. ORIGIN_SECRET, which every
// service verifying assertions holds, then signs neither. Black-box: tokens are made
// with jose, the edge is the real worker under wrangler dev.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Client, directive, loginDirective, logoutDirective, startEdge, startOrigin, verifyAssertion } from "../../tools/harness.mjs";

const secret = (kid) => `${kid}:${randomBytes(32).toString("base64url")}`;
const DIRECTIVE_SECRET = secret("d1");
const ADMIN_SECRET = secret("a1");
const keyOf = (ring) => ({ key: new TextEncoder().encode(ring.slice(3)), kid: ring.slice(0, 2) });

let origin, edge;
before(async () => {
  origin = await startOrigin();
  // /login?<sub>&<signer> and /logout?<signer>: the directive signed by ORIGIN_SECRET
  // ("origin") or by DIRECTIVE_SECRET ("directive"); anything else: who is it.
  origin.respond = async (req) => {
    const url = new URL(req.url, "http://origin");
    const opts = url.searchParams.has("directive") ? keyOf(DIRECTIVE_SECRET) : undefined;
    if (url.pathname === "/login") {
      return { headers: { "X-Edge-Login": await loginDirective(req, url.searchParams.get("sub"), {}, opts) } };
    }
    if (url.pathname === "/logout") return { headers: { "X-Edge-Logout": await logoutDirective(req, "session", {}, opts) } };
    return { body: JSON.stringify({ user: req.headers["x-edge-user"] ?? null, assertion: req.headers["x-edge-assertion"] ?? null }) };
  };
  edge = await startEdge({ ORIGIN_URL: origin.url, DIRECTIVE_SECRET, ADMIN_SECRET });
});
after(async () => { await edge?.stop(); await origin?.close(); });

const whoIs = async (client) => (await client.fetch("/")).json().user;

test("with DIRECTIVE_SECRET set, a login or logout signed with ORIGIN_SECRET is ignored; one signed with it works", async () => {
  const client = new Client(edge.url);
  await client.fetch("/login?sub=mallory&origin");
  assert.equal(await whoIs(client), null, "ORIGIN_SECRET no longer signs logins");
  await client.fetch("/login?sub=ada&directive");
  assert.equal(await whoIs(client), "ada");
  // The assertion is still ORIGIN_SECRET's: services that verify it change nothing.
  const { payload } = await verifyAssertion((await client.fetch("/")).json().assertion);
  assert.equal(payload.sub, "ada");
  await client.fetch("/logout?origin", { headers: { "Sec-Fetch-Site": "same-origin" } });
  assert.equal(await whoIs(client), "ada", "ORIGIN_SECRET no longer signs logouts");
  await client.fetch("/logout?directive", { headers: { "Sec-Fetch-Site": "same-origin" } });
  assert.equal(await whoIs(client), null);
});

test("with ADMIN_SECRET set, an admin token signed with ORIGIN_SECRET or DIRECTIVE_SECRET is 401; one signed with it works", async () => {
  const client = new Client(edge.url);
  await client.fetch("/login?sub=grace&directive");
  assert.equal(await whoIs(client), "grace");
  const now = Math.floor(Date.now() / 1000);
  const list = (opts) => directive("edge-admin+jwt", { sub: "grace", act: "list", jti: randomBytes(12).toString("base64url") }, { exp: now + 60, ...opts });
  const ask = async (token) => fetch(`${edge.url}/__edge/admin`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  assert.equal((await ask(await list())).status, 401, "ORIGIN_SECRET");
  assert.equal((await ask(await list(keyOf(DIRECTIVE_SECRET)))).status, 401, "DIRECTIVE_SECRET");
  const res = await ask(await list(keyOf(ADMIN_SECRET)));
  const body = await res.text();
  assert.equal(res.status, 200, body);
  assert.equal(JSON.parse(body).sessions.length, 1);
});

// auth_time and amr (issue 20): every assertion says when the user last proved who they
// are and how, as OIDC's ID token does, so an origin can ask for a recent login before a
// sensitive action. Black-box: directives and checks with jose, the real worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client, debugOf, loginDirective, sleep, startEdge, startOrigin, verifyAssertion } from "../../tools/harness.mjs";

let origin, edge;
before(async () => {
  origin = await startOrigin();
  // /login?sub=…&amr=a,b: a login directive with that amr (raw JSON with amr-json=…).
  origin.respond = async (req) => {
    const url = new URL(req.url, "http://origin");
    if (url.pathname === "/login") {
      const amr = url.searchParams.has("amr-json") ? JSON.parse(url.searchParams.get("amr-json"))
        : url.searchParams.get("amr")?.split(",");
      const extra = { ...(amr ? { amr } : {}) };
      if (url.searchParams.has("auth_time")) extra.auth_time = Number(url.searchParams.get("auth_time"));
      return { headers: { "X-Edge-Login": await loginDirective(req, url.searchParams.get("sub"), extra) } };
    }
    return { body: JSON.stringify({ assertion: req.headers["x-edge-assertion"] ?? null }) };
  };
  edge = await startEdge({ ORIGIN_URL: origin.url, ACCESS_TTL_SECS: "2" });
});
after(async () => { await edge?.stop(); await origin?.close(); });

const claims = async (client) => {
  const res = await client.fetch("/");
  const { assertion } = res.json();
  return assertion ? { ...(await verifyAssertion(assertion)).payload, path: debugOf(res).path } : null;
};

test("a login's assertions carry auth_time (the login) and amr (the directive's), on both paths", async () => {
  const client = new Client(edge.url);
  const before = Math.floor(Date.now() / 1000);
  await client.fetch("/login?sub=ada&amr=pwd,otp");
  const after = Math.ceil(Date.now() / 1000);
  const fast = await claims(client);
  assert.equal(fast.path, "access");
  assert.ok(fast.auth_time >= before && fast.auth_time <= after, `${fast.auth_time} in [${before}, ${after}]`);
  assert.deepEqual(fast.amr, ["pwd", "otp"]);
  await sleep(2_500); // the access cookie expired: the family's object answers
  const slow = await claims(client);
  assert.equal(slow.path, "object");
  assert.deepEqual([slow.auth_time, slow.amr], [fast.auth_time, fast.amr], "a refresh is not a new proof");
});

test("a new login on the same browser moves auth_time; without amr, none is claimed", async () => {
  const client = new Client(edge.url);
  await client.fetch("/login?sub=grace&amr=pwd");
  const first = await claims(client);
  await sleep(1_100);
  await client.fetch("/login?sub=grace");
  const second = await claims(client);
  assert.notEqual(second.sid, first.sid, "a new session");
  assert.ok(second.auth_time > first.auth_time, `${second.auth_time} after ${first.auth_time}`);
  assert.equal(second.amr, undefined);
});

test("a login without a password (a bridge's adoption: auth_time 0) is never recent; one from the future is now", async () => {
  const adopted = new Client(edge.url);
  await adopted.fetch("/login?sub=lee&auth_time=0");
  assert.equal((await claims(adopted)).auth_time, 0);
  const ahead = new Client(edge.url);
  await ahead.fetch(`/login?sub=lee&auth_time=${Math.floor(Date.now() / 1000) + 86_400}`);
  const { auth_time: at } = await claims(ahead);
  assert.ok(at <= Math.ceil(Date.now() / 1000), `${at} is not in the future`);
});

test("a login whose amr is malformed is ignored: nobody is logged in", async () => {
  for (const amr of ["\"pwd\"", "[]", "[1]", "[\"a b\"]", JSON.stringify(Array(9).fill("pwd")), JSON.stringify(["x".repeat(17)])]) {
    const client = new Client(edge.url);
    await client.fetch(`/login?sub=mallory&amr-json=${encodeURIComponent(amr)}`);
    assert.equal(await claims(client), null, amr);
  }
});

// "Log out everywhere" without a sub, and a revocation of something that is not a session
// id: both used to be signed and sent, and refused by the edge where the app never saw it
// (`directive_rejected`) or in words that blame the secret (`401 invalid token`). Both are
// now refused here, by name; and a request's own logout fills in its user.
//
//   node --test packages/node/test/everywhere-sid.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ASSERTION_HEADER, LOGOUT_HEADER, NONCE_HEADER, EdgeAdminError, EdgeSession, edgeRequest } from "../index.js";

const table = JSON.parse(readFileSync(new URL("../../conformance/vectors.json", import.meta.url), "utf8"));
// A valid assertion (for "alice"), its ring, audience and time.
const identified = table.assertions.find((v) => v.valid);

const edgeAt = (options = {}) => new EdgeSession({
  secret: identified.secret, audience: identified.audience, clock: () => identified.now, log: () => {}, ...options,
});

/** A request through the edge, identified by the vector's assertion or anonymous. */
async function request({ signedIn }) {
  const response = new Map();
  const headers = { [NONCE_HEADER]: "n0nce", ...(signedIn ? { [ASSERTION_HEADER]: identified.token } : {}) };
  const edge = await edgeRequest(edgeAt(), (name) => headers[name.toLowerCase()], (n, v) => response.set(n, v), (n) => response.delete(n));
  return { edge, response };
}

const part = (jws, i) => JSON.parse(Buffer.from(jws.split(".")[i], "base64url"));
const EVERYWHERE = /^TypeError: scope everywhere needs sub$/;

test("logoutDirective refuses scope everywhere without a sub", () => {
  const edge = edgeAt();
  for (const options of [{ scope: "everywhere" }, { scope: "everywhere", sub: "" }, { scope: "everywhere", sub: null }]) {
    assert.throws(() => edge.logoutDirective("n0nce", options), (e) => EVERYWHERE.test(String(e)), JSON.stringify(options));
  }
});

test("a valid logout directive looks as before", async () => {
  const edge = edgeAt();
  const everywhere = await edge.logoutDirective("n0nce", { scope: "everywhere", sub: "ada" });
  assert.deepEqual(part(everywhere, 0), { alg: "HS256", typ: "edge-logout+jwt", kid: "o2" });
  const now = identified.now;
  assert.deepEqual(part(everywhere, 1), { aud: "edge-session", scope: "everywhere", nonce: "n0nce", sub: "ada", iat: now, exp: now + 120 });
  const session = await edge.logoutDirective("n0nce");
  assert.deepEqual(part(session, 1), { aud: "edge-session", scope: "session", nonce: "n0nce", iat: now, exp: now + 120 });
});

test("req.edge.logout({ scope: 'everywhere' }) on a signed-in request ends every session of its user", async () => {
  const { edge, response } = await request({ signedIn: true });
  assert.equal(edge.user.sub, "alice");
  await edge.logout({ scope: "everywhere" });
  assert.deepEqual(
    [part(response.get(LOGOUT_HEADER), 1).scope, part(response.get(LOGOUT_HEADER), 1).sub],
    ["everywhere", "alice"],
  );
});

test("an explicit sub is kept, and a session logout carries none", async () => {
  const { edge, response } = await request({ signedIn: true });
  await edge.logout({ scope: "everywhere", sub: "bob" });
  assert.equal(part(response.get(LOGOUT_HEADER), 1).sub, "bob");
  await edge.logout();
  assert.deepEqual(Object.keys(part(response.get(LOGOUT_HEADER), 1)).sort(), ["aud", "exp", "iat", "nonce", "scope"]);
});

test("on an anonymous request, logout everywhere without sub rejects and sets nothing", async () => {
  const { edge, response } = await request({ signedIn: false });
  await assert.rejects(edge.logout({ scope: "everywhere" }), (e) => EVERYWHERE.test(String(e)));
  assert.equal(response.size, 0);
});

// The edge's FamilyId::parse: 22 characters of canonical base64url (the last one carries
// 2 bits and 4 zero bits: A, Q, g or w). packages/rust/tests/everywhere_sid.rs checks the same lists.
const SIDS = ["AAAAAAAAAAAAAAAAAAAAAA", "BwcHBwcHBwcHBwcHBwcHBw", "_____________________w", "Zm9yLWNvbmZvcm1hbmNl-Q", "AQEBAQEBAQEBAQEBAQEBAg"];
const NOT_SIDS = [
  "bogus", "", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAAA_",
  "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAA+A", "AAAAAAAAAAAAAAAAAAAA/A", "AAAAAAAAAAAAAAAAAAAA A",
  "AAAAAAAAAAAAAAAAAAAAAA\n", "AAAAAAAAAAAAAAAAAAAAAé", "Zm9yLWNvbmZvcm1hbmNlLXRlc3Rz",
];

test("adminToken takes exactly the edge's session ids as sid and except", async () => {
  const edge = edgeAt();
  for (const sid of SIDS) {
    assert.equal(Buffer.from(sid, "base64url").toString("base64url"), sid, "canonical");
    assert.equal(part(await edge.adminToken("ada", "revoke", { sid }), 1).sid, sid);
    assert.equal(part(await edge.adminToken("ada", "revoke_all", { except: sid }), 1).except, sid);
  }
  for (const sid of [...NOT_SIDS, 7, {}]) {
    const named = typeof sid === "string" ? JSON.stringify(sid) : String(sid);
    const message = `not a session id: ${named}`;
    assert.throws(() => edge.adminToken("ada", "revoke", { sid }), { name: "TypeError", message });
    assert.throws(() => edge.adminToken("ada", "revoke_all", { except: sid }), { name: "TypeError", message });
  }
  assert.throws(() => edge.adminToken("ada", "revoke"), { message: "revoke needs sid" });
  assert.equal(part(await edge.adminToken("ada", "revoke_all"), 1).except, undefined);
});

/** Runs `body` with `fetch` answering `answer(request)`, and returns the requests it saw. */
async function withFetch(answer, body) {
  const seen = [];
  const real = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    seen.push({ url: String(url), token: init.headers.authorization.slice("Bearer ".length) });
    return answer();
  };
  try {
    await body();
  } finally {
    globalThis.fetch = real;
  }
  return seen;
}

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

test("revokeSession and revokeAll refuse a malformed id before any call", async () => {
  const edge = edgeAt({ edgeUrl: "https://app.example" });
  const seen = await withFetch(() => json(200, { revoked: 1, pending: 0 }), async () => {
    await assert.rejects(edge.revokeSession("ada", "bogus"), { name: "TypeError", message: 'not a session id: "bogus"' });
    await assert.rejects(edge.revokeAll("ada", { except: "bogus" }), { name: "TypeError", message: 'not a session id: "bogus"' });
  });
  assert.deepEqual(seen, []);
});

test("the admin client's answers: sessions, { revoked, pending }, and 404 for an unknown session", async () => {
  const edge = edgeAt({ edgeUrl: "https://app.example" });
  const session = {
    sid: SIDS[1], created_at: 1700000000, last_seen: 1700000060, remember: true, device_bound: false, user_agent: "curl/8", country: null,
  };
  let seen = await withFetch(() => json(200, { sub: "ada", sessions: [session] }), async () => {
    assert.deepEqual(await edge.listSessions("ada"), [session]);
  });
  assert.deepEqual([seen[0].url, part(seen[0].token, 1).act], ["https://app.example/__edge/admin", "list"]);
  seen = await withFetch(() => json(200, { revoked: 1, pending: 0 }), async () => {
    assert.deepEqual(await edge.revokeSession("ada", SIDS[1]), { revoked: 1, pending: 0 });
  });
  assert.equal(part(seen[0].token, 1).sid, SIDS[1]);
  const unknown = { error: "no such session for this user", revoked: 0, pending: 0 };
  await withFetch(() => json(404, unknown), async () => {
    await assert.rejects(edge.revokeSession("ada", SIDS[2]), (e) => e instanceof EdgeAdminError && e.status === 404 && e.body.error === unknown.error);
  });
});

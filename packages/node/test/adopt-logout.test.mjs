// The bridge beside a logout on one response: a bridge in a global hook adopts before the
// logout handler runs, and the edge applies a logout, then a login. The logout must win
// over the bridge's login, whichever came first; an app's own login beside a logout is an
// account switch, and stays.
//
//   node --test packages/node/test/adopt-logout.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { LOGIN_HEADER, LOGOUT_HEADER, NONCE_HEADER, EdgeSession, edgeRequest } from "../index.js";

/** An anonymous request that came through the edge, and the response headers it set. */
async function anonymousRequest() {
  const edge = new EdgeSession({ secret: "o1:0123456789abcdef0123456789abcdef", log: () => {} });
  const response = new Map();
  const request = await edgeRequest(
    edge,
    (name) => (name.toLowerCase() === NONCE_HEADER ? "n0nce" : undefined),
    (name, value) => response.set(name, value),
    (name) => response.delete(name),
  );
  return { request, headers: () => [...response.keys()].sort() };
}

test("adopt, then logout: only the logout is on the response", async () => {
  const { request, headers } = await anonymousRequest();
  assert.equal(await request.adopt("lee"), true);
  await request.logout();
  assert.deepEqual(headers(), [LOGOUT_HEADER]);
});

test("logout, then adopt: adopt does nothing and returns false", async () => {
  const { request, headers } = await anonymousRequest();
  await request.logout();
  assert.equal(await request.adopt("lee"), false);
  assert.deepEqual(headers(), [LOGOUT_HEADER]);
});

test("login, then logout: both stay (an account switch)", async () => {
  const { request, headers } = await anonymousRequest();
  await request.login("bob");
  await request.logout();
  assert.deepEqual(headers(), [LOGIN_HEADER, LOGOUT_HEADER]);
});

// The bridge beside a logout on one response: a bridge in a global hook adopts before the
// logout handler runs, and the edge applies a logout, then a login. The logout must win
// over the bridge's login, whichever came first; an app's own login beside a logout is an
// account switch, and stays.
//
//   node --test packages/node/test/adopt-logout.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { ServerResponse } from "node:http";
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
  return { request, headers: () => [...response.keys()].sort(), response };
}

/** The `sub` a login directive carries. */
const subOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url")).sub;

test("an adopted login is never a recent sign-in: auth_time 0; the app's own login says nothing", async () => {
  const claims = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url"));
  const adopted = await anonymousRequest();
  assert.equal(await adopted.request.adopt("lee"), true);
  assert.equal(claims(adopted.response.get(LOGIN_HEADER)).auth_time, 0);
  const own = await anonymousRequest();
  await own.request.login("lee");
  assert.equal("auth_time" in claims(own.response.get(LOGIN_HEADER)), false);
});

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

test("adopt, then the app's own login, then logout: the app's login stays (an account switch)", async () => {
  const { request, headers, response } = await anonymousRequest();
  assert.equal(await request.adopt("lee"), true);
  await request.login("bob");
  await request.logout();
  assert.deepEqual(headers(), [LOGIN_HEADER, LOGOUT_HEADER]);
  assert.equal(subOf(response.get(LOGIN_HEADER)), "bob");
});

// A response like node:http's, whose setHeader refuses `undefined`; no removeHeader is
// passed, so edgeRequest's default, setHeader(name, undefined), throws.
class NodeHttpLikeResponse {
  headers = new Map();
  setHeader(name, value) {
    if (value === undefined) {
      throw Object.assign(new TypeError(`Invalid value "undefined" for header "${name}"`), { code: "ERR_HTTP_INVALID_HEADER_VALUE" });
    }
    this.headers.set(name, value);
  }
}

test("the fake is node:http's behaviour: setHeader(name, undefined) throws", () => {
  const res = new ServerResponse({ method: "GET", httpVersionMajor: 1, httpVersionMinor: 1 });
  assert.throws(() => res.setHeader(LOGIN_HEADER, undefined), { code: "ERR_HTTP_INVALID_HEADER_VALUE" });
  assert.throws(() => new NodeHttpLikeResponse().setHeader(LOGIN_HEADER, undefined), { code: "ERR_HTTP_INVALID_HEADER_VALUE" });
});

test("adopt, then logout, without removeHeader on a node:http-like response: the logout is set and the login voided", async () => {
  const edge = new EdgeSession({ secret: "o1:0123456789abcdef0123456789abcdef", log: () => {} });
  const res = new NodeHttpLikeResponse();
  const request = await edgeRequest(
    edge,
    (name) => (name.toLowerCase() === NONCE_HEADER ? "n0nce" : undefined),
    (name, value) => res.setHeader(name, value),
  );
  assert.equal(await request.adopt("lee"), true);
  await request.logout();
  assert.ok(res.headers.get(LOGOUT_HEADER), "the logout directive is on the response");
  // Empty: the edge ignores it as an invalid directive, and applies the logout alone.
  assert.equal(res.headers.get(LOGIN_HEADER), "");
});

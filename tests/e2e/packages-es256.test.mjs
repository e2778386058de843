// Every origin package verifying ES256 assertions with nothing but the worker's JWKS
// (issue 20): the worker signs with ASSERTION_ALG=ES256, and each example app runs with
// EDGE_JWKS_URL pointing at the worker's /__edge/jwks.json and no ORIGIN_SECRET at all
// (DIRECTIVE_SECRET to log users in, ADMIN_SECRET for "your devices"). The app fetches
// the JWKS over real HTTP from the real worker. An HS256 assertion signed with what used
// to be the shared secret then identifies nobody.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { Client, ORIGIN_SECRET, directive, startEdge, startSwitchboard, withApp } from "../../tools/harness.mjs";
import { APPS, form } from "../../tools/example-apps.mjs";

const secret = (kid) => `${kid}:${randomBytes(32).toString("base64url")}`;
const DIRECTIVE_SECRET = secret("d1");
const ADMIN_SECRET = secret("m1");
const ASSERTION_KEYS = `a1:${generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "der" }).toString("base64url")}`;

let board, edge;
before(async () => {
  board = await startSwitchboard();
  edge = await startEdge({ ORIGIN_URL: board.url, ASSERTION_ALG: "ES256", ASSERTION_KEYS, DIRECTIVE_SECRET, ADMIN_SECRET });
});
after(async () => {
  await edge?.stop();
  await board?.close();
});

for (const [framework, app] of Object.entries(APPS)) {
  test(`${framework}: identified by ES256 with the worker's JWKS alone, no ORIGIN_SECRET`, { timeout: 60_000 }, () => withApp(board, app, {
    EDGE_JWKS_URL: `${edge.url}/__edge/jwks.json`, DIRECTIVE_SECRET, ADMIN_SECRET, EDGE_URL: edge.url,
  }, async ({ port, output }) => {
    const client = new Client(edge.url);
    assert.equal((await client.fetch("/api/me")).status, 401);
    const login = await client.fetch("/login", form({ username: `es ${framework}` }));
    assert.equal(login.status, 303, login.text);
    const me = await client.fetch("/api/me");
    assert.equal(me.status, 200, me.text);
    assert.deepEqual([me.json().sub, me.json().state], [`es ${framework}`, "fresh"]);
    const devices = await client.fetch("/api/devices");
    assert.equal(devices.status, 200, devices.text);
    assert.deepEqual(devices.json().sessions.map((s) => s.sid), [me.json().sid], "ADMIN_SECRET signs the app's admin calls");

    // Straight to the app, around the edge: an HS256 assertion, correctly signed with the
    // old shared secret, is nobody here (the app holds no HMAC key at all).
    const now = Math.floor(Date.now() / 1000);
    const hs256 = await directive("JWT", {
      iss: "edge-session", aud: "origin", sub: "mallory", sid: me.json().sid, state: "fresh", jti: "x", iat: now, exp: now + 60,
    });
    const around = await fetch(`http://127.0.0.1:${port}/api/me`, { headers: { "X-Edge-Assertion": hs256 } });
    assert.equal(around.status, 401, "an HS256 assertion is refused");
    assert.ok(ORIGIN_SECRET && !output().includes(ORIGIN_SECRET.split(":")[1]), "the app never saw ORIGIN_SECRET");
  }));
}

// ES256 assertions and the JWKS (issue 20): with ASSERTION_ALG=ES256 the edge signs
// X-Edge-Assertion with a P-256 private key of ASSERTION_KEYS and publishes the public
// keys at /__edge/jwks.json, so a service that verifies assertions holds no secret.
// Black-box: keys made with node:crypto, assertions verified with jose and the JWKS alone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { Client, ORIGIN_SECRET, loginDirective, startEdge, startOrigin } from "../../tools/harness.mjs";

/** `kid:` + base64url PKCS#8 DER of a fresh P-256 key, as `npx edge-session secret --es256` prints. */
function p256(kid) {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return `${kid}:${privateKey.export({ type: "pkcs8", format: "der" }).toString("base64url")}`;
}

let origin, edge, hs256;
before(async () => {
  origin = await startOrigin();
  origin.respond = async (req) => {
    if (req.url.startsWith("/login?")) return { headers: { "X-Edge-Login": await loginDirective(req, req.url.slice(7)) } };
    return { body: JSON.stringify({ assertion: req.headers["x-edge-assertion"] ?? null }) };
  };
  // Mid-rotation: a2 signs, a1 is still listed for what it signed.
  edge = await startEdge({ ORIGIN_URL: origin.url, ASSERTION_ALG: "ES256", ASSERTION_KEYS: `${p256("a2")},${p256("a1")}` });
  hs256 = await startEdge({ ORIGIN_URL: origin.url });
});
after(async () => { await edge?.stop(); await hs256?.stop(); await origin?.close(); });

test("/__edge/jwks.json lists every configured key's public part, cacheable, and never a private one", async () => {
  const res = await fetch(`${edge.url}/__edge/jwks.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^application\/jwk-set\+json/);
  assert.match(res.headers.get("cache-control"), /public/);
  const { keys } = await res.json();
  assert.deepEqual(keys.map((k) => k.kid), ["a2", "a1"]);
  for (const key of keys) {
    assert.deepEqual([key.kty, key.crv, key.alg, key.use], ["EC", "P-256", "ES256", "sig"]);
    assert.deepEqual(Object.keys(key).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"], "no d, nothing else");
  }
});

test("an ES256 assertion verifies with the JWKS alone, and not as HS256 with ORIGIN_SECRET", async () => {
  const client = new Client(edge.url);
  await client.fetch("/login?ada");
  const { assertion } = (await client.fetch("/")).json();
  assert.deepEqual(decodeProtectedHeader(assertion), { alg: "ES256", typ: "JWT", kid: "a2" });
  const { keys } = await (await fetch(`${edge.url}/__edge/jwks.json`)).json();
  const { payload } = await jwtVerify(assertion, createLocalJWKSet({ keys }), {
    algorithms: ["ES256"], issuer: "edge-session", audience: "origin", typ: "JWT",
  });
  assert.equal(payload.sub, "ada");
  // With the one public key it names, and no other.
  await jwtVerify(assertion, await importJWK(keys.find((k) => k.kid === "a2"), "ES256"));
  await assert.rejects(jwtVerify(assertion, await importJWK(keys.find((k) => k.kid === "a1"), "ES256")));
  await assert.rejects(jwtVerify(assertion, new TextEncoder().encode(ORIGIN_SECRET.slice(3)), { algorithms: ["HS256"] }));
});

test("with HS256 (the default) there is no JWKS: 404, saying why", async () => {
  const res = await fetch(`${hs256.url}/__edge/jwks.json`);
  assert.equal(res.status, 404);
  assert.match(await res.text(), /HS256/);
});

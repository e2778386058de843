// ES256 assertions verified with the edge's JWKS (issue 20): EDGE_JWKS given statically,
// EDGE_JWKS_URL fetched over real HTTP from a server on 127.0.0.1, and a service that
// holds no secret at all. The oracle is node:crypto: it makes the key pairs and signs the
// tokens (ECDSA, HMAC), so nothing here shares the package's code or jose.
//
//   node --test packages/node/test/jwks.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { once } from "node:events";
import { ASSERTION_HEADER, NONCE_HEADER, EdgeSession, edgeRequest } from "../index.js";
import * as expressAdapter from "../express.js";
import * as fastifyAdapter from "../fastify.js";
import * as honoAdapter from "../hono.js";

const T0 = 1_700_000_000;
const ORIGIN_KEY = "origin-secret-0123456789abcdefghijklmnop";
const b64u = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A fresh P-256 key pair: its private key, and its public JWK as the edge publishes it. */
function keyPair(kid) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "ES256" } };
}

const claimsAt = (now, over = {}) => ({
  iss: "edge-session", aud: "origin", sub: "ada", sid: "AAAAAAAAAAAAAAAAAAAAAA", state: "fresh", iat: now, exp: now + 60, jti: "j", ...over,
});

/** An ES256 assertion signed by `pair` at `now` (r || s, as JWS has it); `kid: null` leaves the kid out. */
function es256(pair, now, { kid = pair.kid } = {}) {
  const input = `${b64u({ alg: "ES256", typ: "JWT", ...(kid === null ? {} : { kid }) })}.${b64u(claimsAt(now))}`;
  const signature = sign("sha256", Buffer.from(input), { key: pair.privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

/** An HS256 assertion signed with ORIGIN_KEY, as the edge signs it by default. */
function hs256(now) {
  const input = `${b64u({ alg: "HS256", typ: "JWT", kid: "o1" })}.${b64u(claimsAt(now))}`;
  return `${input}.${createHmac("sha256", ORIGIN_KEY).update(input).digest("base64url")}`;
}

/**
 * A JWKS server on 127.0.0.1. `answer(req, res)` is what it does (by default: serves
 * `keys`), and `fetches` counts the requests it got.
 */
async function jwksServer(keys) {
  const server = createServer((req, res) => {
    state.fetches++;
    state.answer(req, res);
  });
  const state = {
    fetches: 0,
    keys,
    answer: (req, res) => serveJson(res, { keys: state.keys }),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.url = `http://127.0.0.1:${server.address().port}/__edge/jwks.json`;
  return state;
}

const serveJson = (res, value) => {
  res.writeHead(200, { "content-type": "application/jwk-set+json", "cache-control": "public, max-age=300" });
  res.end(JSON.stringify(value));
};

/** An EdgeSession that verifies with the JWKS at `url` alone, on a clock the test moves. */
function verifier(url, options = {}) {
  const clock = { now: T0 };
  const events = [];
  const edge = new EdgeSession({
    secret: "", jwksUrl: url, jwks: "", directiveSecret: "", adminSecret: "", clock: () => clock.now,
    log: (event, detail) => events.push({ event, ...detail }), ...options,
  });
  const identify = (token) => edge.identify((name) => (name === ASSERTION_HEADER ? token : undefined));
  return { edge, clock, events, identify, names: () => events.map((e) => e.event) };
}

test("EDGE_JWKS_URL: fetched on first use, not at startup, and kept five minutes", async (t) => {
  const a2 = keyPair("a2");
  const server = await jwksServer([a2.jwk]);
  t.after(server.close);
  const { clock, identify, events } = verifier(server.url);
  assert.equal(server.fetches, 0, "nothing fetched at construction");
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  assert.equal(server.fetches, 1);
  clock.now += 299;
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  assert.equal(server.fetches, 1, "a second assertion within 5 min does not fetch");
  clock.now += 1;
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  assert.equal(server.fetches, 2, "five minutes on, the set is fetched again");
  assert.deepEqual(events, []);
});

test("EDGE_JWKS_URL: concurrent first requests share one fetch", async (t) => {
  const a2 = keyPair("a2");
  const server = await jwksServer([a2.jwk]);
  t.after(server.close);
  const { clock, identify } = verifier(server.url);
  const users = await Promise.all(Array.from({ length: 20 }, () => identify(es256(a2, clock.now))));
  assert.deepEqual(users.map((u) => u?.sub), Array(20).fill("ada"));
  assert.equal(server.fetches, 1);
});

test("EDGE_JWKS_URL: an unknown kid fetches again, at most once per 30 s, and a key rotated in is picked up", async (t) => {
  const [a1, a2] = [keyPair("a1"), keyPair("a2")];
  const server = await jwksServer([a1.jwk]);
  t.after(server.close);
  const { clock, identify, names } = verifier(server.url);
  assert.equal((await identify(es256(a1, clock.now))).sub, "ada");
  assert.equal(server.fetches, 1);

  // A random kid (an attacker's): one fetch, then refused.
  clock.now += 30;
  const stranger = () => es256(keyPair(randomBytes(6).toString("hex")), clock.now);
  assert.equal(await identify(stranger()), null);
  assert.equal(server.fetches, 2, "an unknown kid fetches once");
  // A burst within the cooldown: no fetch at all; after it, 20 at once share one.
  assert.deepEqual(await Promise.all(Array.from({ length: 20 }, () => identify(stranger()))), Array(20).fill(null));
  assert.equal(server.fetches, 2, "20 unknown kids within 30 s fetch nothing more");
  clock.now += 30;
  assert.deepEqual(await Promise.all(Array.from({ length: 20 }, () => identify(stranger()))), Array(20).fill(null));
  assert.equal(server.fetches, 3, "20 unknown kids after the cooldown fetch once");
  assert.ok(names().every((name) => name === "edge_assertion_rejected"));

  // The edge rotates a2 in. Just after a fetch, the cooldown holds it back; then its first
  // use fetches it, and later uses do not.
  server.keys = [a2.jwk, a1.jwk];
  clock.now += 10;
  assert.equal(await identify(es256(a2, clock.now)), null, "within the cooldown");
  assert.equal(server.fetches, 3);
  clock.now += 20;
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada", "the new kid, after the cooldown");
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  assert.equal((await identify(es256(a1, clock.now))).sub, "ada", "the older key still verifies");
  assert.equal(server.fetches, 4);
});

test("EDGE_JWKS_URL: without a kid, a token no cached key verifies fetches again", async (t) => {
  const [a1, a2] = [keyPair("a1"), keyPair("a2")];
  const server = await jwksServer([a1.jwk]);
  t.after(server.close);
  const { clock, identify } = verifier(server.url);
  assert.equal((await identify(es256(a1, clock.now, { kid: null }))).sub, "ada");
  server.keys = [a2.jwk, a1.jwk];
  clock.now += 30;
  assert.equal((await identify(es256(a2, clock.now, { kid: null }))).sub, "ada");
  assert.equal(server.fetches, 2);
});

test("EDGE_JWKS_URL: a kid naming two keys is refused as an unknown one, and fetches again", async (t) => {
  const [a1, twin] = [keyPair("a1"), keyPair("a1")];
  const server = await jwksServer([a1.jwk, twin.jwk]);
  t.after(server.close);
  const { clock, identify, events } = verifier(server.url);
  assert.equal(await identify(es256(a1, clock.now)), null, "signed by one of the two");
  assert.equal(server.fetches, 1);
  assert.deepEqual(events.map((e) => [e.event, e.reason]), [["edge_assertion_rejected", "unknown kid"]]);
  assert.equal((await identify(es256(twin, clock.now, { kid: null }))).sub, "ada", "without a kid every key is tried");
  clock.now += 30;
  assert.equal(await identify(es256(twin, clock.now)), null);
  assert.equal(server.fetches, 2, "names two: fetched again after the cooldown");
  // The edge publishes one key under that kid again: it verifies.
  server.keys = [a1.jwk, { ...twin.jwk, kid: "a2" }];
  clock.now += 30;
  assert.equal((await identify(es256(a1, clock.now))).sub, "ada");
  assert.equal(server.fetches, 3);
});

test("EDGE_JWKS_URL: a kid it holds with a bad signature, or a malformed signature, is refused without fetching", async (t) => {
  const a2 = keyPair("a2");
  const server = await jwksServer([a2.jwk]);
  t.after(server.close);
  const { clock, identify } = verifier(server.url);
  await identify(es256(a2, clock.now));
  clock.now += 60;
  const forged = es256({ ...keyPair("a2") }, clock.now); // kid a2, another key
  assert.equal(await identify(forged), null);
  assert.equal(server.fetches, 1);
  // Nor does a signature that is not r || s, whatever its kid: ASN.1 DER, 63 bytes, zeros.
  const stranger = keyPair("zz");
  const [h, p] = es256(stranger, clock.now).split(".");
  const der = sign("sha256", Buffer.from(`${h}.${p}`), { key: stranger.privateKey, dsaEncoding: "der" });
  for (const signature of [der, Buffer.alloc(63, 1), Buffer.alloc(64)]) {
    assert.equal(await identify(`${h}.${p}.${signature.toString("base64url")}`), null);
  }
  assert.equal(server.fetches, 1);
});

/** Ways a JWKS fetch fails: [name, answer(req, res), reason expected in the log]. */
const BODY_MARKER = "S3CRET-BODY-MARKER";
const FAILURES = [
  ["a 500", (req, res) => res.writeHead(500).end(BODY_MARKER), /^status 500$/],
  ["a redirect (never followed)", (req, res) => res.writeHead(302, { location: "http://example.com/jwks.json" }).end(), /^status 302$/],
  ["a body that is not JSON", (req, res) => res.writeHead(200).end(`<html>${BODY_MARKER}</html>`), /^not JSON$/],
  ["JSON that is not a JWKS", (req, res) => serveJson(res, { marker: BODY_MARKER, keys: {} }), /^not a JWKS/],
  ["a body over 64 KiB (announced)", (req, res) => padded(res, 64 * 1024 + 1, { chunked: false }), /^body over 65536 bytes$/],
  ["a body over 64 KiB (chunked)", (req, res) => padded(res, 64 * 1024 + 1, { chunked: true }), /^body over 65536 bytes$/],
];

/** A valid JWKS of no usable key padded with spaces to `size` bytes, sent whole or in chunks. */
function padded(res, size, { chunked }) {
  const json = JSON.stringify({ keys: [], marker: BODY_MARKER });
  const body = json + " ".repeat(size - json.length);
  if (!chunked) return res.writeHead(200, { "content-length": body.length }).end(body);
  res.writeHead(200);
  for (let i = 0; i < body.length; i += 4096) res.write(body.slice(i, i + 4096));
  res.end();
}

for (const [name, answer, reason] of FAILURES) {
  test(`EDGE_JWKS_URL: ${name} is logged as edge_jwks_unavailable, and the keys held go on verifying`, async (t) => {
    const a2 = keyPair("a2");
    const server = await jwksServer([a2.jwk]);
    t.after(server.close);

    // Before any fetch succeeded: anonymous, never an exception.
    server.answer = answer;
    const first = verifier(server.url);
    assert.equal(await first.identify(es256(a2, first.clock.now)), null);
    assert.deepEqual(first.names(), ["edge_jwks_unavailable", "edge_assertion_rejected"]);
    assert.match(first.events[0].reason, reason);
    assert.ok(!JSON.stringify(first.events).includes(BODY_MARKER), "the log never holds the body");

    // After one did: the fetch five minutes on fails, and the cached key still verifies.
    server.answer = (req, res) => serveJson(res, { keys: server.keys });
    const { clock, identify, events, names } = verifier(server.url);
    assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
    server.answer = answer;
    clock.now += 300;
    assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
    assert.deepEqual(names(), ["edge_jwks_unavailable"]);
    assert.match(events[0].reason, reason);
    // And the failed attempt starts a cooldown too: an edge that is down is not hammered.
    const fetches = server.fetches;
    assert.equal(await identify(es256(keyPair("zz"), clock.now)), null);
    assert.equal(server.fetches, fetches);
  });
}

test("EDGE_JWKS_URL: a server that is down is logged, and the keys held go on verifying", async () => {
  const a2 = keyPair("a2");
  const server = await jwksServer([a2.jwk]);
  const { clock, identify, events } = verifier(server.url);
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  server.close();
  clock.now += 300;
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  // The connection kept alive from the first fetch was cut (UND_ERR_SOCKET), or a new one refused.
  assert.deepEqual(events.map((e) => e.event), ["edge_jwks_unavailable"]);
  assert.match(events[0].reason, /^fetch failed \((UND_ERR_SOCKET|ECONNREFUSED)\)$/);
  const down = verifier(server.url);
  assert.equal(await down.identify(es256(a2, down.clock.now)), null);
  assert.deepEqual(down.events[0], { event: "edge_jwks_unavailable", reason: "fetch failed (ECONNREFUSED)" });
  assert.deepEqual(down.names(), ["edge_jwks_unavailable", "edge_assertion_rejected"]);
});

test("EDGE_JWKS_URL: with the server down, the keys held verify for 24 h after the last good fetch, then are dropped", async () => {
  const a2 = keyPair("a2");
  const server = await jwksServer([a2.jwk]);
  const { clock, identify, events, names } = verifier(server.url);
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  const lastGood = clock.now;
  server.close();

  clock.now = lastGood + 23 * 3600 + 59 * 60;
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada", "23 h 59 min on, the key still verifies");
  assert.deepEqual(names(), ["edge_jwks_unavailable"]);
  assert.equal(events[0].dropped, undefined);

  clock.now = lastGood + 24 * 3600 + 1;
  assert.equal(await identify(es256(a2, clock.now)), null, "24 h + 1 s on, it does not");
  assert.deepEqual(names(), ["edge_jwks_unavailable", "edge_jwks_unavailable", "edge_assertion_rejected"]);
  assert.match(events[1].reason, /^fetch failed/);
  assert.equal(events[1].dropped, "the keys held: last fetched over 24 h ago");
  // Dropped even when the cooldown holds the next fetch back (it counts from the last attempt).
  assert.equal(await identify(es256(a2, clock.now)), null);
  assert.equal(names().at(-1), "edge_assertion_rejected");
});

test("EDGE_JWKS_URL: the 24 h are checked on every use, not only when a fetch fails", async (t) => {
  const a2 = keyPair("a2");
  const server = await jwksServer([a2.jwk]);
  t.after(server.close);
  const { clock, identify, names } = verifier(server.url);
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  const lastGood = clock.now;
  server.answer = (req, res) => res.writeHead(503).end();
  // A failed attempt 10 s before the 24 h: its cooldown covers the 24 h + 1 s.
  clock.now = lastGood + 24 * 3600 - 10;
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  const fetches = server.fetches;
  clock.now = lastGood + 24 * 3600 + 1;
  assert.equal(await identify(es256(a2, clock.now)), null);
  assert.equal(server.fetches, fetches, "no fetch within the cooldown, and still refused");
  assert.deepEqual(names(), ["edge_jwks_unavailable", "edge_assertion_rejected"]);
});

for (const [trigger, move] of [
  ["an unknown kid", async ({ clock, identify }) => {
    clock.now += 30;
    assert.equal(await identify(es256(keyPair("zz"), clock.now)), null);
  }],
  ["the 5-minute expiry", async ({ clock }) => {
    clock.now += 300;
  }],
]) {
  test(`EDGE_JWKS_URL: a 404 (the edge signs HS256 again) drops the keys held at once; refetched by ${trigger}`, async (t) => {
    const a2 = keyPair("a2");
    const server = await jwksServer([a2.jwk]);
    t.after(server.close);
    const edge = verifier(server.url);
    const { clock, identify, events, names } = edge;
    assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
    clock.now += 1;
    assert.equal((await identify(es256(a2, clock.now))).sub, "ada", "a moment before the 404");

    server.answer = (req, res) => res.writeHead(404, { "content-type": "text/plain" }).end(BODY_MARKER);
    await move(edge);
    assert.equal(await identify(es256(a2, clock.now)), null, "right after the fetch that got the 404");
    assert.equal(server.fetches, 2, "one fetch: the 404");
    const unavailable = events.filter((e) => e.event === "edge_jwks_unavailable");
    assert.deepEqual(unavailable, [{ event: "edge_jwks_unavailable", reason: "status 404", dropped: "the keys held: the edge publishes no JWKS" }]);
    assert.ok(names().slice(-1)[0] === "edge_assertion_rejected");
    assert.ok(!JSON.stringify(events).includes(BODY_MARKER), "the log never holds the body");

    // The cooldown still holds (a 404 is an attempt); then a 200 again restores verification.
    clock.now += 10;
    assert.equal(await identify(es256(a2, clock.now)), null);
    assert.equal(server.fetches, 2, "within the cooldown");
    server.answer = (req, res) => serveJson(res, { keys: server.keys });
    clock.now += 20;
    assert.equal((await identify(es256(a2, clock.now))).sub, "ada", "the URL answers 200 again");
    assert.equal(server.fetches, 3);
  });
}

test("EDGE_JWKS_URL: a JWKS of exactly 64 KiB is read", async (t) => {
  const a2 = keyPair("a2");
  const server = await jwksServer([a2.jwk]);
  t.after(server.close);
  server.answer = (req, res) => {
    const json = JSON.stringify({ keys: [a2.jwk] });
    res.writeHead(200).end(json + " ".repeat(64 * 1024 - json.length));
  };
  const { clock, identify, events } = verifier(server.url);
  assert.equal((await identify(es256(a2, clock.now))).sub, "ada");
  assert.deepEqual(events, []);
});

test("EDGE_JWKS_URL: a fetched set's unusable keys are skipped (a private part among them); none usable is a failed fetch", async (t) => {
  const [a1, a2] = [keyPair("a1"), keyPair("a2")];
  const withPrivate = { ...a2.jwk, d: a2.privateKey.export({ format: "jwk" }).d };
  const server = await jwksServer([withPrivate, { ...a1.jwk, use: "enc" }, { kty: "oct", kid: "h", k: "c2VjcmV0" }]);
  t.after(server.close);
  const { clock, identify, names } = verifier(server.url);
  assert.equal(await identify(es256(a2, clock.now)), null, "a key with d never verifies");
  assert.deepEqual(names(), ["edge_jwks_unavailable", "edge_assertion_rejected"], "no usable key: a failed fetch");
  server.keys = [withPrivate, a1.jwk];
  clock.now += 30;
  assert.equal((await identify(es256(a1, clock.now))).sub, "ada");
  assert.equal(await identify(es256(a2, clock.now)), null, "the key with d is skipped");
});

test("EDGE_JWKS_URL: a server that does not answer is given up after 5 s", async (t) => {
  const a2 = keyPair("a2");
  const server = await jwksServer([a2.jwk]);
  t.after(server.close);
  server.answer = () => {}; // never answers
  const { clock, identify, events } = verifier(server.url);
  const started = Date.now();
  assert.equal(await identify(es256(a2, clock.now)), null);
  const waited = Date.now() - started;
  assert.ok(waited >= 4900 && waited < 8000, `gave up after ${waited} ms`);
  assert.deepEqual(events[0], { event: "edge_jwks_unavailable", reason: "no answer within 5 s" });
});

test("EDGE_JWKS_URL: https, or http to a loopback host only, checked at construction", () => {
  const at = (jwksUrl) => new EdgeSession({ secret: "", jwks: "", jwksUrl, log: () => {} });
  for (const url of ["http://example.com/__edge/jwks.json", "http://10.0.0.1/jwks.json", "http://127.0.0.1.example.com/jwks.json",
    "http://[::ffff:127.0.0.1]/jwks.json", "http://localhost.example/jwks.json", "ftp://127.0.0.1/jwks.json", "not a url",
    "https://user:pass@app.example/__edge/jwks.json"]) {
    assert.throws(() => at(url), (e) => e instanceof TypeError && /EDGE_JWKS_URL/.test(e.message) && !e.message.includes(url), url);
  }
  for (const url of ["https://app.example/__edge/jwks.json", "http://127.0.0.1:8787/__edge/jwks.json", "http://127.9.8.7/jwks.json",
    "http://localhost:8787/__edge/jwks.json", "http://LOCALHOST/jwks.json", "http://[::1]:8787/__edge/jwks.json"]) {
    assert.ok(at(url), url);
  }
});

test("EDGE_JWKS: parsed at startup; not JSON, no JWKS, no usable key, or a private part is a configuration error", () => {
  const a2 = keyPair("a2");
  const d = a2.privateKey.export({ format: "jwk" }).d;
  const at = (jwks) => new EdgeSession({ secret: "", jwksUrl: "", jwks, log: () => {} });
  const refused = [
    ["{not json", /EDGE_JWKS is not JSON/],
    [JSON.stringify([a2.jwk]), /not a JWKS/],
    [JSON.stringify({ keys: {} }), /not a JWKS/],
    [JSON.stringify({ keys: [] }), /no usable key/],
    [JSON.stringify({ keys: [{ ...a2.jwk, crv: "P-384" }] }), /no usable key/],
    [JSON.stringify({ keys: [a2.jwk, { ...keyPair("a1").jwk, d }] }), /key #2 has a private part \(d\)/],
  ];
  for (const [text, message] of refused) {
    assert.throws(() => at(text), (e) => e instanceof TypeError && message.test(e.message) && !e.message.includes(d), text);
  }
  // Text or the parsed object; what it verifies is the same.
  for (const jwks of [JSON.stringify({ keys: [a2.jwk] }), { keys: [a2.jwk] }]) {
    assert.equal(at(jwks).keys, null, "no ORIGIN_SECRET: no ring");
  }
  assert.throws(() => new EdgeSession({ secret: "", jwks: { keys: [a2.jwk] }, jwksUrl: "https://app.example/__edge/jwks.json" }),
    /EDGE_JWKS and EDGE_JWKS_URL are both set/);
});

test("nothing to verify with: the error names ORIGIN_SECRET, EDGE_JWKS_URL and EDGE_JWKS", () => {
  assert.throws(() => new EdgeSession({ secret: "", jwks: "", jwksUrl: " " }), /^TypeError: ORIGIN_SECRET, EDGE_JWKS_URL or EDGE_JWKS must be set/);
});

test("the environment: EDGE_JWKS and EDGE_JWKS_URL are read when the options are not given", async () => {
  const a2 = keyPair("a2");
  const saved = { ...process.env };
  try {
    delete process.env.ORIGIN_SECRET;
    delete process.env.EDGE_JWKS_URL;
    process.env.EDGE_JWKS = JSON.stringify({ keys: [a2.jwk] });
    const edge = new EdgeSession({ clock: () => T0, log: () => {} });
    assert.equal((await edge.verifyAssertion(es256(a2, T0))).sub, "ada");
    delete process.env.EDGE_JWKS;
    process.env.EDGE_JWKS_URL = "http://example.com/__edge/jwks.json";
    assert.throws(() => new EdgeSession(), /EDGE_JWKS_URL/);
  } finally {
    process.env = saved;
  }
});

test("a verify-only service (the JWKS, no secret): verifies ES256, refuses HS256, and signs nothing", async () => {
  const a2 = keyPair("a2");
  const events = [];
  const edge = new EdgeSession({
    secret: "", jwks: { keys: [a2.jwk] }, jwksUrl: "", directiveSecret: "", adminSecret: "", clock: () => T0,
    log: (event) => events.push(event),
  });
  const request = (token) => edgeRequest(edge, (name) => ({ [ASSERTION_HEADER]: token, [NONCE_HEADER]: "n0nce" })[name], () => {});
  const ctx = await request(es256(a2, T0));
  assert.equal(ctx.user.sub, "ada");
  assert.equal((await request(hs256(T0))).user, null, "HS256 with no ORIGIN_SECRET");
  assert.deepEqual(events, ["edge_assertion_rejected"]);
  await assert.rejects(ctx.login("ada"), /^TypeError: DIRECTIVE_SECRET is not set: this service only verifies identities/);
  await assert.rejects(ctx.logout(), /DIRECTIVE_SECRET is not set/);
  assert.throws(() => edge.loginDirective("n0nce", "ada"), /DIRECTIVE_SECRET is not set/);
  assert.throws(() => edge.adminToken("ada", "list"), /ADMIN_SECRET is not set/);
  // With its own DIRECTIVE_SECRET, it logs users in.
  const signer = new EdgeSession({ secret: "", jwks: { keys: [a2.jwk] }, jwksUrl: "", directiveSecret: "d1:directive-secret-0123456789abcdefghijklm" });
  assert.equal((await signer.loginDirective("n0nce", "ada")).split(".").length, 3);
});

test("a switch-over (ORIGIN_SECRET and the JWKS): each algorithm with its own keys", async () => {
  const a2 = keyPair("a2");
  const edge = new EdgeSession({ secret: `o1:${ORIGIN_KEY}`, jwks: { keys: [a2.jwk] }, jwksUrl: "", clock: () => T0, log: () => {} });
  assert.equal((await edge.verifyAssertion(es256(a2, T0))).sub, "ada");
  assert.equal((await edge.verifyAssertion(hs256(T0))).sub, "ada");
});

// The frameworks, as examples/node installs them (scripts/setup.sh).
const examples = createRequire(new URL("../../../examples/node/package.json", import.meta.url));
const load = (name) => {
  try {
    return examples(name);
  } catch {
    return null;
  }
};
const frameworks = { express: load("express"), fastify: load("fastify"), hono: load("hono") };

test("Express, Fastify and Hono with the JWKS URL alone: requireUser lets ES256 through", {
  skip: Object.values(frameworks).includes(null) && "examples/node lacks a framework: run scripts/setup.sh",
}, async (t) => {
  const a2 = keyPair("a2");
  const server = await jwksServer([a2.jwk]);
  t.after(server.close);
  const options = { secret: "", jwks: "", jwksUrl: server.url, directiveSecret: "", adminSecret: "", clock: () => T0, log: () => {} };
  const cases = [[es256(a2, T0), 200], [hs256(T0), 401], [es256(keyPair("a2"), T0), 401]];

  const express = frameworks.express().use(expressAdapter.edgeSession(options));
  express.get("/me", expressAdapter.requireUser(), (req, res) => res.send(req.edge.user.sub));
  const listening = express.listen(0, "127.0.0.1");
  await once(listening, "listening");
  t.after(() => listening.close());
  const fastify = frameworks.fastify();
  await fastify.register(fastifyAdapter.edgeSession, options);
  fastify.get("/me", { preHandler: fastifyAdapter.requireUser() }, async (request) => request.edge.user.sub);
  const hono = new frameworks.hono.Hono();
  hono.use(honoAdapter.edgeSession(options));
  hono.get("/me", honoAdapter.requireUser(), (c) => c.text(c.get("edge").user.sub));

  const apps = {
    express: (headers) => fetch(`http://127.0.0.1:${listening.address().port}/me`, { headers }),
    fastify: async (headers) => {
      const res = await fastify.inject({ method: "GET", url: "/me", headers });
      return { status: res.statusCode, text: async () => res.body };
    },
    hono: (headers) => hono.request("/me", { headers }),
  };
  for (const [name, get] of Object.entries(apps)) {
    for (const [token, status] of cases) {
      const res = await get({ [ASSERTION_HEADER]: token });
      assert.equal(res.status, status, name);
      if (status === 200) assert.equal(await res.text(), "ada", name);
    }
  }
  assert.equal(server.fetches, 3, "each app's EdgeSession fetched once");
  await fastify.close();
});

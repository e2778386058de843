// Writes vectors.json: the conformance table every origin package runs (README.md here).
//
//   node packages/conformance/generate.mjs          # rewrites vectors.json
//   node packages/conformance/generate.mjs --check  # fails if vectors.json is stale
//
// The oracle shares nothing with the implementations it judges: HMAC and base64url come
// from node:crypto and Buffer alone, never jose or a package's code. Secrets, times and
// jti are fixed, so the output is byte for byte the same on every run.
import { createHmac } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { es256Assertions } from "./es256.mjs";

const OUT = new URL("vectors.json", import.meta.url);

const NOW = 1_700_000_000;
const AUDIENCE = "origin";
const ISSUER = "edge-session";
const SID = "Zm9yLWNvbmZvcm1hbmNlLXRlc3Rz"; // a family id, as the edge writes one
const JTI = "Y29uZm9ybWFuY2UtanRp";
// The ring an origin would hold mid-rotation: o2 signs now, o1 is the older key.
const KEY_O2 = "conformance-o2-0123456789abcdefghijklmnop";
const KEY_O1 = "conformance-o1-0123456789abcdefghijklmnop";
const RING = `o2:${KEY_O2},o1:${KEY_O1}`;
// The HMAC key is the UTF-8 bytes of the secret text: this one is not ASCII.
const KEY_UNICODE = "clé-secrète-😀-conformance-0123456789";
const RING_UNICODE = `u1:${KEY_UNICODE}`;
// The edge refuses tokens longer than this before parsing them.
const MAX_TOKEN_LEN = 8192;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HASH = { HS256: "sha256", HS384: "sha384", HS512: "sha512" };

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const json = (value) => (typeof value === "string" ? value : JSON.stringify(value));
const mac = (alg, key, input) => createHmac(HASH[alg], Buffer.from(key, "utf8")).update(input).digest();

/** A compact JWS of `header` and `payload` (objects, or raw JSON text), signed with `key`. */
function sign(header, payload, key, { alg = header.alg } = {}) {
  const input = `${b64u(json(header))}.${b64u(json(payload))}`;
  return `${input}.${b64u(mac(alg, key, input))}`;
}

/** The edge's assertion header, with `over` merged in (`undefined` removes a field). */
const header = (over = {}) => ({ alg: "HS256", typ: "JWT", kid: "o2", ...over });
/** The edge's assertion claims at NOW, with `over` merged in. */
const claims = (over = {}) => ({
  iss: ISSUER, aud: AUDIENCE, sub: "alice", sid: SID, state: "fresh", iat: NOW, exp: NOW + 60, jti: JTI, ...over,
});
/** What a package must return for a valid assertion. */
// `context_changed` (ON_CONTEXT_CHANGE=flag) and `auth_time`: whole seconds, null when
// absent; `amr` as sent, null when absent.
const seconds = (t) => (t == null ? null : Math.floor(t));
const identity = (c) => ({
  sub: c.sub, sid: c.sid, state: c.state, ctx: c.ctx ?? null,
  context_changed: seconds(c.context_changed), auth_time: seconds(c.auth_time), amr: c.amr ?? null,
});

const assertions = [];
function valid(name, { h = header(), c = claims(), key = KEY_O2, secret = RING, now = NOW, token } = {}) {
  assertions.push({ name, secret, audience: AUDIENCE, now, token: token ?? sign(h, c, key), valid: true, claims: identity(c) });
}
function invalid(name, { h = header(), c = claims(), key = KEY_O2, secret = RING, now = NOW, token } = {}) {
  assertions.push({ name, secret, audience: AUDIENCE, now, token: token ?? sign(h, c, key), valid: false });
}

// Valid: what the edge sends, and what it may send during a key rotation.
valid("valid: signed by the ring's first key, with ctx", { c: claims({ ctx: { plan: "pro", roles: ["admin"], seats: 3 } }) });
valid("valid: signed by the older key of the ring, named by its kid", { h: header({ kid: "o1" }), key: KEY_O1 });
valid("valid: no kid, signed by the older key: every key of the ring is tried", { h: header({ kid: undefined }), key: KEY_O1 });
valid("valid: typ in lower case (jwt)", { h: header({ typ: "jwt" }) });
valid("valid: aud an array containing ours", { c: claims({ aud: ["another-origin", AUDIENCE] }) });
valid("valid: state grace, no ctx", { c: claims({ state: "grace" }) });
valid("valid: ctx null is no ctx", { c: claims({ ctx: null }) });
// ON_CONTEXT_CHANGE=flag: when the session refreshed from another context, a NumericDate.
valid("valid: context_changed, a NumericDate", { c: claims({ context_changed: NOW - 600 }) });
valid("valid: context_changed with a fraction (truncated)", { c: claims({ context_changed: NOW - 600.75 }) });
valid("valid: context_changed null is none", { c: claims({ context_changed: null }) });
valid("valid: context_changed 0", { c: claims({ context_changed: 0 }) });
// auth_time (when the user logged in) and amr (how), as OIDC's ID token has them.
valid("valid: auth_time and amr", { c: claims({ auth_time: NOW - 3600, amr: ["pwd", "otp"] }) });
valid("valid: auth_time with a fraction (truncated), amr null is none", { c: claims({ auth_time: NOW - 0.5, amr: null }) });
valid("valid: amr a value this version does not know", { c: claims({ amr: ["some-future-method"] }) });
valid("valid: a secret and a sub outside ASCII (the HMAC key is the secret's UTF-8 bytes)", {
  h: header({ kid: "u1" }), c: claims({ sub: "zoë +1% 😀" }), key: KEY_UNICODE, secret: RING_UNICODE,
});

// Time, each rule at its boundary: 30 s of skew either way, 60 s of life.
valid("valid: expired 29 s ago (within the skew)", { c: claims({ iat: NOW - 89, exp: NOW - 29 }) });
invalid("invalid: expired 30 s ago", { c: claims({ iat: NOW - 90, exp: NOW - 30 }) });
invalid("invalid: expired an hour ago", { c: claims({ iat: NOW - 3660, exp: NOW - 3600 }) });
valid("valid: iat 30 s in the future (within the skew)", { c: claims({ iat: NOW + 30, exp: NOW + 90 }) });
invalid("invalid: iat 31 s in the future", { c: claims({ iat: NOW + 31, exp: NOW + 91 }) });
valid("valid: nbf 30 s in the future (within the skew)", { c: claims({ nbf: NOW + 30 }) });
invalid("invalid: nbf 31 s in the future", { c: claims({ nbf: NOW + 31 }) });
invalid("invalid: nbf not a number", { c: claims({ nbf: String(NOW) }) });
invalid("invalid: nbf negative (not a NumericDate)", { c: claims({ nbf: -1 }) });
invalid("invalid: lifetime 61 s", { c: claims({ exp: NOW + 61 }) });
invalid("invalid: exp missing", { c: claims({ exp: undefined }) });
invalid("invalid: iat missing", { c: claims({ iat: undefined }) });
invalid("invalid: exp a numeric string", { c: claims({ exp: String(NOW + 60) }) });
invalid("invalid: iat true (a boolean is not a number)", { c: claims({ iat: true }) });
// NumericDate allows fractions (RFC 7519 §2); like the edge, they are truncated first.
valid("valid: iat and exp with fractions", { c: claims({ iat: NOW + 0.5, exp: NOW + 60.5 }) });
invalid("invalid: exp now-29.5, truncated to now-30", { c: claims({ iat: NOW - 89.5, exp: NOW - 29.5 }) });

// Header: the algorithm, the type and what the verifier must understand.
invalid("invalid: typ edge-login+jwt (a directive is not an assertion)", { h: header({ typ: "edge-login+jwt" }) });
invalid("invalid: typ missing", { h: header({ typ: undefined }) });
invalid("invalid: typ application/jwt (only the bare JWT, in any case)", { h: header({ typ: "application/jwt" }) });
invalid("invalid: alg HS384, correctly signed with the same secret", { h: header({ alg: "HS384" }) });
invalid("invalid: alg HS512, correctly signed with the same secret", { h: header({ alg: "HS512" }) });
invalid("invalid: alg hs256 in lower case (alg is exact)", { token: sign(header({ alg: "hs256" }), claims(), KEY_O2, { alg: "HS256" }) });
invalid("invalid: alg RS256", {
  token: `${b64u(json(header({ alg: "RS256" })))}.${b64u(json(claims()))}.${b64u(Buffer.alloc(256, 7))}`,
});
invalid("invalid: alg none with an empty signature", { token: `${b64u(json(header({ alg: "none" })))}.${b64u(json(claims()))}.` });
invalid("invalid: crit header", { h: header({ crit: ["exp"] }) });
invalid('invalid: crit ["b64"] with b64 true (an extension some libraries understand)', { h: header({ crit: ["b64"], b64: true }) });

// Keys: a kid is a promise of which key signed.
invalid("invalid: kid unknown, though the first key signed it", { h: header({ kid: "o9" }) });
invalid("invalid: kid names the older key, signed by the first", { h: header({ kid: "o1" }), key: KEY_O2 });
invalid("invalid: kid not a string", { h: header({ kid: 2 }) });
invalid("invalid: signed by a key outside the ring, no kid", { h: header({ kid: undefined }), key: "some-other-secret-0123456789abcdefgh" });

// Claims: who, for whom, from whom.
invalid("invalid: aud another origin's", { c: claims({ aud: "another-origin" }) });
invalid("invalid: aud an array without ours", { c: claims({ aud: ["another-origin", "a-third"] }) });
invalid("invalid: aud missing", { c: claims({ aud: undefined }) });
invalid("invalid: iss not edge-session", { c: claims({ iss: "someone-else" }) });
invalid("invalid: iss missing", { c: claims({ iss: undefined }) });
invalid("invalid: sub missing", { c: claims({ sub: undefined }) });
invalid("invalid: sub empty", { c: claims({ sub: "" }) });
invalid("invalid: sub not a string", { c: claims({ sub: 42 }) });
invalid("invalid: sid missing", { c: claims({ sid: undefined }) });
invalid("invalid: sid not a string", { c: claims({ sid: 7 }) });
invalid("invalid: state missing", { c: claims({ state: undefined }) });
invalid("invalid: state not a string", { c: claims({ state: 1 }) });
invalid("invalid: ctx not an object", { c: claims({ ctx: ["admin"] }) });
invalid("invalid: context_changed a numeric string", { c: claims({ context_changed: String(NOW) }) });
invalid("invalid: context_changed negative", { c: claims({ context_changed: -1 }) });
invalid("invalid: context_changed true", { c: claims({ context_changed: true }) });
invalid("invalid: auth_time a numeric string", { c: claims({ auth_time: String(NOW) }) });
invalid("invalid: auth_time negative", { c: claims({ auth_time: -5 }) });
invalid("invalid: amr a string, not an array", { c: claims({ amr: "pwd" }) });
invalid("invalid: amr with a number in it", { c: claims({ amr: ["pwd", 2] }) });
invalid("invalid: payload a JSON array", { c: "[1,2,3]" });

// Encoding: exactly three canonical base64url parts, or nothing.
const good = sign(header(), claims(), KEY_O2);
const [h64, p64, s64] = good.split(".");
invalid("invalid: one signature character flipped", { token: `${h64}.${p64}.${flip(s64, 10)}` });
invalid("invalid: signature's last character differs only in its unused bits", { token: `${h64}.${p64}.${nonCanonical(s64)}` });
invalid("invalid: signature empty", { token: `${h64}.${p64}.` });
invalid("invalid: payload padded with =, the MAC over the padded text", { token: resign(h64, padded(claims({ sub: "alice-b" }))) });
invalid("invalid: payload in the standard base64 alphabet (+ /), the MAC over that text", { token: resign(h64, standardAlphabet()) });
invalid("invalid: two parts", { token: `${h64}.${p64}` });
invalid("invalid: four parts", { token: `${good}.${s64}` });
invalid("invalid: not a JWS at all", { token: "not-a-token" });
// Unsigned bytes the verifier must parse before any MAC: it must refuse, never crash.
invalid("invalid: a header nested 3000 deep", { token: `${b64u("[".repeat(3000) + "]".repeat(3000))}.${p64}.${s64}` });
invalid("invalid: empty", { token: "" });
valid(`valid: exactly ${MAX_TOKEN_LEN} bytes`, ofLength(MAX_TOKEN_LEN));
invalid(`invalid: ${MAX_TOKEN_LEN + 1} bytes, correctly signed`, ofLength(MAX_TOKEN_LEN + 1));

// ASSERTION_ALG=ES256: verified with the edge's JWKS (es256.mjs). A vector's `jwks` is
// the JWKS the package is configured with (null: none), its `secret` the ring (null: none).
assertions.push(...es256Assertions({
  header, claims, identity, hmac: (h, c, key) => sign(h, c, key), ring: RING, hmacKey: KEY_O2, now: NOW, audience: AUDIENCE,
  previous: existsSync(OUT) ? JSON.parse(readFileSync(OUT, "utf8")) : null,
}));
for (const v of assertions) v.jwks ??= null;

/** `text` with the character at `i` replaced by another of the alphabet. */
function flip(text, i) {
  return text.slice(0, i) + (text[i] === "A" ? "B" : "A") + text.slice(i + 1);
}

/** A 32-byte MAC's 43 characters carry 2 unused bits at the end: set one. A lenient
 * decoder reads the same bytes; a strict one (the edge's) refuses the text. */
function nonCanonical(sig) {
  const last = ALPHABET.indexOf(sig.at(-1));
  return sig.slice(0, -1) + ALPHABET[last ^ 1];
}

/** A token whose header is `h64` and whose payload is the text `p64`, signed by o2. */
function resign(h64Text, p64Text) {
  const input = `${h64Text}.${p64Text}`;
  return `${input}.${b64u(mac("HS256", KEY_O2, input))}`;
}

/** `c` encoded with `=` padding (its length is chosen to need some). */
function padded(c) {
  const text = b64u(json(c));
  if (text.length % 4 === 0) throw new Error("pick claims whose encoding needs padding");
  return text + "=".repeat(4 - (text.length % 4));
}

/** Claims whose base64url has a `-` or `_`, written in the standard alphabet instead. */
function standardAlphabet() {
  for (let n = 0; ; n++) {
    const text = b64u(json(claims({ ctx: { note: "?".repeat(n) + ">" } })));
    if (/[-_]/.test(text)) return text.replaceAll("-", "+").replaceAll("_", "/");
  }
}

/** A correctly signed token of exactly `length` bytes: a ctx padded until it fits. */
function ofLength(length) {
  for (const h of [header(), header({ kid: undefined })]) {
    for (let n = 0; n < length; n++) {
      const c = claims({ ctx: { pad: "x".repeat(n) } });
      const token = sign(h, c, KEY_O2);
      if (token.length === length) return { h, c };
      if (token.length > length) break;
    }
  }
  throw new Error(`no token of ${length} bytes`);
}

// Security events (EVENTS_SECRET), as the edge's SecurityEvent::verify reads a webhook's
// body: the assertion's JWS rules with typ edge-event+jwt and 300 s of life (a queue
// message, verified as one, `queue: true`: 4 days), then iss, sub,
// sid (a session id), jti, type, time and the detail's types. Its own ring (whose secrets
// hold SECRET_MARKER, below, so that no refusal may print them): the events secret is
// never ORIGIN_SECRET.
const EVENT_KEY_E2 = "s3cr3t-events-e2-0123456789abcdefghijklm";
const EVENT_KEY_E1 = "s3cr3t-events-e1-0123456789abcdefghijklm";
const EVENT_RING = `e2:${EVENT_KEY_E2},e1:${EVENT_KEY_E1}`;
const EVENT_TYP = "edge-event+jwt";
const EVENT_LIFETIME = 300; // a webhook delivery's
const QUEUE_LIFETIME = 4 * 24 * 3600; // a queue message's: the queue's default retention
// A session id as the edge writes one: 16 bytes, 22 characters of base64url.
const EVENT_SID = b64u("conformance-sid!");
const DEVICE = {
  user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  browser: "Chrome", os: "macOS", country: "DE", asn: 3320, colo: "FRA", bound: false,
};
// The claims a receiver gets back, in the edge's order; the rest (iss, aud, iat, exp, nbf
// and claims this version does not know) are dropped. A null detail is an absent one.
const EVENT_FIELDS = ["jti", "type", "sub", "sid", "time", "device", "revoked", "by", "previous", "action", "skipped"];

/** The edge's event header, with `over` merged in (`undefined` removes a field). */
const eventHeader = (over = {}) => ({ alg: "HS256", typ: EVENT_TYP, kid: "e2", ...over });
/** A session.created event signed at NOW, with `over` merged in. */
const eventClaims = (over = {}) => ({
  iss: ISSUER, aud: AUDIENCE, iat: NOW, exp: NOW + EVENT_LIFETIME, jti: `${EVENT_SID}.1`, type: "session.created",
  sub: "alice", sid: EVENT_SID, time: NOW - 2, device: DEVICE, ...over,
});
/** What a package must return for a valid event. */
const eventOf = (c) => Object.fromEntries(EVENT_FIELDS.filter((k) => c[k] != null).map((k) => [k, c[k]]));

const events = [];
// `queue`: verified as a queue message (the package's queue option), else as a webhook's body.
function validEvent(name, { h = eventHeader(), c = eventClaims(), key = EVENT_KEY_E2, body, queue = false } = {}) {
  events.push({ name, secret: EVENT_RING, audience: AUDIENCE, now: NOW, queue, body: body ?? sign(h, c, key), valid: true, event: eventOf(c) });
}
function invalidEvent(name, { h = eventHeader(), c = eventClaims(), key = EVENT_KEY_E2, body, queue = false } = {}) {
  events.push({ name, secret: EVENT_RING, audience: AUDIENCE, now: NOW, queue, body: body ?? sign(h, c, key), valid: false });
}

// Valid: each type, with the detail it carries, and each key of the ring.
validEvent("valid: session.created, signed by the ring's first key");
validEvent("valid: session.reuse_detected with revoked, signed by the older key, named by its kid", {
  h: eventHeader({ kid: "e1" }), key: EVENT_KEY_E1,
  c: eventClaims({ jti: `${EVENT_SID}.2`, type: "session.reuse_detected", revoked: true }),
});
validEvent("valid: session.copied_jar, no kid, signed by the older key: every key of the ring is tried", {
  h: eventHeader({ kid: undefined }), key: EVENT_KEY_E1,
  c: eventClaims({ jti: `${EVENT_SID}.3`, type: "session.copied_jar", device: { country: "BR", asn: 28573, bound: true } }),
});
validEvent("valid: session.copied_jar with skipped (Secure-Session-Skipped's reason)", {
  c: eventClaims({ jti: `${EVENT_SID}.6`, type: "session.copied_jar", skipped: "unreachable", device: { ...DEVICE, bound: true } }),
});
validEvent("valid: session.revoked with by", {
  c: eventClaims({ jti: `${EVENT_SID}.4`, type: "session.revoked", by: "admin" }),
});
validEvent("valid: session.context_changed with previous and action", {
  c: eventClaims({
    jti: `${EVENT_SID}.5`, type: "session.context_changed", action: "flagged",
    previous: { browser: "Chrome", os: "macOS", country: "FR", asn: 3215, colo: "CDG", bound: false },
  }),
});
validEvent("valid: a type this version does not know, and a claim it does not know (dropped)", {
  c: eventClaims({ type: "session.some_future_event", some_future_claim: { x: 1 } }),
});
validEvent("valid: a detail that is null is absent", { c: eventClaims({ type: "session.reuse_detected", revoked: null }) });
validEvent("valid: typ in upper case (EDGE-EVENT+JWT)", { h: eventHeader({ typ: "EDGE-EVENT+JWT" }) });
validEvent("valid: aud an array containing ours", { c: eventClaims({ aud: ["another-origin", AUDIENCE] }) });
validEvent("valid: whitespace around the body (trimmed)", { body: `\r\n ${sign(eventHeader(), eventClaims(), EVENT_KEY_E2)}\n` });
validEvent("valid: a sub of 256 UTF-8 bytes (128 characters)", { c: eventClaims({ sub: "é".repeat(128) }) });
validEvent("valid: expired 29 s ago (within the skew)", { c: eventClaims({ iat: NOW - 329, exp: NOW - 29 }) });
validEvent("valid: iat 30 s in the future (within the skew)", { c: eventClaims({ iat: NOW + 30, exp: NOW + 330 }) });
// A queue message lives 4 days, verified as one; the same body POSTed to a webhook is refused.
const queued = eventClaims({ iat: NOW - 3 * 24 * 3600, exp: NOW - 3 * 24 * 3600 + QUEUE_LIFETIME });
validEvent("valid: a queue message signed 3 days ago for 4 days, verified as a queue message", { c: queued, queue: true });
invalidEvent("invalid: the same queue message replayed to a webhook (300 s of life at most)", { c: queued });
validEvent("valid: a queue message, lifetime exactly 4 days", { c: eventClaims({ exp: NOW + QUEUE_LIFETIME }), queue: true });
invalidEvent("invalid: a queue message, lifetime 4 days and 1 s", { c: eventClaims({ exp: NOW + QUEUE_LIFETIME + 1 }), queue: true });
validEvent("valid: a webhook body verified as a queue message (a shorter life is fine)", { queue: true });
invalidEvent("invalid: a queue message expired 30 s ago", {
  c: eventClaims({ iat: NOW - QUEUE_LIFETIME - 30, exp: NOW - 30 }), queue: true,
});

// Invalid: another token type, or not the edge's.
invalidEvent("invalid: typ JWT (an assertion is not an event)", { h: eventHeader({ typ: "JWT" }) });
invalidEvent("invalid: typ edge-login+jwt (a directive is not an event)", { h: eventHeader({ typ: "edge-login+jwt" }) });
invalidEvent("invalid: typ missing", { h: eventHeader({ typ: undefined }) });
invalidEvent("invalid: iss missing", { c: eventClaims({ iss: undefined }) });
invalidEvent("invalid: iss not edge-session", { c: eventClaims({ iss: "someone-else" }) });
invalidEvent("invalid: aud another origin's", { c: eventClaims({ aud: "another-origin" }) });
invalidEvent("invalid: aud missing", { c: eventClaims({ aud: undefined }) });
// Time: 30 s of skew either way, 300 s of life.
invalidEvent("invalid: expired 30 s ago", { c: eventClaims({ iat: NOW - 330, exp: NOW - 30 }) });
invalidEvent("invalid: iat 31 s in the future", { c: eventClaims({ iat: NOW + 31, exp: NOW + 331 }) });
invalidEvent("invalid: lifetime 301 s", { c: eventClaims({ exp: NOW + 301 }) });
invalidEvent("invalid: nbf 31 s in the future", { c: eventClaims({ nbf: NOW + 31 }) });
invalidEvent("invalid: exp missing", { c: eventClaims({ exp: undefined }) });
// Keys and the header.
invalidEvent("invalid: signed by ORIGIN_SECRET's key (o2), not the events ring's", { h: eventHeader({ kid: "o2" }), key: KEY_O2 });
invalidEvent("invalid: signed by a key outside the ring, no kid", { h: eventHeader({ kid: undefined }), key: KEY_O2 });
invalidEvent("invalid: kid unknown, though the first key signed it", { h: eventHeader({ kid: "e9" }) });
invalidEvent("invalid: kid names the older key, signed by the first", { h: eventHeader({ kid: "e1" }) });
invalidEvent("invalid: alg none with an empty signature", { body: `${b64u(json(eventHeader({ alg: "none" })))}.${b64u(json(eventClaims()))}.` });
invalidEvent("invalid: alg HS384, correctly signed with the same secret", { h: eventHeader({ alg: "HS384" }) });
invalidEvent("invalid: crit header", { h: eventHeader({ crit: ["exp"] }) });
const goodEvent = sign(eventHeader(), eventClaims(), EVENT_KEY_E2);
const [eh64, ep64, es64] = goodEvent.split(".");
invalidEvent("invalid: one signature character flipped", { body: `${eh64}.${ep64}.${flip(es64, 10)}` });
invalidEvent("invalid: signature's last character differs only in its unused bits", { body: `${eh64}.${ep64}.${nonCanonical(es64)}` });
invalidEvent("invalid: payload padded with =, the MAC over the padded text", {
  body: signText(eh64, paddedText(eventClaims({ sub: "alice-b" })), EVENT_KEY_E2),
});
invalidEvent("invalid: empty", { body: "" });
invalidEvent("invalid: whitespace only", { body: " \n" });
invalidEvent("invalid: not a JWS at all", { body: "not-an-event" });
// The event's own claims.
invalidEvent("invalid: sid of 28 characters (not a session id)", { c: eventClaims({ sid: SID }) });
invalidEvent("invalid: sid with stray bits in its last character", { c: eventClaims({ sid: `${EVENT_SID.slice(0, 21)}B` }) });
invalidEvent("invalid: sid missing", { c: eventClaims({ sid: undefined }) });
invalidEvent("invalid: sub with a control character (newline)", { c: eventClaims({ sub: "alice\nX-Injected: 1" }) });
invalidEvent("invalid: sub with a C1 control character (U+0085)", { c: eventClaims({ sub: "alice\u0085" }) });
invalidEvent("invalid: sub empty", { c: eventClaims({ sub: "" }) });
invalidEvent("invalid: sub missing", { c: eventClaims({ sub: undefined }) });
invalidEvent("invalid: sub of 257 UTF-8 bytes (129 characters)", { c: eventClaims({ sub: `${"é".repeat(128)}a` }) });
invalidEvent("invalid: jti missing", { c: eventClaims({ jti: undefined }) });
invalidEvent("invalid: jti empty", { c: eventClaims({ jti: "" }) });
invalidEvent("invalid: type missing", { c: eventClaims({ type: undefined }) });
invalidEvent("invalid: type empty", { c: eventClaims({ type: "" }) });
invalidEvent("invalid: type not a string", { c: eventClaims({ type: 1 }) });
invalidEvent("invalid: time missing", { c: eventClaims({ time: undefined }) });
invalidEvent("invalid: time a numeric string", { c: eventClaims({ time: String(NOW) }) });
invalidEvent("invalid: time negative", { c: eventClaims({ time: -1 }) });
invalidEvent("invalid: device not an object", { c: eventClaims({ device: "Chrome" }) });
invalidEvent("invalid: revoked not a boolean", { c: eventClaims({ type: "session.reuse_detected", revoked: "true" }) });
invalidEvent("invalid: by not a string", { c: eventClaims({ type: "session.revoked", by: 1 }) });
invalidEvent("invalid: previous not an object", { c: eventClaims({ type: "session.context_changed", previous: "FR" }) });
invalidEvent("invalid: action not a string", { c: eventClaims({ type: "session.context_changed", action: true }) });
invalidEvent("invalid: skipped not a string", { c: eventClaims({ type: "session.copied_jar", skipped: ["unreachable"] }) });
// Size: checked on the trimmed body, before anything is parsed.
// A correctly signed event of exactly `length` bytes: a claim padded until it fits.
const eventOfLength = (length) => {
  for (const h of [eventHeader(), eventHeader({ kid: undefined })]) {
    for (let n = 0; n < length; n++) {
      const c = eventClaims({ pad: "x".repeat(n) });
      const body = sign(h, c, EVENT_KEY_E2);
      if (body.length === length) return { c, body };
      if (body.length > length) break;
    }
  }
  throw new Error(`no event of ${length} bytes`);
};
{
  const { c, body } = eventOfLength(MAX_TOKEN_LEN);
  validEvent(`valid: exactly ${MAX_TOKEN_LEN} bytes, and a newline after them`, { c, body: `${body}\n` });
}
invalidEvent(`invalid: ${MAX_TOKEN_LEN + 1} bytes, correctly signed`, { body: eventOfLength(MAX_TOKEN_LEN + 1).body });

/** `text` as a JWS payload signed by `key` after the header text `h64Text`. */
function signText(h64Text, p64Text, key) {
  const input = `${h64Text}.${p64Text}`;
  return `${input}.${b64u(mac("HS256", key, input))}`;
}

/** `c` encoded with `=` padding, grown until it needs some. */
function paddedText(c) {
  for (let n = 0; ; n++) {
    const text = b64u(json({ ...c, pad: "x".repeat(n) }));
    if (text.length % 4 !== 0) return text + "=".repeat(4 - (text.length % 4));
  }
}

// Key rings (ORIGIN_SECRET), as the edge's KeyRing::parse reads them. Every secret here
// contains SECRET_MARKER, which no refusal's message may contain.
const SECRET_MARKER = "s3cr3t";
const secretOf = (length, fill = "x") => SECRET_MARKER + fill.repeat(length - SECRET_MARKER.length);
const S32 = secretOf(32);
const S32B = secretOf(32, "y");
const secrets = [];
const ring = (name, secret, isValid) => secrets.push({ name, secret, valid: isValid });

ring("valid: one key", `o1:${S32}`, true);
ring("valid: two keys", `o2:${S32},o1:${S32B}`, true);
ring("invalid: empty", "", false);
ring("invalid: only commas and spaces", " , ,", false);
ring("invalid: o1: (an empty secret)", "o1:", false);
ring("invalid: a short secret", `o1:${SECRET_MARKER}`, false);
ring("invalid: a 31-character secret", `o1:${secretOf(31)}`, false);
ring("valid: a 32-character secret", `o1:${secretOf(32)}`, true);
ring("valid: a 512-character secret", `o1:${secretOf(512)}`, true);
ring("invalid: a 513-character secret", `o1:${secretOf(513)}`, false);
ring("invalid: no separator", `o1${S32}`, false);
ring("invalid: an empty kid", `:${S32}`, false);
ring("invalid: a kid with a space", `o 1:${S32}`, false);
ring("valid: a 16-character kid", `${"k".repeat(16)}:${S32}`, true);
ring("invalid: a 17-character kid", `${"k".repeat(17)}:${S32}`, false);
ring("valid: a kid of every allowed kind of character", `aZ09_-:${S32}`, true);
ring("invalid: a kid outside ASCII", `ö1:${S32}`, false);
ring("invalid: a kid followed by a newline", `o1\n:${S32}`, false);
ring("valid: 8 keys", Array.from({ length: 8 }, (_, i) => `k${i}:${S32}`).join(","), true);
ring("invalid: 9 keys", Array.from({ length: 9 }, (_, i) => `k${i}:${S32}`).join(","), false);
ring("invalid: a duplicate kid", `o1:${S32},o1:${S32B}`, false);
ring("invalid: a duplicate kid, after trimming", `o1:${S32}, o1:${S32B}`, false);
ring("valid: a secret containing ':' (split at the first)", `o1:${secretOf(31)}:`, true);
ring("invalid: a secret containing a space", `o1:${secretOf(20)} ${"x".repeat(20)}`, false);
ring("invalid: a secret containing a tab", `o1:${secretOf(20)}\t${"x".repeat(20)}`, false);
ring("invalid: a secret containing a no-break space (U+00A0)", `o1:${secretOf(20)}\u00a0${"x".repeat(20)}`, false);
ring("invalid: a secret containing DEL (U+007F)", `o1:${secretOf(20)}\u007f${"x".repeat(20)}`, false);
ring("invalid: a secret containing NEL (U+0085)", `o1:${secretOf(20)}\u0085${"x".repeat(20)}`, false);
ring("valid: a secret containing U+200B (a format character, not whitespace)", `o1:${secretOf(20)}\u200b${"x".repeat(20)}`, true);
ring("invalid: a comma inside a secret leaves a piece that is no pair", `o1:${S32},${SECRET_MARKER}tail`, false);
ring("valid: whitespace around pairs and a trailing comma", ` o2:${S32} ,\to1:${S32B}\n, `, true);
// Trimming is Unicode White_Space, exactly: not a language's own idea of whitespace.
ring("valid: ideographic space (U+3000) and no-break space around a pair", `\u3000o1:${S32}\u00a0`, true);
ring("valid: NEL (U+0085) after a pair (White_Space, trimmed)", `o1:${S32}\u0085`, true);
ring("invalid: BOM (U+FEFF) before a pair (not White_Space)", `\ufeffo1:${S32}`, false);
ring("invalid: U+001C before a pair (not White_Space)", `\u001co1:${S32}`, false);
ring("invalid: NUL after a pair (a control character, not trimmed)", `o1:${S32}\u0000`, false);
// Lengths count Unicode scalar values: not UTF-16 units, bytes or graphemes.
ring("invalid: 6 + 20 emoji, 26 characters (46 UTF-16 units)", `o1:${SECRET_MARKER}${"😀".repeat(20)}`, false);
ring("valid: 6 + 300 emoji, 306 characters (606 UTF-16 units, 1206 bytes)", `o1:${SECRET_MARKER}${"😀".repeat(300)}`, true);
ring("valid: 6 + 13 e and combining acute, 32 characters (19 graphemes)", `o1:${SECRET_MARKER}${"e\u0301".repeat(13)}`, true);

// The migration bridge's decision. `identified` requests carry assertions[0]'s token,
// verified at its `now` with its secret; `state_header` null means no such header.
const adopt = [];
const bridge = (name, { identified = false, state_header = null, nonce = "bm9uY2UtZm9yLXRlc3Rz", legacy_sub = "lee", adopts = false, logs = null }) => {
  // What the request's refusal accessor returns: the header, on an anonymous request only.
  const refusal = identified ? null : state_header;
  adopt.push({ name, identified, state_header, nonce, legacy_sub, refusal, adopts, logs });
};

bridge("adopts: anonymous, a legacy session, a nonce, no refusal", { adopts: true });
bridge("adopts: a legacy sub outside ASCII", { legacy_sub: "zoë +1%", adopts: true });
bridge("skips: already identified", { identified: true, state_header: "fresh" });
bridge("skips: identified, no legacy session", { identified: true, state_header: "rotated", legacy_sub: null });
bridge("skips: no legacy session", { legacy_sub: null });
bridge("skips: an empty legacy sub", { legacy_sub: "" });
for (const refusal of ["ended", "expired", "reused", "device_bound", "invalid"]) {
  bridge(`refuses: the edge refused the jar (${refusal})`, { state_header: refusal, logs: "edge_adopt_refused" });
}
bridge("refuses: a refusal the package does not know yet", { state_header: "some_future_reason", logs: "edge_adopt_refused" });
bridge("refuses: the header present and empty", { state_header: "", logs: "edge_adopt_refused" });
bridge("refuses: state fresh on an anonymous request (as when its assertion fails to verify here)", { state_header: "fresh", logs: "edge_adopt_refused" });
bridge("skips: a refusal and no legacy session", { state_header: "ended", legacy_sub: null });
bridge("skips: no nonce (the request did not come through the edge)", { nonce: null, logs: "edge_adopt_no_nonce" });
bridge("skips: an empty nonce", { nonce: "", logs: "edge_adopt_no_nonce" });
bridge("refuses: a refusal and no nonce", { state_header: "reused", nonce: null, logs: "edge_adopt_refused" });

// X-Edge-User: the edge's encoding (every byte outside [A-Za-z0-9._~@+-] as %XX, `%`
// included), which every package's decoder must invert.
const encodeUser = (sub) =>
  [...Buffer.from(sub, "utf8")].map((b) => (/[A-Za-z0-9._~@+-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");
const user_header = ["alice", "Ada.Lovelace_1~x@example.com", "a+b", "alice ", "100%", "zoë", "😀", "a%2Bb", "line\nbreak", "tab\tand;semi,comma"]
  .map((sub) => ({ header: encodeUser(sub), sub }));

const table = {
  about: "Generated by packages/conformance/generate.mjs; do not edit. Schema and rules: packages/conformance/README.md.",
  secret_marker: SECRET_MARKER,
  assertions,
  secrets,
  adopt,
  user_header,
  events,
};
const text = `${JSON.stringify(table, null, 2)}\n`;

if (process.argv.includes("--check")) {
  if (readFileSync(OUT, "utf8") !== text) {
    console.error("packages/conformance/vectors.json is stale: run node packages/conformance/generate.mjs");
    process.exit(1);
  }
} else {
  writeFileSync(OUT, text);
  console.log(`vectors.json: ${assertions.length} assertions, ${secrets.length} secrets, ${adopt.length} adopt, ${user_header.length} user_header, ${events.length} events`);
}

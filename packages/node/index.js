// edge-session for Node origins (jose): verify the edge's `X-Edge-Assertion`, answer a
// request with the `X-Edge-Login` / `X-Edge-Logout` directive, call the edge's admin API,
// and read the security events the edge POSTs to the operator's webhook.
// The framework adapters (./express, ./hono, ./fastify) are thin layers over `EdgeSession`.
//
// Trust rule: only the verified assertion proves who a request is. `X-Edge-User` is a
// convenience, safe only if the origin is reachable through the edge alone.
//
// The assertion rules are the edge's own (`Assertion::verify`), and every origin package
// applies them identically: packages/conformance/vectors.json is the table they all pass.
import { randomBytes } from "node:crypto";
import { SignJWT, compactVerify } from "jose";
import { RemoteJwks, StaticJwks, isEs256Signature, jwksEndpoint, parseJwks } from "./jwks.js";

export const ASSERTION_HEADER = "x-edge-assertion";
export const NONCE_HEADER = "x-edge-nonce";
export const USER_HEADER = "x-edge-user";
export const STATE_HEADER = "x-edge-session-state";
export const LOGIN_HEADER = "X-Edge-Login";
export const LOGOUT_HEADER = "X-Edge-Logout";
export const STEP_UP_HEADER = "X-Edge-Step-Up";
const ISSUER = "edge-session";
// The edge refuses admin tokens whose exp - iat is longer.
const ADMIN_MAX_LIFETIME = 60;
// The edge issues assertions for 60 s; one claiming longer was not made by it.
const ASSERTION_MAX_LIFETIME = 60;
// The edge signs an event again at each webhook delivery attempt, valid 300 s: a captured
// delivery replayed later is refused. (A redelivery, same jti, can come for up to a day.)
const EVENT_WEBHOOK_LIFETIME = 300;
// A queue message is signed for 4 days (a Cloudflare Queue's default retention), so a
// consumer that fell behind still verifies it; only `{ queue: true }` accepts that much, so
// a queue message replayed to a webhook is refused.
const EVENT_QUEUE_LIFETIME = 4 * 24 * 3600;
const EVENT_TYPE = "edge-event+jwt";
// The edge's rule for a sub it carries (it goes into a header): 1 to 256 UTF-8 bytes.
const MAX_SUB_BYTES = 256;
// Allowance for clocks that disagree between the edge and this origin.
const CLOCK_TOLERANCE_SECS = 30;
// The edge's bound: far above any assertion, and it caps the work an unauthenticated
// header can cause before its MAC is checked.
const MAX_TOKEN_LEN = 8192;

// ORIGIN_SECRET's rules, the edge's (KeyRing::parse): a bad ring fails at startup, not as
// a signature that never verifies.
const MAX_KEYS = 8;
const MIN_SECRET_CHARS = 32;
const MAX_SECRET_CHARS = 512;
const KID = /^[A-Za-z0-9_-]{1,16}$/;
// Unicode's White_Space property, exactly (what the edge trims): String.prototype.trim
// would also strip U+FEFF and keep U+0085, and the two would then disagree on a ring.
const WHITE_SPACE = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const AROUND_WHITE_SPACE = new RegExp(`^[${WHITE_SPACE}]+|[${WHITE_SPACE}]+$`, "gu");
const WHITE_SPACE_OR_CONTROL = new RegExp(`[${WHITE_SPACE}\\p{Cc}]`, "u");
// A login's `amr` as the edge takes it (RFC 8176 method names): 1 to 8 of these.
const MAX_AMR = 8;
const AMR_NAME = /^[A-Za-z0-9_.:-]{1,16}$/;

/**
 * The edge's secret format, `kid:secret[,kid:secret…]`: the first signs, all verify. The
 * HMAC key is the secret's UTF-8 bytes. A refusal names the problem and the key's
 * position, never a secret, nor a kid (in a malformed ring it may be a piece of a secret).
 */
export function parseKeys(text, name = "ORIGIN_SECRET") {
  if (typeof text !== "string") throw new TypeError(`${name} is not set`);
  const pairs = text.split(",").map((p) => p.replace(AROUND_WHITE_SPACE, "")).filter(Boolean);
  if (pairs.length === 0) throw new TypeError(`${name} holds no kid:secret pair`);
  if (pairs.length > MAX_KEYS) throw new TypeError(`${name} holds more than ${MAX_KEYS} keys`);
  const keys = pairs.map((pair, i) => parseKey(pair, `${name} key #${i + 1}`));
  keys.forEach(({ kid }, i) => {
    if (keys.findIndex((k) => k.kid === kid) < i) throw new TypeError(`${name} key #${i + 1} reuses an earlier key id`);
  });
  return keys;
}

function parseKey(pair, which) {
  const i = pair.indexOf(":");
  if (i < 0) throw new TypeError(`${which} has no ':' between key id and secret`);
  const [kid, secret] = [pair.slice(0, i), pair.slice(i + 1)];
  if (!KID.test(kid)) throw new TypeError(`${which} has a key id outside [A-Za-z0-9_-]{1,16}`);
  // Characters are Unicode scalar values, as the edge counts them, not UTF-16 units.
  const chars = [...secret].length;
  if (chars < MIN_SECRET_CHARS || chars > MAX_SECRET_CHARS) {
    throw new TypeError(`${which}: the secret must be ${MIN_SECRET_CHARS} to ${MAX_SECRET_CHARS} characters`);
  }
  if (WHITE_SPACE_OR_CONTROL.test(secret)) throw new TypeError(`${which}: the secret contains whitespace or control characters`);
  return { kid, key: new TextEncoder().encode(secret) };
}

/**
 * `X-Edge-User` as the `sub` it encodes (bytes outside `A-Za-z0-9._~@+-` are
 * percent-encoded). A convenience: trust the verified assertion's `sub`.
 */
export const decodeUser = (header) => (header == null ? null : decodeURIComponent(header));

/** The admin API answered something other than success. */
export class EdgeAdminError extends Error {
  constructor(status, body) {
    super(`edge admin API answered ${status}: ${body?.error ?? JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** One origin's view of the edge: its keys, audience and public URL. */
export class EdgeSession {
  #jwks;

  /**
   * At least one of `secret`, `jwks`, `jwksUrl` must be set (or its variable): HS256
   * assertions are verified with the first, ES256 ones with the JWKS.
   *
   * @param {object} [options]
   * @param {string} [options.secret] `ORIGIN_SECRET` (default: the environment's): verifies HS256 assertions
   * @param {string | { keys: object[] }} [options.jwks] `EDGE_JWKS`: the edge's JWKS, JSON text or parsed,
   *   verifies ES256 assertions (default: the environment's)
   * @param {string} [options.jwksUrl] `EDGE_JWKS_URL`: where the edge serves it, `https://<app>/__edge/jwks.json`
   *   (default: the environment's); `http:` only to a loopback host
   * @param {string} [options.directiveSecret] `DIRECTIVE_SECRET`: signs logins and logouts (default: the
   *   environment's, else `secret`)
   * @param {string} [options.adminSecret] `ADMIN_SECRET`: signs admin tokens (default: the environment's, else `secret`)
   * @param {string} [options.audience] the assertion's `aud` (default `ORIGIN_AUDIENCE` or "origin")
   * @param {string} [options.edgeUrl] where the admin API is: the app's public URL (default `EDGE_URL`)
   * @param {string} [options.eventsSecret] `EVENTS_SECRET`, for `parseEvent` (default: the environment's)
   * @param {(event: string, detail: object) => void} [options.log] where rejected assertions and JWKS failures are reported
   * @param {() => number} [options.clock] the time in Unix seconds (default: the system clock); for tests
   */
  constructor({ secret = process.env.ORIGIN_SECRET, jwks = process.env.EDGE_JWKS, jwksUrl = process.env.EDGE_JWKS_URL,
    audience = process.env.ORIGIN_AUDIENCE || "origin",
    edgeUrl = process.env.EDGE_URL, eventsSecret = process.env.EVENTS_SECRET, directiveSecret = process.env.DIRECTIVE_SECRET,
    adminSecret = process.env.ADMIN_SECRET, log = defaultLog, clock = () => Date.now() / 1000 } = {}) {
    this.log = log;
    this.clock = clock;
    this.#jwks = jwksSource(jwks, jwksUrl, { clock, log: (event, detail) => this.log(event, detail) });
    if (isUnset(secret) && !this.#jwks) {
      throw new TypeError("ORIGIN_SECRET, EDGE_JWKS_URL or EDGE_JWKS must be set: nothing could verify an assertion");
    }
    // Null in a service that verifies with the JWKS alone: it holds no secret, and HS256 is refused.
    this.keys = isUnset(secret) ? null : parseKeys(secret);
    // What the edge verifies each job with: DIRECTIVE_SECRET and ADMIN_SECRET when set,
    // else ORIGIN_SECRET (unset or blank, as the edge reads them). `keys` only verifies.
    // Null when neither is set: signing then throws, naming the variable.
    this.directiveKeys = isUnset(directiveSecret) ? this.keys : parseKeys(directiveSecret, "DIRECTIVE_SECRET");
    this.adminKeys = isUnset(adminSecret) ? this.keys : parseKeys(adminSecret, "ADMIN_SECRET");
    this.audience = audience;
    this.edgeUrl = edgeUrl;
    if (edgeUrl) adminEndpoint(edgeUrl); // only the admin client needs it, but a malformed one fails at startup
    // Only parseEvent needs it, but a malformed one fails at startup too.
    this.eventKeys = eventsSecret ? parseKeys(eventsSecret, "EVENTS_SECRET") : null;
  }

  /**
   * Who a request is: `{ sub, sid, state, ctx, context_changed, auth_time, amr }` from a
   * valid assertion, or null. `context_changed` (Unix seconds, else null) is set when the
   * edge runs `ON_CONTEXT_CHANGE=flag` and the session refreshed from another country,
   * network or browser family: a signal for a step-up before a sensitive action, not a
   * verdict. `auth_time` is when the user logged in (Unix seconds; null only from an edge
   * older than the claim), `amr` how (the login's RFC 8176 names, else null). A bad
   * assertion, or identity headers without one (a request that went around the edge),
   * is anonymous and logged; it never throws. `header(name)` reads a request header.
   */
  async identify(header) {
    const token = header(ASSERTION_HEADER);
    if (!token) {
      if (header(USER_HEADER)) this.log("edge_assertion_missing", { reason: "identity headers without an assertion" });
      return null;
    }
    try {
      const claims = await this.verifyAssertion(token);
      return Object.freeze({
        sub: claims.sub, sid: claims.sid, state: claims.state, ctx: claims.ctx ?? null,
        context_changed: numericDate(claims.context_changed), auth_time: numericDate(claims.auth_time), amr: claims.amr ?? null,
      });
    } catch (e) {
      if (!(e instanceof AssertionRefused)) throw e;
      this.log("edge_assertion_rejected", { reason: e.message });
      return null;
    }
  }

  /**
   * The claims of a valid `X-Edge-Assertion`, at `clock()`; throws `AssertionRefused` with
   * the reason otherwise. jose checks the signature and the algorithm; the rest is here, so
   * that each rule is exactly the edge's (jose would take `typ: application/jwt`, a `crit`
   * it knows, lenient base64, and no future `iat` check).
   */
  async verifyAssertion(token) {
    const now = Math.floor(this.clock());
    const verify = (t, header) => this.#verifySignature(t, header);
    const claims = await verifyJws(token, verify, { typ: "jwt", audience: this.audience, now, maxLifetime: ASSERTION_MAX_LIFETIME });
    checkAssertionClaims(claims);
    return claims;
  }

  // Each algorithm with its own keys only (RFC 8725 §3.1): HS256 with the ring, ES256 with
  // the JWKS. A public key is never an HMAC secret, and the ring never verifies ES256.
  #verifySignature(token, header) {
    if (header.alg === "HS256") {
      if (!this.keys) throw new AssertionRefused("alg HS256, but no ORIGIN_SECRET is configured");
      return verifyWithKeys(token, this.keys, header, "HS256");
    }
    if (header.alg === "ES256") {
      if (!this.#jwks) throw new AssertionRefused("alg ES256, but no EDGE_JWKS or EDGE_JWKS_URL is configured");
      return this.#verifyEs256(token, header);
    }
    throw new AssertionRefused("alg is not HS256 or ES256");
  }

  // The cached keys first; a key they lack (a kid naming none or two, or no kid and none
  // verifies) may be one the edge has just rotated in: fetch the set again (at most once
  // per 30 s, RemoteJwks's cooldown) and try what came. A kid we hold whose signature fails
  // is just refused: fetching again would not change that key. `keys` is null when there
  // are none to try: never fetched, dropped after a 404, or last fetched over 24 h ago.
  async #verifyEs256(token, header) {
    // Before any key, so that no malformed token makes this package fetch the JWKS.
    if (!isEs256Signature(Buffer.from(token.split(".")[2], "base64url"))) {
      throw new AssertionRefused("signature is not r || s (64 bytes, each in [1, N - 1])");
    }
    const tried = await this.#jwks.current();
    try {
      return await verifyWithKeys(token, tried ?? [], header, "ES256");
    } catch (e) {
      if (!(e instanceof KeyMissing)) throw e;
      await this.#jwks.refresh();
      const fetched = this.#jwks.keys;
      if (fetched === null) throw new AssertionRefused("no JWKS key held (none fetched, a 404, or fetched over 24 h ago)");
      if (fetched === tried) throw e;
      return verifyWithKeys(token, fetched, header, "ES256");
    }
  }

  /**
   * `parseEvent(body, { queue })` with this origin's `eventsSecret`, `audience` and
   * `clock`; a `TypeError` if `EVENTS_SECRET` is not set.
   */
  async parseEvent(body, { queue = false } = {}) {
    if (!this.eventKeys) throw new TypeError("EVENTS_SECRET (eventsSecret) is not set");
    return verifyEvent(body, this.eventKeys, this.audience, Math.floor(this.clock()), queue);
  }

  /**
   * `X-Edge-Login` answering the request whose `X-Edge-Nonce` is `nonce`, signed with
   * `DIRECTIVE_SECRET` (else `ORIGIN_SECRET`). `amr`: how the user proved who they are
   * (RFC 8176: ["pwd"], ["pwd", "otp"]…), which every assertion of the session then
   * carries; 1 to 8 names of [A-Za-z0-9_.:-]{1,16}, else a TypeError.
   */
  loginDirective(nonce, sub, { remember = false, ctx, amr, authTime } = {}) {
    if (typeof sub !== "string" || sub === "") throw new TypeError("login needs a non-empty sub");
    requireAmr(amr);
    return this.#directive("edge-login+jwt", {
      sub, remember, nonce: requireNonce(nonce), ...(ctx ? { ctx } : {}), ...(amr != null ? { amr: [...amr] } : {}),
      // When the proof was, if not now: the bridge's adoption says 0 (never recent).
      ...(authTime != null ? { auth_time: authTime } : {}),
    }, this.directiveKeys);
  }

  /**
   * `X-Edge-Step-Up` answering the request whose `X-Edge-Nonce` is `nonce`: `sub`, the user
   * of that request's session, just proved who they are again (a password re-entered, a
   * second factor), by `amr`. The edge moves the session's `auth_time` to now and rotates
   * its credential, keeping the session (same `sid`, same place in "your devices"); it
   * ignores a step-up for any other user's session, or for an anonymous request.
   */
  stepUpDirective(nonce, sub, { amr } = {}) {
    if (typeof sub !== "string" || sub === "") throw new TypeError("a step-up needs a non-empty sub");
    requireAmr(amr);
    return this.#directive("edge-step-up+jwt", { sub, nonce: requireNonce(nonce), ...(amr != null ? { amr: [...amr] } : {}) },
      this.directiveKeys);
  }

  /**
   * `X-Edge-Logout` answering that request. `scope`: "session" or "everywhere"; "everywhere"
   * needs `sub`, whose sessions all end (the edge refuses it without one, so this throws).
   */
  logoutDirective(nonce, { scope = "session", sub } = {}) {
    if (scope !== "session" && scope !== "everywhere") throw new TypeError('scope is "session" or "everywhere"');
    if (scope === "everywhere" && (typeof sub !== "string" || sub === "")) throw new TypeError("scope everywhere needs sub");
    return this.#directive("edge-logout+jwt", { scope, nonce: requireNonce(nonce), ...(sub ? { sub } : {}) }, this.directiveKeys);
  }

  /** A bearer token for `POST /__edge/admin` signed with `ADMIN_SECRET` (else `ORIGIN_SECRET`): single-use (random `jti`), at most 60 s. */
  adminToken(sub, act, { sid, except, lifetime = ADMIN_MAX_LIFETIME } = {}) {
    if (!(lifetime > 0 && lifetime <= ADMIN_MAX_LIFETIME)) throw new RangeError(`lifetime must be 1..${ADMIN_MAX_LIFETIME} s: the edge refuses longer`);
    if (act === "revoke" && sid == null) throw new TypeError("revoke needs sid");
    // The edge would refuse the token as a whole (401 invalid token), which reads like a
    // wrong secret: a malformed id is named here instead.
    if (sid != null) requireSessionId(sid);
    if (except != null) requireSessionId(except);
    const jti = randomBytes(12).toString("base64url");
    const claims = { sub, act, jti, ...(sid != null ? { sid } : {}), ...(except != null ? { except } : {}) };
    return this.#directive("edge-admin+jwt", claims, this.adminKeys, lifetime);
  }

  /**
   * The user's live sessions, oldest first: `[{ sid, created_at, last_seen, remember,
   * device_bound, user_agent, country }]`, times in Unix seconds. No entry is marked as the
   * current one: compare `sid` with the request user's `sid`.
   */
  async listSessions(sub) {
    return (await this.#admin(sub, "list")).sessions;
  }

  /**
   * Signs one of the user's sessions out: `{ revoked, pending }`. A `sid` that is not a
   * session id throws a `TypeError` before any call; one that is not the user's session
   * throws `EdgeAdminError` with status 404.
   */
  revokeSession(sub, sid) {
    return this.#admin(sub, "revoke", { sid });
  }

  /** Signs out every session of the user but `except` (pass the current `sid`): `{ revoked, pending }`. */
  revokeAll(sub, { except } = {}) {
    return this.#admin(sub, "revoke_all", { except });
  }

  async #admin(sub, act, params = {}) {
    if (!this.edgeUrl) throw new TypeError("EDGE_URL (edgeUrl) is not set: the admin API is on the app's public URL");
    const url = adminEndpoint(this.edgeUrl);
    const token = await this.adminToken(sub, act, params);
    // The admin API never redirects, and fetch would follow a redirect with the token (to
    // the same host, where a path the edge forwards leads to the app): "manual" hands the
    // 3xx back, and like any status but 2xx it is an EdgeAdminError.
    const res = await fetch(url, {
      method: "POST", headers: { authorization: `Bearer ${token}` }, redirect: "manual", signal: AbortSignal.timeout(10_000),
    });
    const body = await res.json().catch(() => ({ error: "not JSON" }));
    if (!res.ok) throw new EdgeAdminError(res.status, body);
    return body;
  }

  /** Signed with the first key of `keys`: the directive ring or the admin ring. */
  #directive(typ, claims, keys, lifetime = 120) {
    if (!keys) {
      // A verify-only service (JWKS, no ORIGIN_SECRET): say which variable signing needs.
      const name = typ === "edge-admin+jwt" ? "ADMIN_SECRET" : "DIRECTIVE_SECRET";
      throw new TypeError(`${name} is not set: this service only verifies identities (no ORIGIN_SECRET to sign with either)`);
    }
    const { kid, key } = keys[0];
    // One clock reading: jose's relative setExpirationTime reads the clock again, and a
    // second ticking in between would make exp - iat exceed an admin token's 60 s.
    const now = Math.floor(this.clock());
    return new SignJWT({ aud: "edge-session", ...claims })
      .setProtectedHeader({ alg: "HS256", typ, kid })
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .sign(key);
  }
}

/** Why an assertion (or an event) was refused; the message is the reason logged. */
export class AssertionRefused extends Error {}

/**
 * A security event the edge POSTed to the operator's webhook (`EVENTS_URL`), verified:
 * `{ jti, type, sub, sid, time, device }`, and `revoked`, `by`, `previous`, `action`,
 * `skipped` when its type has them. `body` is the request's raw body (text or bytes).
 * Throws `AssertionRefused` with the reason for anything the edge did not sign with
 * `EVENTS_SECRET` for this audience in the last 5 minutes; a `TypeError` for a missing or
 * malformed `secret`. `secret` is `EVENTS_SECRET`, never `ORIGIN_SECRET`: a receiver that
 * holds it can verify events and mint nothing. `queue: true` verifies the body of a
 * message taken from the `EVENTS` Cloudflare Queue instead, which the edge signs for 4
 * days; without it such a message is refused (one replayed to a webhook).
 */
export async function parseEvent(body, { secret = process.env.EVENTS_SECRET, audience = process.env.ORIGIN_AUDIENCE || "origin",
  clock = () => Date.now() / 1000, queue = false } = {}) {
  return verifyEvent(body, parseKeys(secret, "EVENTS_SECRET"), audience, Math.floor(clock()), queue);
}

// What an event's optional detail must be when present (null is absent, as the edge reads it).
const EVENT_DETAIL = {
  revoked: (v) => typeof v === "boolean",
  by: (v) => typeof v === "string",
  previous: (v) => isObject(v),
  action: (v) => typeof v === "string",
  skipped: (v) => typeof v === "string",
};

// The rules of the edge's SecurityEvent::verify (packages/conformance has them all): the
// assertion's JWS checks with typ edge-event+jwt and 300 s of life (a queue message's, 4
// days: SecurityEvent::verify_queued), then the event's claims.
async function verifyEvent(body, keys, audience, now, queue) {
  if (body instanceof Uint8Array) body = eventText(body);
  if (typeof body !== "string") throw new TypeError("an event is the request's raw body: a string or bytes");
  const token = body.replace(AROUND_WHITE_SPACE, "");
  // Only `true` widens the window: a stray truthy value keeps the webhook's.
  const maxLifetime = queue === true ? EVENT_QUEUE_LIFETIME : EVENT_WEBHOOK_LIFETIME;
  const verify = (t, header) => {
    if (header.alg !== "HS256") throw new AssertionRefused("alg is not HS256");
    return verifyWithKeys(t, keys, header, "HS256");
  };
  const claims = await verifyJws(token, verify, { typ: EVENT_TYPE, audience, now, maxLifetime });
  if (claims.iss !== ISSUER) throw new AssertionRefused("iss is not edge-session");
  const { jti, type, sub, sid, time, device = {} } = claims;
  if (!(typeof sub === "string" && sub !== "" && Buffer.byteLength(sub) <= MAX_SUB_BYTES && !/\p{Cc}/u.test(sub))) {
    throw new AssertionRefused("sub must be 1 to 256 bytes without control characters");
  }
  if (typeof sid !== "string" || !SESSION_ID.test(sid)) throw new AssertionRefused("sid is not a session id");
  if (typeof jti !== "string" || jti === "" || typeof type !== "string" || type === "") throw new AssertionRefused("jti or type missing");
  if (!Number.isInteger(time) || time < 0) throw new AssertionRefused("time is not a Unix time");
  if (!isObject(device)) throw new AssertionRefused("device is not an object");
  // Only the claims an event has: iss, aud and the times were checked, and a claim this
  // version does not know is dropped (the edge's own parser does the same).
  const event = { jti, type, sub, sid, time, device };
  for (const [name, valid] of Object.entries(EVENT_DETAIL)) {
    if (claims[name] == null) continue;
    if (!valid(claims[name])) throw new AssertionRefused(`${name} has the wrong type`);
    event[name] = claims[name];
  }
  return Object.freeze(event);
}

function eventText(bytes) {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new AssertionRefused("token malformed"); // not UTF-8: no JWS
  }
}

// Exactly the edge's base64url: the URL alphabet, no padding, no stray bits in the last
// character. Lenient decoders (Buffer, jose) read other texts as the same bytes, so a
// token the edge would refuse could pass here.
function isCanonicalBase64url(text) {
  return /^[A-Za-z0-9_-]*$/.test(text) && Buffer.from(text, "base64url").toString("base64url") === text;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A JWS part as a JSON object (a base64url string, or the bytes jose verified). */
function jsonObject(part) {
  try {
    const value = JSON.parse(UTF8.decode(typeof part === "string" ? Buffer.from(part, "base64url") : part));
    if (isObject(value)) return value;
  } catch {
    // Not UTF-8 or not JSON: malformed, as below.
  }
  throw new AssertionRefused("token malformed");
}

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The claims of a compact JWS `token`, as the edge checks them (`jws::verify`): its size,
 * canonical base64url, the header (`typ` is the expected one, in lower case), the
 * signature (`verifySignature(token, header)`: the payload's bytes, or it throws), `aud`,
 * and the times at `now` (Unix seconds).
 */
async function verifyJws(token, verifySignature, { typ, audience, now, maxLifetime }) {
  if (token.length > MAX_TOKEN_LEN) throw new AssertionRefused("token too large");
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every(isCanonicalBase64url)) throw new AssertionRefused("token malformed");
  const header = jsonObject(parts[0]);
  checkHeader(header, typ);
  const claims = jsonObject(await verifySignature(token, header));
  checkTimes(claims, audience, now, maxLifetime);
  return claims;
}

/** No key of ours could have signed it: its kid names none (or two), or without a kid none
 * verifies. */
class KeyMissing extends AssertionRefused {}

// A kid is a promise of which key signed: a kid naming no key, or two, is refused even if
// another key (or one of the two) would verify. Two usable keys under one kid make the set
// ambiguous, and the edge never publishes that (a ring with a repeated kid is refused when
// parsed; a JWKS may hold one, so its kid is refused here, and may fetch the set again as
// an unknown one does). Without a kid, every key is tried (all are trusted alike).
function candidates(keys, header) {
  if (!Object.hasOwn(header, "kid")) return keys;
  if (typeof header.kid !== "string") throw new AssertionRefused("token malformed");
  const named = keys.filter((k) => k.kid === header.kid);
  if (named.length !== 1) throw new KeyMissing("unknown kid");
  return named;
}

/**
 * The verified payload's bytes, if one of `keys` (the ring's secrets, or the JWKS's public
 * keys) signed `token` with `alg`, the only algorithm jose is allowed.
 */
async function verifyWithKeys(token, keys, header, alg) {
  for (const { key } of candidates(keys, header)) {
    try {
      return (await compactVerify(token, key, { algorithms: [alg] })).payload;
    } catch {
      // Not this key: try the next.
    }
  }
  throw Object.hasOwn(header, "kid") ? new AssertionRefused("bad signature") : new KeyMissing("no key verifies");
}

// `alg` (checked by the verifier: exactly HS256, or ES256 for an assertion) refuses `none`
// and algorithm confusion (RFC 8725 §3.1). `typ` (in
// any ASCII case, RFC 7515 §4.1.9) keeps a login directive or an event, signed with the
// same key, from passing as an assertion, and the reverse (RFC 8725 §3.11). A `crit`
// names extensions we do not implement, so we must refuse it (RFC 7515 §4.1.11).
function checkHeader(header, typ) {
  // ASCII case only: toLowerCase alone would also fold, say, the Kelvin sign into "k".
  if (typeof header.typ !== "string" || !/^[\x20-\x7e]*$/.test(header.typ) || header.typ.toLowerCase() !== typ) {
    throw new AssertionRefused("wrong typ");
  }
  if (Object.hasOwn(header, "crit")) throw new AssertionRefused("unsupported crit header");
}

// `aud` and the times, as the edge checks them; `now` in Unix seconds.
function checkTimes(claims, audience, now, maxLifetime) {
  const { aud } = claims;
  if (aud !== audience && !(Array.isArray(aud) && aud.includes(audience))) throw new AssertionRefused("wrong aud");
  const exp = numericDate(claims.exp);
  const iat = numericDate(claims.iat);
  if (exp === null || iat === null) throw new AssertionRefused("exp or iat missing");
  if (now >= exp + CLOCK_TOLERANCE_SECS) throw new AssertionRefused("expired");
  if (iat > now + CLOCK_TOLERANCE_SECS) throw new AssertionRefused("iat in the future");
  if (exp - iat > maxLifetime) throw new AssertionRefused("lifetime too long");
  if (Object.hasOwn(claims, "nbf")) {
    const nbf = numericDate(claims.nbf);
    if (nbf === null || nbf > now + CLOCK_TOLERANCE_SECS) throw new AssertionRefused("not yet valid (nbf)");
  }
}

// An assertion's own claims, as the edge checks them.
function checkAssertionClaims(claims) {
  if (claims.iss !== ISSUER) throw new AssertionRefused("iss is not edge-session");
  // Without a user and a session there is nobody to trust.
  if (typeof claims.sub !== "string" || claims.sub === "") throw new AssertionRefused("sub missing");
  if (typeof claims.sid !== "string") throw new AssertionRefused("sid missing");
  if (typeof claims.state !== "string") throw new AssertionRefused("state missing");
  if (claims.ctx != null && !isObject(claims.ctx)) throw new AssertionRefused("ctx is not an object");
  for (const name of ["context_changed", "auth_time"]) {
    if (claims[name] != null && numericDate(claims[name]) === null) throw new AssertionRefused(`${name} is not a NumericDate`);
  }
  if (claims.amr != null && !(Array.isArray(claims.amr) && claims.amr.every((name) => typeof name === "string"))) {
    throw new AssertionRefused("amr is not an array of strings");
  }
}

/**
 * Whether `user` signed in (`auth_time`) at most `maxAgeSecs` before `now` and the session
 * has not refreshed from another context since (`context_changed`), as the Rust crate's
 * `EdgeUser::signed_in_within`. An `auth_time` more than the clock skew allowance ahead
 * is no proof: on an origin whose clock lags, it would stay "recent" longer than
 * `maxAgeSecs` (nothing the edge signs says so).
 */
function signedInWithin(user, maxAgeSecs, now) {
  requireMaxAge(maxAgeSecs);
  if (!user || user.auth_time == null) return false;
  return user.auth_time <= now + CLOCK_TOLERANCE_SECS && now - user.auth_time <= maxAgeSecs
    && (user.context_changed == null || user.context_changed <= user.auth_time);
}

/** Throws unless `maxAgeSecs` is a number of seconds ≥ 0 (NaN, undefined and strings are not). */
function requireMaxAge(maxAgeSecs) {
  if (typeof maxAgeSecs !== "number" || !(maxAgeSecs >= 0)) throw new TypeError("maxAgeSecs must be a number of seconds ≥ 0");
}

/** An optional secret (DIRECTIVE_SECRET, ADMIN_SECRET) unset as the edge reads it: absent, or only White_Space. */
const isUnset = (text) => text == null || (typeof text === "string" && text.replace(AROUND_WHITE_SPACE, "") === "");

/**
 * Where ES256 keys come from: `EDGE_JWKS` (parsed now: a bad one fails at startup) or
 * `EDGE_JWKS_URL` (checked now, fetched on first use); null when neither is set.
 */
function jwksSource(jwks, jwksUrl, { clock, log }) {
  const hasJwks = typeof jwks === "object" ? jwks !== null : !isUnset(jwks);
  const hasUrl = !isUnset(jwksUrl);
  // Two sources would leave it unclear which keys are trusted.
  if (hasJwks && hasUrl) throw new TypeError("EDGE_JWKS and EDGE_JWKS_URL are both set: give one");
  if (hasJwks) return new StaticJwks(parseJwks(jwks));
  if (hasUrl) return new RemoteJwks(jwksEndpoint(jwksUrl), { clock, log });
  return null;
}

/** A NumericDate (RFC 7519 §2) as the edge reads one: seconds ≥ 0, fractions truncated. */
function numericDate(value) {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.trunc(value) : null;
}

/**
 * What a request handler works with, whatever the framework: `user` (or null), `refusal`,
 * and `login` / `logout` / `adopt`, which set the directive on this request's response.
 * `header(name)` reads a request header, `setHeader(name, value)` writes a response one,
 * `removeHeader(name)` removes one (default: `setHeader(name, undefined)`, as Hono's
 * `c.header` reads it). Where removal throws (the default on a plain `node:http`
 * response: `ERR_HTTP_INVALID_HEADER_VALUE`), `logout` overwrites the bridge's login
 * with an empty `X-Edge-Login` instead, which the edge ignores as an invalid directive.
 */
export async function edgeRequest(edge, header, setHeader, removeHeader = (name) => setHeader(name, undefined)) {
  const user = await edge.identify(header);
  const nonce = header(NONCE_HEADER) ?? null;
  // The edge strips this header from every client request and sets it itself: on an
  // identified request it is the assertion's state; on an anonymous one, why the edge
  // refused the cookie it carried. Absent when there was no edge cookie.
  const state = header(STATE_HEADER) ?? null;
  // Whether the login on this response came from `adopt`, and whether `logout` was called.
  let adopted = false;
  let loggedOut = false;
  // Removes the bridge's login. A `removeHeader` that throws (the default on a plain
  // `node:http` response, which refuses `undefined`) must not leave it there: an empty
  // X-Edge-Login overwrites it, and the edge ignores that as an invalid directive (it logs
  // `directive_rejected`) while still applying the logout beside it.
  const takeBackLogin = () => {
    try {
      removeHeader(LOGIN_HEADER);
    } catch {
      setHeader(LOGIN_HEADER, "");
    }
  };
  return {
    user,
    nonce,
    /**
     * Whether the user signed in at most `maxAgeSecs` ago (by the edge's `clock`) and the
     * session has not refreshed from another context since: what a sensitive action asks.
     */
    signedInWithin(maxAgeSecs) {
      return signedInWithin(user, maxAgeSecs, Math.floor(edge.clock()));
    },
    /** Why the edge refused this anonymous request's edge cookie (`ended`, `expired`, `reused`, `device_bound`, `invalid`), or null. */
    refusal: user ? null : state,
    /** Logs `sub` in when this response reaches the edge (`{ remember, ctx, amr }`). */
    async login(sub, options) {
      setHeader(LOGIN_HEADER, await edge.loginDirective(nonce, sub, options));
      // The app's own login replaced the bridge's: a logout beside it is then an account
      // switch, and must keep it (as the Rust origin's `Edge::login`).
      adopted = false;
    },
    /**
     * Records that this request's user just proved who they are again (`{ amr }`: how, e.g.
     * ["pwd"]): when this response reaches the edge, the session's `auth_time` moves to now
     * and its credential rotates, so `requireRecentAuth` passes on the next request. Throws
     * on an anonymous request (a step-up is not a login).
     */
    async stepUp(options) {
      if (!user) throw new TypeError("stepUp needs a signed-in request: use login for an anonymous one");
      setHeader(STEP_UP_HEADER, await edge.stepUpDirective(nonce, user.sub, options));
    },
    /**
     * Logs this session out. `scope: "everywhere"`: every session of `sub`, by default this
     * request's user (on an anonymous request without `sub`, it throws).
     */
    async logout(options = {}) {
      loggedOut = true;
      const everywhere = options.scope === "everywhere" && options.sub == null;
      const directive = await edge.logoutDirective(nonce, everywhere ? { ...options, sub: user?.sub } : options);
      // The logout header first: if taking the login back failed after it, the response
      // would otherwise carry the bridge's login and no logout, and log the user in.
      setHeader(LOGOUT_HEADER, directive);
      // The edge applies logout then login: the bridge's login would undo this logout.
      if (adopted) {
        adopted = false;
        takeBackLogin();
      }
    },
    /**
     * The migration bridge: a request that still carries the app's own (legacy) session
     * for `sub`, no edge identity and no edge cookie is answered with a login directive,
     * so the next request is an edge session. Returns whether it did. Clear the legacy
     * session in this same response. After `logout` on this request it does nothing,
     * and a later `logout` takes back the login it put there.
     */
    async adopt(sub, options) {
      if (user || !sub || loggedOut) return false;
      // The edge refused this jar's edge cookie (logged out everywhere, revoked, reused,
      // or a device-bound session's cookie without its key). The legacy cookie beside it
      // is from the same jar: logging it in again would undo that refusal.
      if (state !== null) {
        edge.log("edge_adopt_refused", { refusal: state });
        return false;
      }
      if (!nonce) {
        edge.log("edge_adopt_no_nonce", { reason: "no X-Edge-Nonce: the request did not come through the edge" });
        return false;
      }
      // The app's old session is no proof of presence now: auth_time 0, so
      // requireRecentAuth still asks for a password.
      const directive = await edge.loginDirective(nonce, sub, { ...options, authTime: 0 });
      if (loggedOut) return false; // a logout on this request wins, even one begun while signing
      setHeader(LOGIN_HEADER, directive);
      adopted = true;
      return true;
    },
  };
}

/** The answer `requireUser` gives an anonymous request: 401 for an API, a redirect for a page. */
export function anonymousAnswer(options) {
  return refusalAnswer(options, "not signed in");
}

/**
 * The answer `requireRecentAuth` gives a signed-in request without a recent sign-in: as
 * `anonymousAnswer`, with the error "recent sign-in required" (send the user to sign in again).
 */
export function recentAuthAnswer(options) {
  return refusalAnswer(options, "recent sign-in required");
}

function refusalAnswer({ mode = "api", loginUrl = "/login" } = {}, error) {
  return mode === "page"
    ? { status: 303, headers: { location: loginUrl, "cache-control": "no-store" }, body: "" }
    : { status: 401, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify({ error }) };
}

/**
 * `{edgeUrl}/__edge/admin`, parsed rather than concatenated: an `EDGE_URL` with a path,
 * query or credentials would send the bearer token to a path the edge does not answer,
 * which it forwards to the app, `Authorization` included. The rule is the Rust crate's:
 * `http(s)://host[:port]`, an optional trailing slash. A refusal names the rule it broke,
 * never the value: with the arguments swapped, that would be `ORIGIN_SECRET`.
 */
function adminEndpoint(edgeUrl) {
  const refused = (rule) => new TypeError(`EDGE_URL (edgeUrl) must be http(s)://host[:port], with no path, query, fragment or credentials: ${rule}`);
  const text = String(edgeUrl);
  // URL would drop whitespace and control characters where it meets them.
  if (/[\s\p{Cc}]/u.test(text)) throw refused("it is not a URL");
  let url;
  try {
    url = new URL(text);
  } catch {
    throw refused("it is not a URL"); // not its error: that one quotes the input
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw refused("the scheme is not http or https");
  if (url.username || url.password) throw refused("it has credentials");
  if (!url.hostname) throw refused("it has no host");
  if (url.pathname !== "/") throw refused("it has a path");
  // On the text: URL reads "/?" as no query and "/#" as no fragment.
  if (text.includes("?")) throw refused("it has a query");
  if (text.includes("#")) throw refused("it has a fragment");
  url.pathname = "/__edge/admin";
  return url.href;
}

// A session id (the edge's family id, `sid`): 16 bytes as canonical base64url, 22
// characters whose last holds 2 bits and 4 zero bits (the Rust crate's FamilyId::parse).
const SESSION_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;

function requireSessionId(sid) {
  if (typeof sid !== "string" || !SESSION_ID.test(sid)) {
    throw new TypeError(`not a session id: ${typeof sid === "string" ? JSON.stringify(sid) : String(sid)}`);
  }
}

// A login's or step-up's `amr`: the edge would ignore the whole directive
// (directive_rejected), so it is refused here, by name.
function requireAmr(amr) {
  if (amr != null && !(Array.isArray(amr) && amr.length >= 1 && amr.length <= MAX_AMR
    && amr.every((name) => typeof name === "string" && AMR_NAME.test(name)))) {
    throw new TypeError(`amr must be 1 to ${MAX_AMR} names of [A-Za-z0-9_.:-]{1,16}`);
  }
}

// The edge ignores a directive that does not echo the X-Edge-Nonce of the request it
// answers, so a cached or captured response can never log anyone else in.
function requireNonce(nonce) {
  if (!nonce) throw new TypeError("no X-Edge-Nonce: a directive can only answer a request that came through the edge");
  return nonce;
}

function defaultLog(event, detail) {
  console.warn(JSON.stringify({ event, ...detail }));
}

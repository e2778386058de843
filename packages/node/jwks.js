// The edge's public keys, for ES256 assertions (`ASSERTION_ALG=ES256`): a JWKS given as
// `EDGE_JWKS` (parsed once, at startup) or fetched from `EDGE_JWKS_URL` (the edge's
// `/__edge/jwks.json`, on the first ES256 assertion, then kept five minutes). Either is a
// list of `{ kid, key }` that index.js tries as it tries the ORIGIN_SECRET ring.
//
// Not jose's createRemoteJWKSet: it reads any body size, keeps no cooldown after a failed
// fetch (a JWKS endpoint that is down would be fetched on every request), stops using its
// keys when a refresh fails, and errs on a key with `d` instead of skipping it. Not its
// createLocalJWKSet either: without a `kid`, two keys match and it throws
// JWKSMultipleMatchingKeys instead of trying each. node:crypto imports a key (it refuses a
// point off the curve); jose's compactVerify checks the signature.
import { createPublicKey } from "node:crypto";

const CACHE_SECS = 300; // the edge serves the JWKS with max-age=300
const COOLDOWN_SECS = 30;
// How long keys kept through failed fetches go on verifying after the last good one. A key
// the edge stopped publishing (perhaps because it leaked) must not verify forever while the
// URL is down; a day rides out an outage of the edge without logging everyone out.
const MAX_KEEP_SECS = 24 * 3600;
const FETCH_TIMEOUT_MS = 5000;
const MAX_BODY_BYTES = 64 * 1024;
// The order of P-256's group: an ECDSA signature's r and s are in [1, N - 1].
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const isCanonicalBase64url = (text) =>
  typeof text === "string" && /^[A-Za-z0-9_-]*$/.test(text) && Buffer.from(text, "base64url").toString("base64url") === text;

/**
 * `EDGE_JWKS` (the JSON text, or the object it parses to) as its usable keys. A
 * configuration error (a `TypeError`) for anything but `{"keys": [...]}` holding at least
 * one usable key and no private part. A refusal never quotes the value (a `d` is secret).
 */
export function parseJwks(value, name = "EDGE_JWKS") {
  let jwks = value;
  if (typeof value === "string") {
    try {
      jwks = JSON.parse(value);
    } catch {
      throw new TypeError(`${name} is not JSON`); // not JSON.parse's message: it quotes the text
    }
  }
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw new TypeError(`${name} is not a JWKS: {"keys": [...]}`);
  // A private key here means the signing key was copied where it has no business: refuse
  // to start rather than let it sit in a verifier's configuration.
  const i = jwks.keys.findIndex((jwk) => isObject(jwk) && Object.hasOwn(jwk, "d"));
  if (i >= 0) throw new TypeError(`${name} key #${i + 1} has a private part (d): give the public keys only`);
  const keys = usableKeys(jwks.keys);
  if (keys.length === 0) throw new TypeError(`${name} holds no usable key (kty EC, crv P-256, use sig, alg ES256)`);
  return keys;
}

/**
 * The keys of a JWKS that can verify ES256, as `{ kid, key }` (`kid` undefined when the
 * JWK has none). Any other key is skipped, not an error: the set may hold keys for other
 * uses, and a later edge may publish other kinds.
 */
export function usableKeys(jwks) {
  return jwks.flatMap((jwk) => {
    const key = isUsable(jwk) && importKey(jwk);
    return key ? [{ kid: jwk.kid, key }] : [];
  });
}

function isUsable(jwk) {
  return isObject(jwk) && jwk.kty === "EC" && jwk.crv === "P-256"
    && (!Object.hasOwn(jwk, "use") || jwk.use === "sig")
    && (!Object.hasOwn(jwk, "alg") || jwk.alg === "ES256")
    && (!Object.hasOwn(jwk, "kid") || typeof jwk.kid === "string")
    // A private key is never used to verify, even where it is only skipped (a fetched set).
    && !Object.hasOwn(jwk, "d")
    && [jwk.x, jwk.y].every((c) => isCanonicalBase64url(c) && Buffer.from(c, "base64url").length === 32);
}

/** The public key, or null when (x, y) is not a point of P-256 (node:crypto checks). */
function importKey({ x, y }) {
  try {
    return createPublicKey({ key: { kty: "EC", crv: "P-256", x, y }, format: "jwk" });
  } catch {
    return null;
  }
}

/**
 * Whether an ES256 signature (already canonical base64url) is `r || s` as RFC 7518 §3.4
 * has it: exactly 64 bytes, r and s in [1, N - 1]. WebCrypto would read other lengths
 * and out-of-range values as merely wrong; the edge refuses them before any key is
 * tried, and so no such token makes this package fetch the JWKS.
 */
export function isEs256Signature(bytes) {
  if (bytes.length !== 64) return false;
  const r = BigInt(`0x${bytes.subarray(0, 32).toString("hex")}`);
  const s = BigInt(`0x${bytes.subarray(32).toString("hex")}`);
  return r >= 1n && r < N && s >= 1n && s < N;
}

/** `EDGE_JWKS`: the same keys, always. */
export class StaticJwks {
  constructor(keys) {
    this.keys = keys;
  }

  async current() {
    return this.keys;
  }

  async refresh() {}
}

/**
 * `EDGE_JWKS_URL`, fetched when an ES256 assertion first needs it and kept five minutes.
 * A `kid` the set lacks or names twice (or no cached key that verifies a token without
 * one) fetches it again, but at most once per 30 s cooldown, counted from every attempt,
 * failed ones too: an attacker sending random kids, or an edge that is down, costs one
 * fetch per 30 s.
 * Concurrent callers share the fetch under way. A failed fetch is logged
 * (`edge_jwks_unavailable`) and keeps the keys already held, which go on verifying for
 * at most 24 h after the last fetch that succeeded. A 404 is the edge saying it publishes
 * no JWKS (it signs HS256 again): the keys held are dropped at once.
 * Time is the package's `clock` (Unix seconds).
 */
export class RemoteJwks {
  #url;
  #clock;
  #log;
  #keys = null;
  #fetchedAt = -Infinity;
  #attemptedAt = -Infinity;
  #pending = null;

  constructor(url, { clock, log }) {
    this.#url = url;
    this.#clock = clock;
    this.#log = log;
  }

  /**
   * The keys of the last fetch that succeeded, or null: none yet, a 404 dropped them, or
   * that fetch is over 24 h old. Checked on every read, not only when a fetch fails: the
   * cooldown may hold the next attempt back past the 24 h.
   */
  get keys() {
    return this.#isTooOld() ? null : this.#keys;
  }

  #isTooOld() {
    return this.#clock() - this.#fetchedAt > MAX_KEEP_SECS;
  }

  /** The keys, fetched first if there are none yet or they are five minutes old. */
  async current() {
    if (this.keys === null || this.#clock() - this.#fetchedAt >= CACHE_SECS) await this.refresh();
    return this.keys;
  }

  /** Fetches the set unless one was attempted less than 30 s ago; joins a fetch under way. */
  async refresh() {
    if (this.#pending) return this.#pending;
    const now = this.#clock();
    if (now - this.#attemptedAt < COOLDOWN_SECS) return;
    this.#attemptedAt = now;
    this.#pending = this.#fetch().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #fetch() {
    try {
      const keys = usableKeys(await fetchJwks(this.#url));
      // The edge always publishes its signing key: a set with none is a misconfigured
      // server (or not the edge), so the keys held go on verifying (within their 24 h).
      if (keys.length === 0) throw new JwksUnavailable("the JWKS holds no usable key");
      this.#keys = keys;
      this.#fetchedAt = this.#clock();
    } catch (e) {
      // The reason is one of fetchJwks's own messages or the network's error code, never
      // the body: it could be anything a misconfigured server sends.
      const reason = e instanceof JwksUnavailable ? e.message : networkReason(e);
      const dropped = this.#dropKeys(e instanceof JwksGone);
      this.#log("edge_jwks_unavailable", dropped ? { reason, dropped } : { reason });
    }
  }

  /**
   * After a failed fetch: forgets the keys held if the edge answered 404 (`gone`) or the
   * last good fetch is over 24 h old, and says why (for the log), once; else null.
   */
  #dropKeys(gone) {
    if (this.#keys === null || !(gone || this.#isTooOld())) return null;
    this.#keys = null;
    return gone ? "the keys held: the edge publishes no JWKS" : `the keys held: last fetched over ${MAX_KEEP_SECS / 3600} h ago`;
  }
}

class JwksUnavailable extends Error {}
/** A 404: no JWKS at all (the edge signs HS256), an answer rather than an outage. */
class JwksGone extends JwksUnavailable {}

function networkReason(e) {
  if (e?.name === "TimeoutError") return `no answer within ${FETCH_TIMEOUT_MS / 1000} s`;
  return `fetch failed${e?.cause?.code ? ` (${e.cause.code})` : ""}`;
}

/** The `keys` array of the JWKS at `url`: a 200, at most 64 KiB, `{"keys": [...]}`. */
async function fetchJwks(url) {
  // One deadline for the answer and the body: a server trickling bytes is cut off too.
  const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  // redirect "manual": a redirect is no JWKS, and following one could leave https.
  const res = await fetch(url, { signal, redirect: "manual", headers: { accept: "application/jwk-set+json, application/json" } });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new (res.status === 404 ? JwksGone : JwksUnavailable)(`status ${res.status}`);
  }
  const text = await readCapped(res);
  let jwks;
  try {
    jwks = JSON.parse(text);
  } catch {
    throw new JwksUnavailable("not JSON");
  }
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw new JwksUnavailable('not a JWKS: {"keys": [...]}');
  return jwks.keys;
}

/** The body as UTF-8, read up to 64 KiB: a larger one is refused without reading the rest. */
async function readCapped(res) {
  if (Number(res.headers.get("content-length")) > MAX_BODY_BYTES) {
    await res.body?.cancel();
    throw new JwksUnavailable(`body over ${MAX_BODY_BYTES} bytes`);
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    // Leaving the loop cancels the stream: the rest is never read.
    if (size > MAX_BODY_BYTES) throw new JwksUnavailable(`body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new JwksUnavailable("not UTF-8");
  }
}

/**
 * `EDGE_JWKS_URL` as a URL, or a configuration error: `https:`, or `http:` to a loopback
 * host only. A JWKS read in clear text over a network is a key an attacker on the path
 * chooses. The refusal names the rule, never the value.
 */
export function jwksEndpoint(text) {
  const refused = (rule) => new TypeError(`EDGE_JWKS_URL (jwksUrl) ${rule}`);
  let url;
  try {
    url = new URL(String(text));
  } catch {
    throw refused("is not a URL");
  }
  if (url.username || url.password) throw refused("must not hold credentials");
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && isLoopback(url.hostname)) return url;
  throw refused("must be https:, or http: to localhost, 127.0.0.0/8 or [::1] (a JWKS read in clear text is a key anyone on the path can replace)");
}

// URL has already normalized the host: "127.1" and "0x7f.0.0.1" read "127.0.0.1",
// "[0:0::1]" reads "[::1]", and the name is in lower case.
const isLoopback = (host) => host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

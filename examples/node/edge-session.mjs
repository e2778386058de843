// edge-session origin kit for Node (jose): verify `X-Edge-Assertion`, sign the
// `X-Edge-Login` / `X-Edge-Logout` directives (docs/design.md §4), call the edge's admin API.
// Secrets use the edge's format `kid:secret[,kid:secret…]`; the first signs, all verify;
// the key is the secret's text.
import { randomBytes } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";

export function parseKeys(text) {
  const keys = text.split(",").map((p) => p.trim()).filter(Boolean).map((pair) => {
    const i = pair.indexOf(":");
    return { kid: pair.slice(0, i), key: new TextEncoder().encode(pair.slice(i + 1)) };
  });
  if (keys.length === 0) throw new Error("ORIGIN_SECRET holds no kid:secret pair");
  return keys;
}

/** The identity claims of a valid assertion, or null (bad signature, alg, typ, aud, iss, exp). */
export async function verifyAssertion(token, keys, audience = "origin") {
  if (!token) return null;
  for (const { key } of keys) {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ["HS256"], typ: "JWT", audience, issuer: "edge-session", requiredClaims: ["sub", "sid", "iat"],
      });
      return payload;
    } catch {}
  }
  return null;
}

function directive(typ, claims, keys, lifetime = 120) {
  const { kid, key } = keys[0];
  // One clock reading: jose's relative setExpirationTime reads the clock again, and a
  // second ticking in between would make exp - iat exceed an admin token's 60 s.
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ aud: "edge-session", ...claims })
    .setProtectedHeader({ alg: "HS256", typ, kid })
    .setIssuedAt(now)
    .setExpirationTime(now + lifetime)
    .sign(key);
}

// The edge ignores a directive that does not echo the X-Edge-Nonce of the request it
// answers, so a cached or captured response can never log anyone else in.
function requireNonce(nonce) {
  if (!nonce) throw new TypeError("no X-Edge-Nonce: a directive can only answer a request that came through the edge");
  return nonce;
}

/** Value for the `X-Edge-Login` response header; `nonce` is the request's `X-Edge-Nonce`. */
export const loginDirective = (sub, keys, { nonce, remember = false, ctx } = {}) =>
  directive("edge-login+jwt", { sub, remember, nonce: requireNonce(nonce), ...(ctx ? { ctx } : {}) }, keys);

/** Value for the `X-Edge-Logout` response header (`scope`: "session" or "everywhere"). */
export const logoutDirective = (keys, { nonce, scope = "session", sub } = {}) =>
  directive("edge-logout+jwt", { scope, nonce: requireNonce(nonce), ...(sub ? { sub } : {}) }, keys);

/**
 * `X-Edge-User` as the `sub` it encodes (bytes outside `A-Za-z0-9._~@+-` are
 * percent-encoded). A convenience: trust the verified assertion's `sub`, unless the
 * origin is reachable only through the edge.
 */
export const decodeUser = (header) => (header == null ? null : decodeURIComponent(header));

// The edge refuses admin tokens whose exp - iat is longer.
const ADMIN_MAX_LIFETIME = 60;

/**
 * Bearer token for `POST /__edge/admin`. `act`: "list", "revoke" (needs `sid`) or
 * "revoke_all" (`except`: a sid to keep). Every parameter is a signed claim.
 */
export async function adminToken(sub, act, keys, { sid, except, lifetime = ADMIN_MAX_LIFETIME } = {}) {
  if (!(lifetime > 0 && lifetime <= ADMIN_MAX_LIFETIME)) throw new RangeError(`lifetime must be 1..${ADMIN_MAX_LIFETIME} s: the edge refuses longer`);
  if (act === "revoke" && !sid) throw new TypeError("revoke needs sid");
  // A random jti makes each token single-use for revocations (the edge refuses a replay).
  const jti = randomBytes(12).toString("base64url");
  return directive("edge-admin+jwt", { sub, act, jti, ...(sid ? { sid } : {}), ...(except ? { except } : {}) }, keys, lifetime);
}

/**
 * Calls the admin API at `edgeUrl` (the app's public URL): `{ status, body }`, e.g.
 * `{ status: 200, body: { revoked: 1 } }` or `{ status: 404, body: { error } }`.
 */
export async function adminCall(edgeUrl, sub, act, keys, { sid, except } = {}) {
  const token = await adminToken(sub, act, keys, { sid, except });
  const res = await fetch(new URL("/__edge/admin", edgeUrl), {
    method: "POST", headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

// edge-session origin kit for Node (jose): verify `X-Edge-Assertion`, sign the
// `X-Edge-Login` / `X-Edge-Logout` directives (DESIGN §4). Secrets use the edge's format
// `kid:secret[,kid:secret…]`; the first signs, all verify; the key is the secret's text.
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
  return new SignJWT({ aud: "edge-session", ...claims })
    .setProtectedHeader({ alg: "HS256", typ, kid })
    .setIssuedAt()
    .setExpirationTime(`${lifetime}s`)
    .sign(key);
}

/** Value for the `X-Edge-Login` response header. */
export const loginDirective = (sub, keys, { remember = false, ctx } = {}) =>
  directive("edge-login+jwt", { sub, remember, ...(ctx ? { ctx } : {}) }, keys);

/** Value for the `X-Edge-Logout` response header (`scope`: "session" or "everywhere"). */
export const logoutDirective = (keys, { scope = "session", sub } = {}) =>
  directive("edge-logout+jwt", { scope, ...(sub ? { sub } : {}) }, keys);

// A DBSC device in Node: a P-256 key pair (WebCrypto) that signs proofs exactly as a
// browser does (webappsec-dbsc: header {alg: ES256, typ: dbsc+jwt, jwk?}, payload {jti},
// r‖s signature). Tests use it where Chromium cannot be steered: a registration sent
// twice, a challenge signed again, a thief's own key. tests/e2e/dbsc.test.mjs proves the
// protocol itself with Chromium; this is a second, independent peer of the same protocol.

const b64 = (bytes) => Buffer.from(typeof bytes === "string" ? bytes : new Uint8Array(bytes)).toString("base64url");

/** A new device key: `sign(jti, { withJwk })` is a compact proof over that challenge. */
export async function deviceKey() {
  const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", publicKey);
  const jwk = { kty, crv, x, y };
  const sign = async (jti, { withJwk = false } = {}) => {
    const header = b64(JSON.stringify({ alg: "ES256", typ: "dbsc+jwt", ...(withJwk ? { jwk } : {}) }));
    const input = `${header}.${b64(JSON.stringify({ jti }))}`;
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, new TextEncoder().encode(input));
    return `${input}.${b64(signature)}`;
  };
  return { jwk, sign };
}

/** `Secure-Session-Registration` of a login response: `{ path, challenge }`, or null. */
export function registrationOffer(headers) {
  const value = headers.get("secure-session-registration");
  const match = value && /^\(ES256\);path="([^"]+)";challenge="([^"]+)"$/.exec(value);
  return match ? { path: match[1], challenge: match[2] } : null;
}

/** `Secure-Session-Challenge` of an answer: `{ challenge, id }`, or null. */
export function challengeOf(headers) {
  const match = /^"([^"]+)";id="([^"]+)"$/.exec(headers.get("secure-session-challenge") ?? "");
  return match ? { challenge: match[1], id: match[2] } : null;
}

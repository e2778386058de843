// The ES256 half of the assertion vectors (ASSERTION_ALG=ES256): tokens a package must
// verify with the edge's public JWKS alone, and the ones it must refuse, among them every
// way to confuse one algorithm with the other.
//
// The oracle is node:crypto's ECDSA, nothing else. ECDSA signatures are randomized, so to
// keep vectors.json byte for byte the same from one run to the next, a signature already
// in vectors.json is reused when it signs the same bytes with the same key (checked by
// verifying it); anything new is signed afresh.
import { createPrivateKey, createPublicKey, sign as ecSign, verify as ecVerify } from "node:crypto";

// Three fixed P-256 test keys, JWK form. a2 signs, a1 is the older key still published
// mid-rotation, x9 is nobody's: it is in no JWKS. Test keys only; never a real one.
const PRIVATE = {
  a2: { x: "IStGseY_waoLb5O1YCS1RXwz-3OoAYiATJ443RtmAx4", y: "-x5Ao_2cs7e3A7Yp8M16W6kdQTVYAlRIyjOhfFhxEC0", d: "yC606bQo8zuIJ9X4fQ-HaskHnIhEIIh3hVpHfsFwfYk" },
  a1: { x: "kk9XXiG9MBeRgg31Shl5kV9_6cV9E1EmYkRhjLoWhCg", y: "F__le398HCdmggHsd045P0DULf9LyevhMI-80CXd5og", d: "enYCdVYaAiWZOZOhI10x6h-UQagpOyomE7qMOjI63HM" },
  x9: { x: "CU39ko9EX3ufitMFJyG07hRkEd9ZwnyBpLqP6hinMIk", y: "bxQCz2UTMPrW1SC1xh5cyQRm41tegnyVzrbSPrGAtvI", d: "4G-SsDbeKa6pFsc_4bBytja3Ry2-B-RbcR4RPtkewqI" },
};
// The order of P-256's group: a signature's r and s are in [1, N - 1].
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const privateKey = (kid) => createPrivateKey({ key: { kty: "EC", crv: "P-256", ...PRIVATE[kid] }, format: "jwk" });
const publicKey = (kid) => createPublicKey(privateKey(kid));
/** A JWK as GET /__edge/jwks.json serves it, with `over` merged in (`undefined` removes a field). */
const jwk = (kid, over = {}) => ({
  kty: "EC", crv: "P-256", kid, use: "sig", alg: "ES256", x: PRIVATE[kid].x, y: PRIVATE[kid].y, ...over,
});
/** An RSA public key (no one's, the private part was never kept) under the kid a2: skipped. */
const RSA_JWK = {
  kty: "RSA", kid: "a2", use: "sig", alg: "RS256", e: "AQAB",
  n: "i5rOKy3IWmhqNvFOAvagSor7PvLHXuaDRY-3JTsyr4Bf7shS4id267ryQYwifJcucuA45wudTFAu5NrPkwse2P52_HrV-d6Rx-Z8xKpsG4oMZjQDxiYMnaNtdOZ2Pd80TIvzniLlidOZXtgqwDzkKEuZB-SKpu7SaPaZRy2eqfe6E5l6Vgp726Y5lG5hBEYeS_cs7M0puI5C-_fbwPDZ8BXHAhxpDab-jyZM0Q0VMr7QGz3korigIkk7i7bu2caC-Xvo0J8R2ux2aXaDJbahckd5NkAgUZI3zlik6Uvauizf6I9zJYZrn-iAQbwQCX3EE0gsDUDXBXNwfFqI4StAiQ",
};
/** The edge's JWKS mid-rotation: a2 signs, a1 still verifies. */
export const JWKS = { keys: [jwk("a2"), jwk("a1")] };

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const json = (value) => (typeof value === "string" ? value : JSON.stringify(value));
const toBytes = (n) => Buffer.from(n.toString(16).padStart(64, "0"), "hex");

/**
 * The ES256 assertion vectors. `header`, `claims` and `identity` are the generator's
 * (HS256 defaults), `hmac(header, claims, key)` its HS256 signer, `ring`/`hmacKey` an
 * ORIGIN_SECRET ring and its first key, `previous` the vectors.json being replaced (or null).
 */
export function es256Assertions({ header, claims, identity, hmac, ring, hmacKey, now, audience, previous }) {
  const reuse = previousSignatures(previous);
  /** A compact JWS signed by `kid`; `der`: the signature in ASN.1 DER, as JWS forbids. */
  function sign(h, c, kid, { der = false } = {}) {
    const input = `${b64u(json(h))}.${b64u(json(c))}`;
    const dsaEncoding = der ? "der" : "ieee-p1363";
    const verifies = (sig) => ecVerify("sha256", Buffer.from(input), { key: publicKey(kid), dsaEncoding }, sig);
    let kept = (reuse.get(input) ?? []).find(verifies);
    if (!kept) {
      kept = ecSign("sha256", Buffer.from(input), { key: privateKey(kid), dsaEncoding });
      reuse.set(input, [...(reuse.get(input) ?? []), kept]); // the same bytes signed twice in one run: one signature
    }
    return `${input}.${b64u(kept)}`;
  }
  const esHeader = (over = {}) => header({ alg: "ES256", kid: "a2", ...over });
  const out = [];
  const push = (name, { jwks = JWKS, secret = null, token, valid, c }) =>
    out.push({ name, secret, jwks, audience, now, token, valid, ...(valid ? { claims: identity(c) } : {}) });
  const valid = (name, { h = esHeader(), c = claims(), kid = "a2", jwks, secret } = {}) =>
    push(name, { jwks, secret, token: sign(h, c, kid), valid: true, c });
  const invalid = (name, { h = esHeader(), c = claims(), kid = "a2", jwks, secret, token } = {}) =>
    push(name, { jwks, secret, token: token ?? sign(h, c, kid), valid: false });

  // Valid: what the edge sends, during a rotation too, with nothing but the JWKS.
  valid("es256 valid: signed by the JWKS's first key, with ctx, auth_time and amr", {
    c: claims({ ctx: { plan: "pro" }, auth_time: now - 60, amr: ["pwd"] }),
  });
  valid("es256 valid: signed by the older key of the JWKS, named by its kid", { h: esHeader({ kid: "a1" }), kid: "a1" });
  valid("es256 valid: no kid, signed by the older key: every key of the JWKS is tried", { h: esHeader({ kid: undefined }), kid: "a1" });
  valid("es256 valid: a JWKS key without use or alg (both optional)", { jwks: { keys: [jwk("a2", { use: undefined, alg: undefined })] } });
  valid("es256 valid: a JWKS holding keys of other types and curves, skipped", {
    jwks: { keys: [{ kty: "oct", kid: "h1", k: b64u("not-a-verifying-key-0123456789abcdef") }, jwk("a1", { crv: "P-384" }), jwk("a2")] },
  });
  // During a switch from HS256: the origin holds ORIGIN_SECRET and the JWKS; each
  // algorithm is verified with its own keys only.
  valid("es256 valid: ES256 with both ORIGIN_SECRET and the JWKS configured", { secret: ring });
  push("es256 valid: HS256 with both ORIGIN_SECRET and the JWKS configured", {
    secret: ring, token: hmac(header(), claims(), hmacKey), valid: true, c: claims(),
  });
  // ECDSA's s and N - s both verify; JWS (RFC 7518 §3.4) does not ask for the low one.
  const good = sign(esHeader(), claims(), "a2");
  const [h64, p64, s64] = good.split(".");
  const sig = Buffer.from(s64, "base64url");
  const r = BigInt(`0x${sig.subarray(0, 32).toString("hex")}`);
  const s = BigInt(`0x${sig.subarray(32).toString("hex")}`);
  push("es256 valid: the same signature with N - s (ECDSA's other s)", {
    token: `${h64}.${p64}.${b64u(Buffer.concat([toBytes(r), toBytes(N - s)]))}`, valid: true, c: claims(),
  });

  // Algorithm confusion: each algorithm only with its own keys.
  invalid("es256 invalid: ES256 with only ORIGIN_SECRET configured", { jwks: null, secret: ring });
  invalid("es256 invalid: HS256 with only the JWKS configured, signed with ORIGIN_SECRET's key", {
    token: hmac(header(), claims(), hmacKey),
  });
  invalid("es256 invalid: HS256 keyed with the JWKS key's x (public bytes as an HMAC secret)", {
    token: hmac(header({ kid: "a2" }), claims(), Buffer.from(PRIVATE.a2.x, "base64url")),
  });
  invalid("es256 invalid: HS256 keyed with the JWK's JSON text", { token: hmac(header({ kid: "a2" }), claims(), JSON.stringify(jwk("a2"))) });
  invalid("es256 invalid: ES256 whose kid names an ORIGIN_SECRET key, both configured", { h: esHeader({ kid: "o2" }), secret: ring });
  invalid("es256 invalid: alg ES384 over an ES256 signature", { h: esHeader({ alg: "ES384" }) });
  invalid("es256 invalid: alg es256 in lower case", { h: esHeader({ alg: "es256" }) });
  invalid("es256 invalid: alg none with an empty signature", { token: `${b64u(json(esHeader({ alg: "none" })))}.${p64}.` });

  // Keys: a kid is a promise; only usable public keys verify.
  invalid("es256 invalid: signed by a key in no JWKS, named a2", { kid: "x9" });
  invalid("es256 invalid: signed by a key in no JWKS, no kid", { h: esHeader({ kid: undefined }), kid: "x9" });
  invalid("es256 invalid: kid unknown, though a2 signed it", { h: esHeader({ kid: "a9" }) });
  invalid("es256 invalid: kid names the older key, signed by the first", { h: esHeader({ kid: "a1" }) });
  // A kid names exactly one usable key: two usable keys under one kid make the set
  // ambiguous (the edge never publishes that), and the kid is refused as an unknown one,
  // whichever of the two signed. Without a kid every usable key is still tried, and only
  // usable keys count: one skipped under the same kid leaves the kid naming one.
  const twins = { keys: [jwk("a2"), jwk("a1", { kid: "a2" })] };
  invalid("es256 invalid: kid names two usable keys, signed by the first of them", { jwks: twins });
  invalid("es256 invalid: kid names two usable keys, signed by the second of them", { jwks: twins, kid: "a1" });
  valid("es256 valid: no kid, a JWKS with two usable keys under one kid: every key is tried", {
    jwks: twins, h: esHeader({ kid: undefined }), kid: "a1",
  });
  valid("es256 valid: kid names one usable key and one with use enc (skipped)", { jwks: { keys: [jwk("a1", { kid: "a2", use: "enc" }), jwk("a2")] } });
  valid("es256 valid: kid names one usable key and an RSA key (skipped)", { jwks: { keys: [RSA_JWK, jwk("a2")] } });
  // Each beside a usable key (a1): a static JWKS with none at all is a configuration
  // error, which each package tests on its own.
  const beside = (bad) => ({ keys: [bad, jwk("a1")] });
  invalid("es256 invalid: the signing key's JWK says alg RS256", { jwks: beside(jwk("a2", { alg: "RS256" })) });
  invalid("es256 invalid: the signing key's JWK says use enc", { jwks: beside(jwk("a2", { use: "enc" })) });
  invalid("es256 invalid: the signing key's JWK is on P-384 by its crv", { jwks: beside(jwk("a2", { crv: "P-384" })) });
  invalid("es256 invalid: the signing key's JWK has a y of another point (not on the curve)", {
    jwks: beside(jwk("a2", { y: PRIVATE.a1.y })),
  });

  // The signature: exactly r || s, 64 bytes, each in [1, N - 1], canonical base64url.
  invalid("es256 invalid: the signature in ASN.1 DER", { token: sign(esHeader(), claims(), "a2", { der: true }) });
  invalid("es256 invalid: one signature character flipped", { token: `${h64}.${p64}.${s64.slice(0, 10)}${s64[10] === "A" ? "B" : "A"}${s64.slice(11)}` });
  invalid("es256 invalid: 63 bytes of signature", { token: `${h64}.${p64}.${b64u(sig.subarray(1))}` });
  invalid("es256 invalid: 65 bytes of signature (a zero byte before it)", { token: `${h64}.${p64}.${b64u(Buffer.concat([Buffer.alloc(1), sig]))}` });
  invalid("es256 invalid: r and s zero", { token: `${h64}.${p64}.${b64u(Buffer.alloc(64))}` });
  invalid("es256 invalid: s = s + N (the same value mod N, out of range)", {
    // s + N needs 257 bits for most s: only when it fits in 32 bytes is it a 64-byte signature.
    token: `${h64}.${p64}.${b64u(Buffer.concat([toBytes(r), toBytes(s + N < 2n ** 256n ? s + N : N)]))}`,
  });
  invalid("es256 invalid: the signature's last character differs only in its unused bits", {
    token: `${h64}.${p64}.${s64.slice(0, -1)}${unusedBitSet(s64.at(-1))}`,
  });
  invalid("es256 invalid: signature empty", { token: `${h64}.${p64}.` });
  // The claims' rules are the same for both algorithms: one of them, to show it.
  invalid("es256 invalid: aud another origin's", { c: claims({ aud: "another-origin" }) });
  invalid("es256 invalid: expired 30 s ago", { c: claims({ iat: now - 90, exp: now - 30 }) });
  invalid("es256 invalid: typ edge-login+jwt", { h: esHeader({ typ: "edge-login+jwt" }) });
  return out;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** 64 bytes take 86 characters whose last carries 4 unused bits: set the lowest. */
const unusedBitSet = (c) => ALPHABET[ALPHABET.indexOf(c) ^ 1];

/** Every signature of the previous table's ES256 vectors, by the bytes it signs. */
function previousSignatures(previous) {
  const byInput = new Map();
  for (const v of previous?.assertions ?? []) {
    if (!v.jwks) continue;
    const parts = v.token.split(".");
    if (parts.length !== 3) continue;
    const input = `${parts[0]}.${parts[1]}`;
    byInput.set(input, [...(byInput.get(input) ?? []), Buffer.from(parts[2], "base64url")]);
  }
  return byInput;
}

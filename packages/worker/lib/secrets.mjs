// Fresh key ring entries: `kid:secret`, 256 random bits, base64url (the worker's and the
// origin packages' rules: kid of [A-Za-z0-9_-]{1,16}, a secret of 32 or more characters).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";

export const KID = /^[A-Za-z0-9_-]{1,16}$/;

export function freshSecret(kid) {
  checkKid(kid);
  return `${kid}:${randomBytes(32).toString("base64url")}`;
}

/**
 * A fresh `ASSERTION_KEYS` entry for `ASSERTION_ALG=ES256`: `kid:` and the base64url of a
 * new P-256 private key in PKCS#8 DER (the form the worker reads), and the public JWK the
 * worker will publish for it at /__edge/jwks.json.
 */
export function freshAssertionKey(kid) {
  checkKid(kid);
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const der = privateKey.export({ type: "pkcs8", format: "der" });
  return { entry: `${kid}:${der.toString("base64url")}`, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" } };
}

function checkKid(kid) {
  if (!KID.test(kid)) {
    const error = new Error(`a key id is 1 to 16 of A-Z a-z 0-9 _ - (got "${kid}")`);
    error.name = "InitError";
    throw error;
  }
}

/**
 * `npx edge-session secrets FILE`: production keys for `wrangler deploy --secrets-file`,
 * in a new file only its owner can read (an existing one is refused, never reused or
 * widened). Returns the ORIGIN_SECRET, which the production app needs too.
 */
export function writeSecretsFile(path) {
  const originSecret = freshSecret("o1");
  const text = `SESSION_KEYS="${freshSecret("k1")}"\nORIGIN_SECRET="${originSecret}"\n`;
  try {
    writeFileSync(path, text, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if (e.code !== "EEXIST") throw e;
    const error = new Error(`${path} exists: delete it first (a secrets file is made fresh, never reused)`);
    error.name = "InitError";
    throw error;
  }
  return originSecret;
}

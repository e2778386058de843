// Fresh key ring entries: `kid:secret`, 256 random bits, base64url (the worker's and the
// origin packages' rules: kid of [A-Za-z0-9_-]{1,16}, a secret of 32 or more characters).
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";

export const KID = /^[A-Za-z0-9_-]{1,16}$/;

export function freshSecret(kid) {
  if (!KID.test(kid)) {
    const error = new Error(`a key id is 1 to 16 of A-Z a-z 0-9 _ - (got "${kid}")`);
    error.name = "InitError";
    throw error;
  }
  return `${kid}:${randomBytes(32).toString("base64url")}`;
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

// Fresh key ring entries: `kid:secret`, 256 random bits, base64url (the worker's and the
// origin packages' rules: kid of [A-Za-z0-9_-]{1,16}, a secret of 32 or more characters).
import { randomBytes } from "node:crypto";

export const KID = /^[A-Za-z0-9_-]{1,16}$/;

export function freshSecret(kid) {
  if (!KID.test(kid)) {
    const error = new Error(`a key id is 1 to 16 of A-Z a-z 0-9 _ - (got "${kid}")`);
    error.name = "InitError";
    throw error;
  }
  return `${kid}:${randomBytes(32).toString("base64url")}`;
}

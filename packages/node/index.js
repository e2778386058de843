// edge-session for Node origins (jose): verify the edge's `X-Edge-Assertion`, answer a
// request with the `X-Edge-Login` / `X-Edge-Logout` directive, call the edge's admin API.
// The framework adapters (./express, ./hono, ./fastify) are thin layers over `EdgeSession`.
//
// Trust rule: only the verified assertion proves who a request is. `X-Edge-User` is a
// convenience, safe only if the origin is reachable through the edge alone.
import { randomBytes } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";

export const ASSERTION_HEADER = "x-edge-assertion";
export const NONCE_HEADER = "x-edge-nonce";
export const USER_HEADER = "x-edge-user";
export const LOGIN_HEADER = "X-Edge-Login";
export const LOGOUT_HEADER = "X-Edge-Logout";
// The edge refuses admin tokens whose exp - iat is longer.
const ADMIN_MAX_LIFETIME = 60;
// Allowance for clocks that disagree between the edge and this origin.
const CLOCK_TOLERANCE_SECS = 30;

/** The edge's secret format, `kid:secret[,kid:secret…]`: the first signs, all verify. */
export function parseKeys(text) {
  if (typeof text !== "string") throw new TypeError("ORIGIN_SECRET is not set");
  const keys = text.split(",").map((p) => p.trim()).filter(Boolean).map((pair) => {
    const i = pair.indexOf(":");
    if (i < 1) throw new TypeError("ORIGIN_SECRET must be kid:secret pairs, comma-separated");
    return { kid: pair.slice(0, i), key: new TextEncoder().encode(pair.slice(i + 1)) };
  });
  if (keys.length === 0) throw new TypeError("ORIGIN_SECRET holds no kid:secret pair");
  return keys;
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
  /**
   * @param {object} [options]
   * @param {string} [options.secret] `ORIGIN_SECRET` (default: the environment's)
   * @param {string} [options.audience] the assertion's `aud` (default `ORIGIN_AUDIENCE` or "origin")
   * @param {string} [options.edgeUrl] where the admin API is: the app's public URL (default `EDGE_URL`)
   * @param {(event: string, detail: object) => void} [options.log] where rejected assertions are reported
   */
  constructor({ secret = process.env.ORIGIN_SECRET, audience = process.env.ORIGIN_AUDIENCE || "origin",
    edgeUrl = process.env.EDGE_URL, log = defaultLog } = {}) {
    this.keys = parseKeys(secret);
    this.audience = audience;
    this.edgeUrl = edgeUrl;
    this.log = log;
  }

  /**
   * Who a request is: `{ sub, sid, state, ctx }` from a valid assertion, or null. A bad
   * assertion, or identity headers without one (a request that went around the edge),
   * is anonymous and logged; it never throws. `header(name)` reads a request header.
   */
  async identify(header) {
    const token = header(ASSERTION_HEADER);
    if (!token) {
      if (header(USER_HEADER)) this.log("edge_assertion_missing", { reason: "identity headers without an assertion" });
      return null;
    }
    let lastError;
    for (const { key } of this.keys) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ["HS256"], typ: "JWT", audience: this.audience, issuer: "edge-session",
          requiredClaims: ["sub", "sid", "iat", "exp"], clockTolerance: CLOCK_TOLERANCE_SECS,
        });
        return Object.freeze({ sub: payload.sub, sid: payload.sid, state: payload.state ?? null, ctx: payload.ctx ?? null });
      } catch (e) {
        lastError = e;
      }
    }
    this.log("edge_assertion_rejected", { reason: lastError?.code ?? String(lastError) });
    return null;
  }

  /** `X-Edge-Login` answering the request whose `X-Edge-Nonce` is `nonce`. */
  loginDirective(nonce, sub, { remember = false, ctx } = {}) {
    if (typeof sub !== "string" || sub === "") throw new TypeError("login needs a non-empty sub");
    return this.#directive("edge-login+jwt", { sub, remember, nonce: requireNonce(nonce), ...(ctx ? { ctx } : {}) });
  }

  /** `X-Edge-Logout` answering that request. `scope`: "session" or "everywhere". */
  logoutDirective(nonce, { scope = "session", sub } = {}) {
    if (scope !== "session" && scope !== "everywhere") throw new TypeError('scope is "session" or "everywhere"');
    return this.#directive("edge-logout+jwt", { scope, nonce: requireNonce(nonce), ...(sub ? { sub } : {}) });
  }

  /** A bearer token for `POST /__edge/admin`: single-use (random `jti`), at most 60 s. */
  adminToken(sub, act, { sid, except, lifetime = ADMIN_MAX_LIFETIME } = {}) {
    if (!(lifetime > 0 && lifetime <= ADMIN_MAX_LIFETIME)) throw new RangeError(`lifetime must be 1..${ADMIN_MAX_LIFETIME} s: the edge refuses longer`);
    if (act === "revoke" && !sid) throw new TypeError("revoke needs sid");
    const jti = randomBytes(12).toString("base64url");
    return this.#directive("edge-admin+jwt", { sub, act, jti, ...(sid ? { sid } : {}), ...(except ? { except } : {}) }, lifetime);
  }

  /** The user's live sessions, oldest first: `[{ sid, created_at, last_seen, remember, device_bound, user_agent, country }]`. */
  async listSessions(sub) {
    return (await this.#admin(sub, "list")).sessions;
  }

  /** Signs one of the user's sessions out: `{ revoked, pending }`. */
  revokeSession(sub, sid) {
    return this.#admin(sub, "revoke", { sid });
  }

  /** Signs out every session of the user but `except` (pass the current `sid`): `{ revoked, pending }`. */
  revokeAll(sub, { except } = {}) {
    return this.#admin(sub, "revoke_all", { except });
  }

  async #admin(sub, act, params = {}) {
    if (!this.edgeUrl) throw new TypeError("EDGE_URL (edgeUrl) is not set: the admin API is on the app's public URL");
    const token = await this.adminToken(sub, act, params);
    const res = await fetch(new URL("/__edge/admin", this.edgeUrl), {
      method: "POST", headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000),
    });
    const body = await res.json().catch(() => ({ error: "not JSON" }));
    if (!res.ok) throw new EdgeAdminError(res.status, body);
    return body;
  }

  #directive(typ, claims, lifetime = 120) {
    const { kid, key } = this.keys[0];
    // One clock reading: jose's relative setExpirationTime reads the clock again, and a
    // second ticking in between would make exp - iat exceed an admin token's 60 s.
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ aud: "edge-session", ...claims })
      .setProtectedHeader({ alg: "HS256", typ, kid })
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .sign(key);
  }
}

/**
 * What a request handler works with, whatever the framework: `user` (or null), and
 * `login` / `logout` / `adopt`, which set the directive on this request's response.
 * `header(name)` reads a request header, `setHeader(name, value)` writes a response one.
 */
export async function edgeRequest(edge, header, setHeader) {
  const user = await edge.identify(header);
  const nonce = header(NONCE_HEADER) ?? null;
  return {
    user,
    nonce,
    /** Logs `sub` in when this response reaches the edge. */
    async login(sub, options) {
      setHeader(LOGIN_HEADER, await edge.loginDirective(nonce, sub, options));
    },
    /** Logs this session out (`scope: "everywhere"`: every session of `sub`). */
    async logout(options) {
      setHeader(LOGOUT_HEADER, await edge.logoutDirective(nonce, options));
    },
    /**
     * The migration bridge: a request that still carries the app's own (legacy) session
     * for `sub` and no edge identity is answered with a login directive, so the next
     * request is an edge session. Returns whether it did. Once every active user has come
     * back, drop the legacy session.
     */
    async adopt(sub, options) {
      if (user || !sub) return false;
      await this.login(sub, options);
      return true;
    },
  };
}

/** The answer `requireUser` gives an anonymous request: 401 for an API, a redirect for a page. */
export function refusal({ mode = "api", loginUrl = "/login" } = {}) {
  return mode === "page"
    ? { status: 303, headers: { location: loginUrl, "cache-control": "no-store" }, body: "" }
    : { status: 401, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify({ error: "not signed in" }) };
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

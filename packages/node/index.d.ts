/** Who a request is, from the edge's verified `X-Edge-Assertion`. */
export interface Identity {
  /** The user, as the login directive named them. */
  readonly sub: string;
  /** The session (the edge's family id): `X-Edge-Session`. */
  readonly sid: string;
  /** How the edge identified the request: "fresh" | "rotated" | "grace" | "recovered". */
  readonly state: "fresh" | "rotated" | "grace" | "recovered";
  /** The login directive's `ctx`, if any. */
  readonly ctx: Record<string, unknown> | null;
  /**
   * When the session refreshed from another country, network (ASN) or browser family, in
   * Unix seconds; null if it did not, or unless the edge runs `ON_CONTEXT_CHANGE=flag`. A
   * signal, not a verdict (a phone changes networks): before a sensitive action, ask for
   * the password again unless this session (`sid`) re-entered it for this very value.
   */
  readonly context_changed: number | null;
  /**
   * When the user last proved who they are (the login), Unix seconds: OIDC's `auth_time`;
   * null only from an edge older than the claim. `EdgeRequest.signedInWithin` and
   * `requireRecentAuth` compare it with the clock before a sensitive action.
   */
  readonly auth_time: number | null;
  /** How they proved it: the login's RFC 8176 names (`["pwd", "otp"]`), else null. */
  readonly amr: readonly string[] | null;
}

export interface LoginOptions {
  /** "Remember me": a persistent refresh cookie and the longer lifetime. */
  remember?: boolean;
  /** Claims carried in the access cookie and every assertion (≤ 1 KiB of JSON). */
  ctx?: Record<string, unknown>;
  /**
   * How the user proved who they are (RFC 8176: `["pwd"]`, `["pwd", "otp"]`…), carried by
   * every assertion of the session as `amr`: 1 to 8 names of `[A-Za-z0-9_.:-]{1,16}`;
   * anything else throws a `TypeError` ("amr must be …") rather than sign a login the edge refuses.
   */
  amr?: readonly string[];
  /**
   * When the user proved who they are, if not now (Unix seconds): a login without a
   * password (the bridge's `adopt` sends 0) is then never a recent sign-in.
   */
  authTime?: number;
}

export interface StepUpOptions {
  /** How the user proved who they are just now (`["pwd"]`, `["otp"]`…): the session's `amr` from then on. */
  amr?: readonly string[];
}

export interface LogoutOptions {
  /** "session" (this one) or "everywhere" (every session of `sub`). */
  scope?: "session" | "everywhere";
  /**
   * Whose sessions, for `scope: "everywhere"`: required by `logoutDirective` (it throws
   * "scope everywhere needs sub" without one); `EdgeRequest.logout` defaults it to the
   * request's user.
   */
  sub?: string;
}

/** A JSON Web Key Set, as the edge serves it at `/__edge/jwks.json`. */
export interface Jwks {
  keys: readonly Record<string, unknown>[];
}

/**
 * At least one of `secret`, `jwks` and `jwksUrl` (or its environment variable) must be
 * set, else the constructor throws a `TypeError` naming all three.
 */
export interface EdgeSessionOptions {
  /**
   * `ORIGIN_SECRET`, `kid:secret[,kid:secret…]` (default: the environment's): verifies HS256
   * assertions. Optional with `jwks` or `jwksUrl`; unset or blank, HS256 assertions are refused.
   */
  secret?: string;
  /**
   * `EDGE_JWKS`: the edge's JWKS, as JSON text or the object it parses to (default: the
   * environment's); verifies ES256 assertions. Parsed at construction: not JSON, not
   * `{"keys": [...]}`, no usable key (EC P-256, `use` sig and `alg` ES256 when present) or
   * any key with a private part (`d`) throws a `TypeError`. Not with `jwksUrl`.
   */
  jwks?: string | Jwks;
  /**
   * `EDGE_JWKS_URL`: where the edge serves its JWKS, `https://<app>/__edge/jwks.json`
   * (default: the environment's); verifies ES256 assertions. `https:`, or `http:` to
   * localhost, 127.0.0.0/8 or [::1] only: anything else throws a `TypeError` at
   * construction. Fetched on the first ES256 assertion and kept 5 minutes; an unknown
   * `kid` fetches it again, at most once per 30 s. A failed fetch is logged
   * (`edge_jwks_unavailable`) and keeps the keys fetched before, for at most 24 h after
   * the last good fetch; a 404 drops them at once. Not with `jwks`.
   */
  jwksUrl?: string;
  /**
   * `DIRECTIVE_SECRET`, `kid:secret[,kid:secret…]`: signs login and logout directives
   * (default: the environment's; unset or blank, `secret`). Malformed, it throws at construction;
   * with neither set, signing throws a `TypeError` ("DIRECTIVE_SECRET is not set: …").
   */
  directiveSecret?: string;
  /**
   * `ADMIN_SECRET`, `kid:secret[,kid:secret…]`: signs admin tokens (default: the
   * environment's; unset or blank, `secret`). Malformed, it throws at construction; with
   * neither set, signing throws a `TypeError` ("ADMIN_SECRET is not set: …").
   */
  adminSecret?: string;
  /** The assertion's `aud` (default `ORIGIN_AUDIENCE` or "origin"). */
  audience?: string;
  /**
   * The app's public URL, where the edge answers `/__edge/admin` (default `EDGE_URL`):
   * `http(s)://host[:port]`, an optional trailing `/`. Anything else (a path, query,
   * fragment or credentials) throws a `TypeError` at construction.
   */
  edgeUrl?: string;
  /**
   * `EVENTS_SECRET`, `kid:secret[,kid:secret…]`, for `parseEvent` (default: the
   * environment's; unset, `parseEvent` throws). Malformed, it throws at construction.
   */
  eventsSecret?: string;
  /**
   * Where rejected assertions (`edge_assertion_rejected`), JWKS fetch failures
   * (`edge_jwks_unavailable`, with `reason`) and refused adoptions are reported (default: a
   * JSON line on stderr).
   */
  log?: (event: string, detail: Record<string, unknown>) => void;
  /**
   * The time in Unix seconds (default: the system clock). For tests: verify at a given
   * time; the JWKS cache's 5 minutes and cooldown's 30 s are counted on it too.
   */
  clock?: () => number;
}

/**
 * One session of a user, as "your devices" lists it (times in Unix seconds). No entry is
 * marked as the current one: compare `sid` with the request user's `sid`.
 */
export interface SessionInfo {
  /** The session's id: the `sid` of its requests' `Identity`. */
  sid: string;
  /** When it logged in. */
  created_at: number;
  /** When it last refreshed, to the minute (at least `created_at`). */
  last_seen: number;
  /** "Remember me". */
  remember: boolean;
  /** Bound to a device key (DBSC). */
  device_bound: boolean;
  /** The login's `User-Agent`, truncated: client-supplied, for display only. */
  user_agent: string | null;
  /** The browser family that user agent names ("Chrome", "Firefox", "Safari"…), when known. */
  browser: string | null;
  /** The operating system it names ("Windows", "macOS", "iOS", "Android"…), when known. */
  os: string | null;
  /** The login's country code, when known. */
  country: string | null;
}

/** What `revokeSession` and `revokeAll` answer. */
export interface Revoked {
  /** Sessions ended. */
  revoked: number;
  /** Ended in the user's index, not yet in the session itself: the edge retries every minute. */
  pending: number;
}

export declare const ASSERTION_HEADER: "x-edge-assertion";
export declare const NONCE_HEADER: "x-edge-nonce";
export declare const USER_HEADER: "x-edge-user";
export declare const STATE_HEADER: "x-edge-session-state";
export declare const LOGIN_HEADER: "X-Edge-Login";
export declare const LOGOUT_HEADER: "X-Edge-Logout";
export declare const STEP_UP_HEADER: "X-Edge-Step-Up";

/** `name` is the variable a refusal names (default "ORIGIN_SECRET"). */
export declare function parseKeys(text: string, name?: string): { kid: string; key: Uint8Array }[];
export declare function decodeUser(header: string | null | undefined): string | null;

/** Why `verifyAssertion` (or `parseEvent`) refused a token; the message is the reason. */
export declare class AssertionRefused extends Error {}

/** The device a session was used from, as the edge saw the request. */
export interface Device {
  /** The client's `User-Agent`, truncated: client-supplied, for display only. */
  user_agent?: string;
  /** The browser family it names ("Chrome", "Firefox", "Safari", "Edge"…). */
  browser?: string;
  /** The operating system it names ("Windows", "macOS", "iOS", "Android", "Linux"…). */
  os?: string;
  /** Cloudflare's country code. */
  country?: string;
  /** The network's autonomous system number. */
  asn?: number;
  /** The Cloudflare data center. */
  colo?: string;
  /** The session is bound to a device key (DBSC). */
  bound?: boolean;
}

/** A security event, verified: the claims of the edge's `edge-event+jwt`, less `iss`, `aud`, `iat` and `exp`. */
export interface SecurityEvent {
  /** The same on every delivery of this event: drop one you have seen (redeliveries come for up to a day). */
  readonly jti: string;
  /** A type a later edge adds still arrives: ignore one you do not know. */
  readonly type: "session.created" | "session.reuse_detected" | "session.copied_jar" | "session.revoked" | "session.context_changed" | (string & {});
  readonly sub: string;
  /** The session: the `sid` of its requests' `Identity`. */
  readonly sid: string;
  /** When it happened, Unix seconds. */
  readonly time: number;
  /** The device of the event's request; for `session.revoked`, the one the session was last seen on. */
  readonly device: Device;
  /** `session.reuse_detected`: whether the session was ended. */
  readonly revoked?: boolean;
  /** `session.revoked`: "logout", "everywhere", "admin", "login", "limit" or "context_changed". */
  readonly by?: string;
  /** `session.context_changed`: the context before. */
  readonly previous?: Device;
  /**
   * `session.context_changed`: "none" (reported only), "flagged" (the session's assertions
   * carry `context_changed` from now on: ON_CONTEXT_CHANGE=flag) or "ended" (ON_CONTEXT_CHANGE=end).
   */
  readonly action?: string;
  /**
   * `session.copied_jar`: the request said its browser skipped the device key's proof, for
   * this reason (`Secure-Session-Skipped`: "unreachable", "server_error", "quota_exceeded"…).
   * The owner's browser may say so after a failure; so may a thief. Weigh it, do not trust it.
   */
  readonly skipped?: string;
}

export interface ParseEventOptions {
  /** `EVENTS_SECRET`, `kid:secret[,kid:secret…]` (default: the environment's). Never `ORIGIN_SECRET`. */
  secret?: string;
  /** The edge's `ORIGIN_AUDIENCE` (default: the environment's, or "origin"). */
  audience?: string;
  /** The time in Unix seconds (default: the system clock). */
  clock?: () => number;
  /**
   * `true`: `body` is a message taken from the `EVENTS` Cloudflare Queue, signed for 4
   * days (keep its `jti` until its `exp`). Default: a webhook's body, 5 minutes, which
   * refuses a queue message replayed to the webhook.
   */
  queue?: boolean;
}

/**
 * A webhook delivery's raw body (or, with `queue: true`, a queue message's) as the event
 * it carries. Rejects with `AssertionRefused` (the reason) unless the edge signed it with
 * `EVENTS_SECRET` for this audience, within its 5 minutes (a queue message's 4 days);
 * with a `TypeError` for a missing or malformed secret.
 */
export declare function parseEvent(body: string | Uint8Array, options?: ParseEventOptions): Promise<SecurityEvent>;

export declare class EdgeAdminError extends Error {
  readonly status: number;
  readonly body: unknown;
}

export declare class EdgeSession {
  constructor(options?: EdgeSessionOptions);
  readonly audience: string;
  readonly edgeUrl: string | undefined;
  /** Who the request is, or null (logged): a bad assertion or an unreachable JWKS never rejects. */
  identify(header: (name: string) => string | null | undefined): Promise<Identity | null>;
  /**
   * The claims of a valid assertion (HS256 with `secret`, ES256 with the JWKS) at `clock()`;
   * rejects with `AssertionRefused` otherwise, a JWKS that could not be fetched included.
   */
  verifyAssertion(token: string): Promise<Record<string, unknown>>;
  /** `parseEvent(body, { queue })` with `eventsSecret`, `audience` and `clock`; rejects with a `TypeError` without `eventsSecret`. */
  parseEvent(body: string | Uint8Array, options?: Pick<ParseEventOptions, "queue">): Promise<SecurityEvent>;
  /**
   * Signed with `directiveSecret` (else `secret`); a malformed `amr` throws a `TypeError`, and
   * so does a service with neither ("DIRECTIVE_SECRET is not set: …").
   */
  loginDirective(nonce: string | null, sub: string, options?: LoginOptions): Promise<string>;
  /**
   * `X-Edge-Step-Up`: `sub`, the user of that request's session, just proved who they are
   * again; the edge moves the session's `auth_time` to now and rotates its credential in
   * place. Signed with `directiveSecret` (else `secret`); throws as `loginDirective` does.
   */
  stepUpDirective(nonce: string | null, sub: string, options?: StepUpOptions): Promise<string>;
  /**
   * Signed with `directiveSecret` (else `secret`). Throws a `TypeError` ("scope everywhere needs sub") for
   * `scope: "everywhere"` without `sub`: the edge would refuse it.
   */
  logoutDirective(nonce: string | null, options?: LogoutOptions): Promise<string>;
  /**
   * Signed with `adminSecret` (else `secret`), as are the calls below. Throws a `TypeError` ("not a session id: …")
   * for a `sid` or `except` that is not 22 characters of canonical base64url, and ("ADMIN_SECRET is not set: …")
   * in a service with neither secret.
   */
  adminToken(sub: string, act: "list" | "revoke" | "revoke_all", options?: { sid?: string; except?: string; lifetime?: number }): Promise<string>;
  /** The user's live sessions, oldest first. */
  listSessions(sub: string): Promise<SessionInfo[]>;
  /**
   * Ends one session. Rejects with a `TypeError` ("not a session id: …") for a malformed `sid`, before any call,
   * and with `EdgeAdminError` (status 404) for a session that is not the user's.
   */
  revokeSession(sub: string, sid: string): Promise<Revoked>;
  /** Ends every session of the user but `except` (the current `sid`); a malformed `except` rejects as in `revokeSession`. */
  revokeAll(sub: string, options?: { except?: string }): Promise<Revoked>;
}

/** Why the edge refused an anonymous request's edge cookie (`X-Edge-Session-State`). */
export type Refusal = "ended" | "expired" | "reused" | "device_bound" | "invalid";

/** What a handler works with: the user, and directives for this request's response. */
export interface EdgeRequest {
  readonly user: Identity | null;
  readonly nonce: string | null;
  /**
   * On an anonymous request that carried an edge cookie, why the edge refused it; else
   * null. (`string & {}`: a reason added by a later edge still arrives.)
   */
  readonly refusal: Refusal | (string & {}) | null;
  /**
   * Whether the user signed in (`auth_time`) at most `maxAgeSecs` ago by the `clock`, and the session
   * has not refreshed from another context since (`context_changed` null or not after `auth_time`):
   * what a sensitive action asks. An `auth_time` more than 30 s ahead of the `clock` is refused. False when anonymous. Throws a `TypeError` unless `maxAgeSecs` is a number ≥ 0.
   */
  signedInWithin(maxAgeSecs: number): boolean;
  /** Logs `sub` in; replaces a login that `adopt` put on this response, and a `logout` beside it keeps it (an account switch). */
  login(sub: string, options?: LoginOptions): Promise<void>;
  /**
   * Records a step-up (the password or a second factor just re-entered): this session's
   * `auth_time` moves to now when the response reaches the edge, so `signedInWithin` and
   * `requireRecentAuth` pass from the next request on. Rejects with a `TypeError` on an anonymous request.
   */
  stepUp(options?: StepUpOptions): Promise<void>;
  /**
   * Logs this session out; takes back a login that `adopt` put on this response (an explicit `login` stays).
   * `{ scope: "everywhere" }` ends every session of `sub`, by default this request's user; on an anonymous
   * request without `sub` it rejects ("scope everywhere needs sub").
   */
  logout(options?: LogoutOptions): Promise<void>;
  /**
   * The migration bridge: logs `sub` in at the edge if the request has no edge identity,
   * carried no edge cookie (no `refusal`) and came through the edge. Returns whether it
   * did; clear the legacy session in this same response. After `logout` on this request
   * it does nothing and returns false.
   */
  adopt(sub: string | null | undefined, options?: LoginOptions): Promise<boolean>;
}

export declare function edgeRequest(
  edge: EdgeSession,
  header: (name: string) => string | null | undefined,
  setHeader: (name: string, value: string) => void,
  /**
   * Removes a response header (default: `setHeader(name, undefined)`, which Hono's `c.header` reads as removal).
   * If it throws (the default on a plain `node:http` response), `logout` overwrites the bridge's login with an
   * empty `X-Edge-Login`, which the edge ignores as an invalid directive.
   */
  removeHeader?: (name: string) => void,
): Promise<EdgeRequest>;

export interface RequireUserOptions {
  /** "api": 401 JSON; "page": 303 to `loginUrl`. */
  mode?: "api" | "page";
  loginUrl?: string;
}

/** The answer `requireUser` gives an anonymous request: 401 JSON, or a 303 to the login page. */
export declare function anonymousAnswer(options?: RequireUserOptions): { status: number; headers: Record<string, string>; body: string };
/** The answer `requireRecentAuth` gives a signed-in request without a recent sign-in: 401 `{"error":"recent sign-in required"}`, or the 303. */
export declare function recentAuthAnswer(options?: RequireUserOptions): { status: number; headers: Record<string, string>; body: string };

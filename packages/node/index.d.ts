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
}

export interface LoginOptions {
  /** "Remember me": a persistent refresh cookie and the longer lifetime. */
  remember?: boolean;
  /** Claims carried in the access cookie and every assertion (≤ 1 KiB of JSON). */
  ctx?: Record<string, unknown>;
}

export interface LogoutOptions {
  /** "session" (this one) or "everywhere" (every session of `sub`). */
  scope?: "session" | "everywhere";
  /** Whose sessions, for `scope: "everywhere"`. */
  sub?: string;
}

export interface EdgeSessionOptions {
  /** `ORIGIN_SECRET`, `kid:secret[,kid:secret…]` (default: the environment's). */
  secret?: string;
  /** The assertion's `aud` (default `ORIGIN_AUDIENCE` or "origin"). */
  audience?: string;
  /** The app's public URL, where the edge answers `/__edge/admin` (default `EDGE_URL`). */
  edgeUrl?: string;
  /** Where rejected assertions and refused adoptions are reported (default: a JSON line on stderr). */
  log?: (event: string, detail: Record<string, unknown>) => void;
  /** The time in Unix seconds (default: the system clock). For tests: verify at a given time. */
  clock?: () => number;
}

/** One session of a user, as "your devices" lists it (times in Unix seconds). */
export interface SessionInfo {
  sid: string;
  created_at: number;
  last_seen: number;
  remember: boolean;
  device_bound: boolean;
  user_agent: string | null;
  country: string | null;
}

export interface Revoked {
  revoked: number;
  pending: number;
}

export declare const ASSERTION_HEADER: "x-edge-assertion";
export declare const NONCE_HEADER: "x-edge-nonce";
export declare const USER_HEADER: "x-edge-user";
export declare const STATE_HEADER: "x-edge-session-state";
export declare const LOGIN_HEADER: "X-Edge-Login";
export declare const LOGOUT_HEADER: "X-Edge-Logout";

export declare function parseKeys(text: string): { kid: string; key: Uint8Array }[];
export declare function decodeUser(header: string | null | undefined): string | null;

/** Why `verifyAssertion` refused a token; the message is the reason. */
export declare class AssertionRefused extends Error {}

export declare class EdgeAdminError extends Error {
  readonly status: number;
  readonly body: unknown;
}

export declare class EdgeSession {
  constructor(options?: EdgeSessionOptions);
  readonly audience: string;
  readonly edgeUrl: string | undefined;
  identify(header: (name: string) => string | null | undefined): Promise<Identity | null>;
  /** The claims of a valid assertion at `clock()`; throws `AssertionRefused` otherwise. */
  verifyAssertion(token: string): Promise<Record<string, unknown>>;
  loginDirective(nonce: string | null, sub: string, options?: LoginOptions): Promise<string>;
  logoutDirective(nonce: string | null, options?: LogoutOptions): Promise<string>;
  adminToken(sub: string, act: "list" | "revoke" | "revoke_all", options?: { sid?: string; except?: string; lifetime?: number }): Promise<string>;
  listSessions(sub: string): Promise<SessionInfo[]>;
  revokeSession(sub: string, sid: string): Promise<Revoked>;
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
  /** Logs `sub` in; replaces a login that `adopt` put on this response, and a `logout` beside it keeps it (an account switch). */
  login(sub: string, options?: LoginOptions): Promise<void>;
  /** Logs this session out; takes back a login that `adopt` put on this response (an explicit `login` stays). */
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

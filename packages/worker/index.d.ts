// Types for the edge-session worker package. Self-contained: no @cloudflare/workers-types
// needed (a Worker project that has them gets compatible structural types).

/** What a Worker's fetch handler receives: `ctx.waitUntil` and the rest. */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

/** The bindings and variables edge-session reads (wrangler.toml, .dev.vars, secrets). */
export interface EdgeSessionEnv {
  /** Secret: `kid:secret[,kid:secret…]`, the keys that MAC the session cookies. */
  SESSION_KEYS: string;
  /** Secret: `kid:secret[,…]`, shared with the origin (assertions, directives, admin). */
  ORIGIN_SECRET: string;
  /** Secret: `kid:secret[,…]`: verifies login/logout directives instead of ORIGIN_SECRET. */
  DIRECTIVE_SECRET?: string;
  /** Secret: `kid:secret[,…]`: verifies admin tokens instead of ORIGIN_SECRET. */
  ADMIN_SECRET?: string;
  /** `HS256` (default, ORIGIN_SECRET) or `ES256` (ASSERTION_KEYS; public keys at /__edge/jwks.json). */
  ASSERTION_ALG?: "HS256" | "ES256";
  /** Secret, with ES256: `kid:<base64url PKCS#8 P-256 key>[,…]`; `npx edge-session secret --es256`. */
  ASSERTION_KEYS?: string;
  /** Durable Object namespace bound to the `SessionFamily` class. */
  SESSION_FAMILY: unknown;
  /** Durable Object namespace bound to the `UserSessions` class. */
  USER_SESSIONS: unknown;
  /** `http(s)://host[:port]`: where requests go on to (else ORIGIN, else their own URL). */
  ORIGIN_URL?: string;
  /** A service binding to the origin Worker. `withEdgeSession` sets it to your handler. */
  ORIGIN?: { fetch(request: Request): Promise<Response> };
  ROTATE_AFTER_SECS?: string;
  GRACE_SECS?: string;
  RECOVERY_SECS?: string;
  ACCESS_TTL_SECS?: string;
  IDLE_TIMEOUT_SECS?: string;
  SESSION_LIFETIME_SECS?: string;
  REMEMBER_LIFETIME_SECS?: string;
  REMEMBER_IDLE_TIMEOUT_SECS?: string;
  ON_REUSE?: "revoke" | "reject";
  ORIGIN_AUDIENCE?: string;
  LOGOUT_ORIGINS?: string;
  SESSIONS_NOT_BEFORE?: string;
  METRICS_WINDOW_SECS?: string;
  /** Secret: `kid:secret[,…]`: signs security events (its own, never ORIGIN_SECRET's). */
  EVENTS_SECRET?: string;
  /** Where events are POSTed (https; http for this machine only). */
  EVENTS_URL?: string;
  /** A Queue producer binding that receives the same events. */
  EVENTS?: { send(body: string): Promise<void> };
  ON_CONTEXT_CHANGE?: "ignore" | "flag" | "end";
  DBSC?: "offer" | "off";
}

/** Anything with a Worker's fetch handler: a plain object, a Hono app, a router. */
export interface FetchHandler<Env = any, Ctx = any> {
  fetch(request: Request, env: Env, ctx: Ctx): Response | Promise<Response>;
}

/** The wrapped handler: `fetch` through the edge, the handler's other methods as they were. */
export type EdgeSessionHandler<H> = {
  fetch(request: Request, env: EdgeSessionEnv, ctx: ExecutionContextLike): Promise<Response>;
} & Pick<H, Extract<keyof H, "scheduled" | "queue" | "email" | "tail" | "trace" | "tailStream">>;

/**
 * Puts edge-session in front of a Worker's own fetch handler, in the same isolate. The
 * handler sees every request after the edge: edge cookies removed, `X-Edge-*` identity
 * headers set by the edge alone; its response's login and logout directives are applied.
 *
 * ```js
 * import { withEdgeSession, SessionFamily, UserSessions } from "edge-session";
 * export { SessionFamily, UserSessions };
 * export default withEdgeSession(app);
 * ```
 */
export function withEdgeSession<H extends FetchHandler>(handler: H): EdgeSessionHandler<H>;

/** The Durable Object of one session family: export it from your Worker's main module. */
export declare class SessionFamily {
  constructor(state: unknown, env: unknown);
  fetch(request: Request): Promise<Response>;
  alarm(): Promise<void>;
}

/** The Durable Object of one user's sessions: export it from your Worker's main module. */
export declare class UserSessions {
  constructor(state: unknown, env: unknown);
  fetch(request: Request): Promise<Response>;
  alarm(): Promise<void>;
}

/** The edge-session worker itself (a WorkerEntrypoint): `export { default } from "edge-session"`. */
declare const EdgeSessionWorker: new (ctx: ExecutionContextLike, env: EdgeSessionEnv) => {
  fetch(request: Request): Promise<Response>;
};
export default EdgeSessionWorker;

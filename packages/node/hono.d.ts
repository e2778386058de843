import type { MiddlewareHandler } from "hono";
import type { EdgeRequest, EdgeSession, EdgeSessionOptions, RequireUserOptions } from "./index.js";

/** `new Hono<EdgeEnv>()` types `c.var.edge`. */
export type EdgeEnv = { Variables: { edge: EdgeRequest } };

export declare function edgeSession(options?: EdgeSessionOptions | EdgeSession): MiddlewareHandler<EdgeEnv>;
export declare function requireUser(options?: RequireUserOptions): MiddlewareHandler<EdgeEnv>;
/**
 * For a sensitive action: `requireUser`'s answer unless signed in, and 401 `{"error":"recent sign-in required"}`
 * (or, `mode: "page"`, the redirect) unless the user signed in at most `maxAgeSecs` ago with no context change since.
 */
export declare function requireRecentAuth(maxAgeSecs: number, options?: RequireUserOptions): MiddlewareHandler<EdgeEnv>;

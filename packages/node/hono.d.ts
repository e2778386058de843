import type { MiddlewareHandler } from "hono";
import type { EdgeRequest, EdgeSession, EdgeSessionOptions, RequireUserOptions } from "./index.js";

/** `new Hono<EdgeEnv>()` types `c.var.edge`. */
export type EdgeEnv = { Variables: { edge: EdgeRequest } };

export declare function edgeSession(options?: EdgeSessionOptions | EdgeSession): MiddlewareHandler<EdgeEnv>;
export declare function requireUser(options?: RequireUserOptions): MiddlewareHandler<EdgeEnv>;

import type { FastifyPluginAsync, preHandlerAsyncHookHandler } from "fastify";
import type { EdgeRequest, EdgeSession, EdgeSessionOptions, RequireUserOptions } from "./index.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the `edgeSession` plugin. */
    edge: EdgeRequest;
  }
}

export declare const edgeSession: FastifyPluginAsync<EdgeSessionOptions & { edge?: EdgeSession }>;
export declare function requireUser(options?: RequireUserOptions): preHandlerAsyncHookHandler;
/**
 * For a sensitive action: `requireUser`'s answer unless signed in, and 401 `{"error":"recent sign-in required"}`
 * (or, `mode: "page"`, the redirect) unless the user signed in at most `maxAgeSecs` ago with no context change since.
 */
export declare function requireRecentAuth(maxAgeSecs: number, options?: RequireUserOptions): preHandlerAsyncHookHandler;

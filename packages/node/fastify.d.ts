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

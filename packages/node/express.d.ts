import type { RequestHandler } from "express";
import type { EdgeRequest, EdgeSession, EdgeSessionOptions, RequireUserOptions } from "./index.js";

declare global {
  namespace Express {
    interface Request {
      /** Set by `edgeSession()`. */
      edge: EdgeRequest;
    }
  }
}

export declare function edgeSession(options?: EdgeSessionOptions | EdgeSession): RequestHandler & { edge: EdgeSession };
export declare function requireUser(options?: RequireUserOptions): RequestHandler;
/**
 * For a sensitive action: `requireUser`'s answer unless signed in, and 401 `{"error":"recent sign-in required"}`
 * (or, `mode: "page"`, the redirect) unless the user signed in at most `maxAgeSecs` ago with no context change since.
 */
export declare function requireRecentAuth(maxAgeSecs: number, options?: RequireUserOptions): RequestHandler;

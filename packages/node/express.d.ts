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

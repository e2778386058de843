// Hono middleware: `app.use(edgeSession())` sets `c.var.edge`, and `requireUser()` (or, for
// a sensitive action, `requireRecentAuth(maxAgeSecs)`) guards a route. Works on any Hono
// runtime with `process.env` or explicit options.
import { EdgeSession, anonymousAnswer, edgeRequest, recentAuthAnswer } from "./index.js";

/** Sets `c.var.edge` = `{ user, nonce, login, logout, adopt }`. */
export function edgeSession(options) {
  const edge = options instanceof EdgeSession ? options : new EdgeSession(options);
  return async (c, next) => {
    c.set("edge", await edgeRequest(edge, (name) => c.req.header(name), (name, value) => c.header(name, value)));
    await next();
  };
}

/** Lets only a signed-in request through: 401 JSON (`mode: "api"`) or a redirect (`mode: "page"`). */
export function requireUser(options) {
  const answer = anonymousAnswer(options);
  return async (c, next) => {
    const edge = c.get("edge");
    if (edge === undefined) throw new Error("requireUser() needs app.use(edgeSession()) first");
    if (edge.user) return next();
    return c.body(answer.body || null, answer.status, answer.headers);
  };
}

/**
 * For a sensitive action: `requireUser`'s answer unless signed in, and for a user who did
 * not sign in within `maxAgeSecs` (or whose session changed context since) 401
 * `{"error":"recent sign-in required"}` (or, `mode: "page"`, the redirect).
 */
export function requireRecentAuth(maxAgeSecs, options) {
  if (typeof maxAgeSecs !== "number" || !(maxAgeSecs >= 0)) throw new TypeError("requireRecentAuth(maxAgeSecs) needs a number of seconds ≥ 0");
  const [anonymous, stale] = [anonymousAnswer(options), recentAuthAnswer(options)];
  return async (c, next) => {
    const edge = c.get("edge");
    if (edge === undefined) throw new Error("requireRecentAuth() needs app.use(edgeSession()) first");
    if (edge.signedInWithin(maxAgeSecs)) return next();
    const answer = edge.user ? stale : anonymous;
    return c.body(answer.body || null, answer.status, answer.headers);
  };
}

// Hono middleware: `app.use(edgeSession())` sets `c.var.edge`, and `requireUser()` guards
// a route. Works on any Hono runtime with `process.env` or explicit options.
import { EdgeSession, anonymousAnswer, edgeRequest } from "./index.js";

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

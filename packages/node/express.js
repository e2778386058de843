// Express middleware: `app.use(edgeSession())` gives every request `req.edge`, and
// `requireUser()` (or, for a sensitive action, `requireRecentAuth(maxAgeSecs)`) guards a route.
import { EdgeSession, anonymousAnswer, edgeRequest, recentAuthAnswer } from "./index.js";

/** Sets `req.edge` = `{ user, nonce, login, logout, adopt }` on every request. */
export function edgeSession(options) {
  const edge = options instanceof EdgeSession ? options : new EdgeSession(options);
  const middleware = (req, res, next) => {
    const setHeader = (name, value) => res.set(name, value);
    edgeRequest(edge, (name) => req.get(name), setHeader, (name) => res.removeHeader(name)).then((ctx) => {
      req.edge = ctx;
      next();
    }, next);
  };
  middleware.edge = edge;
  return middleware;
}

/** Lets only a signed-in request through: 401 JSON (`mode: "api"`) or a redirect (`mode: "page"`). */
export function requireUser(options) {
  const answer = anonymousAnswer(options);
  return (req, res, next) => {
    if (req.edge === undefined) return next(new Error("requireUser() needs app.use(edgeSession()) first"));
    if (req.edge.user) return next();
    res.status(answer.status).set(answer.headers).send(answer.body);
  };
}

/**
 * For a sensitive action: lets a request through only if its user signed in at most
 * `maxAgeSecs` ago with no context change since (`req.edge.signedInWithin`). Otherwise
 * `requireUser`'s answer, and for a signed-in user 401 `{"error":"recent sign-in required"}`
 * (or, `mode: "page"`, the redirect): send them to sign in again.
 */
export function requireRecentAuth(maxAgeSecs, options) {
  if (typeof maxAgeSecs !== "number" || !(maxAgeSecs >= 0)) throw new TypeError("requireRecentAuth(maxAgeSecs) needs a number of seconds ≥ 0");
  const [anonymous, stale] = [anonymousAnswer(options), recentAuthAnswer(options)];
  return (req, res, next) => {
    if (req.edge === undefined) return next(new Error("requireRecentAuth() needs app.use(edgeSession()) first"));
    if (req.edge.signedInWithin(maxAgeSecs)) return next();
    const answer = req.edge.user ? stale : anonymous;
    res.status(answer.status).set(answer.headers).send(answer.body);
  };
}

// Express middleware: `app.use(edgeSession())` gives every request `req.edge`, and
// `requireUser()` guards a route.
import { EdgeSession, anonymousAnswer, edgeRequest } from "./index.js";

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

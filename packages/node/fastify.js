// Fastify plugin: `app.register(edgeSession)` sets `request.edge` on every request, and
// `requireUser()` (or, for a sensitive action, `requireRecentAuth(maxAgeSecs)`) is a
// `preHandler` that guards a route.
import { EdgeSession, anonymousAnswer, edgeRequest, recentAuthAnswer } from "./index.js";

/** Sets `request.edge` = `{ user, nonce, login, logout, adopt }`. Options as `EdgeSession`'s. */
export async function edgeSession(fastify, options = {}) {
  const { edge: given, ...rest } = options;
  const edge = given instanceof EdgeSession ? given : new EdgeSession(rest);
  const header = (request, name) => {
    const value = request.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  };
  fastify.decorateRequest("edge", null);
  fastify.addHook("onRequest", async (request, reply) => {
    request.edge = await edgeRequest(edge, (name) => header(request, name), (name, value) => reply.header(name, value),
      (name) => reply.removeHeader(name));
  });
}
// Like fastify-plugin: the decoration and hook apply to the whole app, not one scope.
edgeSession[Symbol.for("skip-override")] = true;

/** A `preHandler`: 401 JSON (`mode: "api"`) or a redirect (`mode: "page"`) unless signed in. */
export function requireUser(options) {
  const answer = anonymousAnswer(options);
  return async (request, reply) => {
    if (request.edge === null || request.edge === undefined) throw new Error("requireUser() needs app.register(edgeSession) first");
    if (request.edge.user) return;
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  };
}

/**
 * A `preHandler` for a sensitive action: `requireUser`'s answer unless signed in, and for a
 * user who did not sign in within `maxAgeSecs` (or whose session changed context since)
 * 401 `{"error":"recent sign-in required"}` (or, `mode: "page"`, the redirect).
 */
export function requireRecentAuth(maxAgeSecs, options) {
  if (typeof maxAgeSecs !== "number" || !(maxAgeSecs >= 0)) throw new TypeError("requireRecentAuth(maxAgeSecs) needs a number of seconds ≥ 0");
  const [anonymous, stale] = [anonymousAnswer(options), recentAuthAnswer(options)];
  return async (request, reply) => {
    if (request.edge === null || request.edge === undefined) throw new Error("requireRecentAuth() needs app.register(edgeSession) first");
    if (request.edge.signedInWithin(maxAgeSecs)) return;
    const answer = request.edge.user ? stale : anonymous;
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  };
}

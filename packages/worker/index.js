// edge-session as a package: the release build of the Rust worker (dist/, wasm and its
// JavaScript glue) and a wrapper that puts it in front of a Worker's own fetch handler.
import EdgeSessionWorker, { SessionFamily, UserSessions } from "./dist/index.js";

// Both Durable Object classes must be exported by the Worker's main module, under these
// names (wrangler.toml binds SESSION_FAMILY and USER_SESSIONS to them).
export { SessionFamily, UserSessions };

// The worker itself: `export { default } from "edge-session"` puts it in front of
// ORIGIN_URL, an ORIGIN service binding, or the request's own URL (a route).
export default EdgeSessionWorker;

/** The handler methods other than fetch that a wrapped Worker keeps as they are. */
const PASSED_THROUGH = ["scheduled", "queue", "email", "tail", "trace", "tailStream"];

/**
 * Puts edge-session in front of a Worker's own fetch handler, in the same isolate: the
 * edge runs first (cookies, rotation, identity headers, directives) and calls `handler`
 * as its origin, exactly as it would call an `ORIGIN` service binding.
 *
 * `handler` is anything with `fetch(request, env, ctx)`: a plain object, a Hono app, an
 * itty-router. Its other handlers (`scheduled`, `queue`…) are kept as they are.
 */
export function withEdgeSession(handler) {
  if (!handler || typeof handler.fetch !== "function") {
    throw new TypeError("withEdgeSession(handler): handler must have a fetch(request, env, ctx) method");
  }
  const wrapped = {
    fetch(request, env, ctx) {
      // The edge reads its origin from env.ORIGIN, a service binding; the Rust side
      // accepts only an object whose constructor is named `Fetcher`. The app's own
      // handler still gets the env and ctx it was given.
      const edgeEnv = { ...env, ORIGIN: new Fetcher(handler, appEnv(env), appCtx(ctx), request.cf) };
      return new EdgeSessionWorker(ctx, edgeEnv).fetch(request);
    },
  };
  // The app's other handlers get the app's env and ctx too: a cron job holding
  // SESSION_KEYS is as dangerous as a fetch handler holding them.
  for (const name of PASSED_THROUGH) {
    if (typeof handler[name] !== "function") continue;
    wrapped[name] = (event, env, ctx, ...rest) => handler[name](event, appEnv(env), appCtx(ctx), ...rest);
  }
  return wrapped;
}

/**
 * The app's env: everything but what only the edge needs. With the session keys an app
 * bug (or a dependency) could mint cookies for anyone; with the objects' namespaces it
 * could skip every rule the edge enforces. Defence in depth only: code in this isolate
 * can still `import { env } from "cloudflare:workers"` (SECURITY.md, "In-process").
 */
function appEnv(env) {
  // ASSERTION_KEYS too: with them the app could mint ES256 assertions every other
  // service trusts. The app keeps what it signs with (ORIGIN_SECRET, DIRECTIVE_SECRET,
  // ADMIN_SECRET) and EVENTS_SECRET, which it verifies events with.
  const { SESSION_KEYS, ASSERTION_KEYS, SESSION_FAMILY, USER_SESSIONS, ...rest } = env;
  return rest;
}

/** The Durable Object classes only the edge may reach through `ctx.exports`. */
const EDGE_EXPORTS = new Set(["SessionFamily", "UserSessions"]);

/**
 * The app's ctx: a plain object with the same members, bound to the real ctx, except
 * `exports` (the Worker's own exports, which workerd hands every handler), which lacks
 * the edge's Durable Object classes: through them the app could command any family's
 * object directly. A plain object, not a Proxy: a Proxy's target stays reachable through
 * `Object.getOwnPropertyDescriptor`.
 */
function appCtx(ctx) {
  if (!ctx || typeof ctx !== "object") return ctx;
  const view = {};
  for (let layer = ctx; layer && layer !== Object.prototype; layer = Object.getPrototypeOf(layer)) {
    for (const key of Reflect.ownKeys(layer)) {
      if (key === "constructor" || key === "exports" || Object.hasOwn(view, key)) continue;
      Object.defineProperty(view, key, {
        enumerable: true,
        get() {
          const value = Reflect.get(ctx, key);
          return typeof value === "function" ? value.bind(ctx) : value;
        },
      });
    }
  }
  if ("exports" in ctx) {
    const own = ctx.exports;
    const exports = {};
    for (const key of Reflect.ownKeys(own ?? {})) {
      if (!EDGE_EXPORTS.has(key)) Object.defineProperty(exports, key, { enumerable: true, get: () => own[key] });
    }
    Object.defineProperty(view, "exports", { enumerable: true, value: Object.freeze(exports) });
  }
  return view;
}

/** The in-process origin: what a service binding would be, calling `handler` directly. */
class Fetcher {
  #handler;
  #env;
  #ctx;
  #cf;

  constructor(handler, env, ctx, cf) {
    this.#handler = handler;
    this.#env = env;
    this.#ctx = ctx;
    this.#cf = cf;
  }

  // Always a promise: the edge awaits it, and a handler may answer synchronously. The
  // edge rebuilt the request (its own headers, no edge cookies), which drops `cf`; the
  // app gets the visitor's `request.cf` (country, colo…) back, as without the edge.
  async fetch(request) {
    const forwarded = this.#cf ? new Request(request, { cf: this.#cf }) : request;
    return this.#handler.fetch(forwarded, this.#env, this.#ctx);
  }
}

// The Rust side accepts `env.ORIGIN` only from a class named `Fetcher`; a minifier or a
// colliding class may rename this one (and the edge then refuses to forward at all).
Object.defineProperty(Fetcher, "name", { value: "Fetcher" });

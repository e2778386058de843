// The harness of the end-to-end tests, the bench and the soak: a real `wrangler dev`
// (local workerd, real Durable Objects) in front of a recording origin on loopback, a
// cookie-jar client, raw sockets for what a well-behaved client cannot send, and a test
// clock. Nothing here is mocked: requests go over real HTTP through the built worker.
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { createServer, request as httpRequest } from "node:http";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, jwtVerify } from "jose";
import { WebSocketServer } from "ws";

import { ACCESS_COOKIE, REFRESH_COOKIE, deletes, parseSetCookie } from "./edge-cookies.mjs";

export * from "./edge-cookies.mjs";

export const root = new URL("..", import.meta.url).pathname;

export const ORIGIN_SECRET = `o1:${randomBytes(32).toString("base64url")}`;
export const SESSION_KEYS = `k1:${randomBytes(32).toString("base64url")}`;
const originKey = new TextEncoder().encode(ORIGIN_SECRET.slice(3));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Time as a test's worker sees it: the real clock plus `ahead` milliseconds, sent as
 * `x-edge-debug-clock` (honoured only with EDGE_DEBUG=1). A test moves it forward past a
 * rotation or a grace window instead of sleeping; it never goes back, so every family's
 * times stay in order. Alarms run on the real clock.
 */
export class Clock {
  constructor() { this.ahead = 0; }
  advance(ms) { this.ahead += ms; }
  headers() { return this.ahead ? { "x-edge-debug-clock": String(this.ahead) } : {}; }
}

/**
 * Calls `probe` until `done(result)` holds or `ms` pass, for what the real clock drives
 * (alarms, logs flushed asynchronously); returns the last result either way.
 */
export async function until(probe, done, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const result = await probe();
    if (done(result) || Date.now() > deadline) return result;
    await sleep(100);
  }
}

/** Each running edge's clock, by URL: a `Client` of an edge follows it. */
const clocks = new Map();
const clockOf = (base) => clocks.get(base) ?? new Clock();

/** A small deterministic PRNG (mulberry32): a failing random run replays from its seed. */
export function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Signs an origin directive the way an origin would (docs/design.md §4). */
export async function directive(typ, claims, { key = originKey, kid = "o1", iat, exp, alg = "HS256" } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ aud: "edge-session", ...claims })
    .setProtectedHeader({ alg, typ, kid })
    .setIssuedAt(iat ?? now)
    .setExpirationTime(exp ?? now + 120)
    .sign(key);
}

/** The `X-Edge-Nonce` of a recorded request: what a directive answering it must carry. */
export const nonceOf = (req) => req.headers["x-edge-nonce"];

/** A login directive answering `req` (the recorded request), as an origin would sign it. */
export const loginDirective = (req, sub, extra = {}, opts) =>
  directive("edge-login+jwt", { sub, remember: false, nonce: nonceOf(req), ...extra }, opts);
/** A logout directive answering `req`. */
export const logoutDirective = (req, scope = "session", extra = {}, opts) =>
  directive("edge-logout+jwt", { scope, nonce: nonceOf(req), ...extra }, opts);

/**
 * The usual origin answer: `/login?<sub>` logs `<sub>` in (percent-decoded), `/logout`
 * logs out, each answering its own request; anything else is `null` (the test decides).
 */
export async function loginLogoutRoutes(req) {
  if (req.url.startsWith("/login?")) return { headers: { "X-Edge-Login": await loginDirective(req, decodeURIComponent(req.url.slice(7))) } };
  if (req.url === "/logout") return { headers: { "X-Edge-Logout": await logoutDirective(req) } };
  return null;
}

/** Verifies an `X-Edge-Assertion` exactly as an origin using `jose` would. */
export async function verifyAssertion(token, audience = "origin") {
  const { payload, protectedHeader } = await jwtVerify(token, originKey, {
    algorithms: ["HS256"],
    audience,
    issuer: "edge-session",
    typ: "JWT",
  });
  return { payload, protectedHeader };
}

/**
 * A recording origin. Every request is recorded with its headers. The response is
 * decided by `respond(req)` (async, may return { status, headers, body, delayMs }).
 */
export async function startOrigin() {
  const origin = {
    requests: [],
    respond: async () => ({}),
  };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const record = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() };
    origin.requests.push(record);
    const answer = (await origin.respond(record)) ?? {};
    if (answer.delayMs) await sleep(answer.delayMs);
    const body = answer.body ?? JSON.stringify({
      user: req.headers["x-edge-user"] ?? null,
      state: req.headers["x-edge-session-state"] ?? null,
    });
    res.writeHead(answer.status ?? 200, { "content-type": "application/json", ...answer.headers });
    res.end(body);
  });
  // A WebSocket upgrade is recorded like a request and accepted; the socket's one message
  // is the identity the upgrade carried, as the default HTTP body is.
  const sockets = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    origin.requests.push({ method: req.method, url: req.url, headers: req.headers, body: "", upgrade: true });
    sockets.handleUpgrade(req, socket, head, (ws) => ws.send(JSON.stringify({
      user: req.headers["x-edge-user"] ?? null,
      state: req.headers["x-edge-session-state"] ?? null,
    })));
  });
  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  origin.url = `http://127.0.0.1:${server.address().port}`;
  origin.close = () => new Promise((r) => {
    for (const ws of sockets.clients) ws.terminate();
    server.closeAllConnections();
    server.close(r);
  });
  origin.last = () => origin.requests[origin.requests.length - 1];
  origin.reset = () => { origin.requests.length = 0; origin.respond = async () => ({}); };
  return origin;
}

/**
 * An origin that forwards everything to `switchboard.target` (an app's URL), so one
 * edge can sit in front of several apps in turn: point it at the next app, run.
 */
export async function startSwitchboard() {
  const board = { target: null };
  const server = createServer((req, res) => {
    if (!board.target) { res.writeHead(502); res.end("no app selected"); return; }
    const upstream = httpRequest(new URL(req.url, board.target), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.rawHeaders);
      answer.pipe(res);
    });
    upstream.on("error", (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  board.url = `http://127.0.0.1:${server.address().port}`;
  board.close = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
  return board;
}

/**
 * Starts an app (`command args…` in `cwd`, with `env` added) and waits until it prints
 * `ready` (a string or RegExp). Returns `{ output(), stop() }`.
 */
export async function startApp(command, args, { cwd, env = {}, ready, port, ms = 30_000 }) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d) => { output += d; });
  child.stderr.on("data", (d) => { output += d; });
  const isReady = () => (typeof ready === "string" ? output.includes(ready) : ready.test(output));
  const deadline = Date.now() + ms;
  while (!isReady()) {
    if (child.exitCode !== null) throw new Error(`${command} ${args.join(" ")} exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`${command} ${args.join(" ")} did not start:\n${output}`);
    await sleep(100);
  }
  // And, given its `port`, until it accepts a connection: a ready line is only a promise.
  while (port && !(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${command} never accepted on ${port}:\n${output}`);
    await sleep(50);
  }
  const stop = async () => {
    try { process.kill(-child.pid, "SIGTERM"); } catch {}
    for (let i = 0; i < 30 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
    try { process.kill(-child.pid, "SIGKILL"); } catch {}
  };
  return { output: () => output, stop };
}

/**
 * Starts an example `app` ({ command, args, cwd (from the repository root), ready }) on a
 * free port with `env` added (and PORT), points `board` (a switchboard) at it, and runs
 * `story({ port, output })`; on failure the app's output is attached, and it always stops.
 */
export async function withApp(board, app, env, story) {
  const port = await freePort();
  const running = await startApp(app.command, app.args, {
    cwd: `${root}${app.cwd}`, ready: app.ready, port, env: { PORT: String(port), ...env },
  });
  board.target = `http://127.0.0.1:${port}`;
  try {
    await story({ port, output: running.output });
  } catch (e) {
    e.message += `\n--- ${app.command} ${app.args.join(" ")} output ---\n${running.output()}`;
    throw e;
  } finally {
    board.target = null;
    await running.stop();
  }
}

/** Whether something on loopback accepts a TCP connection at `port`. */
function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => { socket.destroy(); resolve(true); });
    socket.on("error", () => resolve(false));
  });
}

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * A private copy of build/ and a wrangler.toml without its `[build]` table pointing at
 * it, in `dir`. An instance then serves the worker built before it started: it neither
 * restarts nor changes when someone edits src/ or rebuilds mid-run (wrangler watches
 * both), and it reads no developer `.dev.vars` (wrangler looks beside the config file).
 */
function testConfig(dir, { serviceOrigin = false, analytics = false, eventsQueue = false, main = "index.js" } = {}) {
  cpSync(join(root, "build"), join(dir, "build"), { recursive: true });
  let toml = readFileSync(join(root, "wrangler.toml"), "utf8")
    .replace(/^\[build\][\s\S]*?(?=^\[)/m, "")
    .replace(/^main = .*$/m, `main = ${JSON.stringify(join(dir, "build", main))}`);
  if (serviceOrigin) toml += `\n[[services]]\nbinding = "ORIGIN"\nservice = "${ORIGIN_WORKER}"\n`;
  if (analytics) toml += `\n[[analytics_engine_datasets]]\nbinding = "ANALYTICS"\ndataset = "edge_session_test"\n`;
  if (eventsQueue) toml += `\n[[queues.producers]]\nbinding = "EVENTS"\nqueue = "${EVENTS_QUEUE}"\n`;
  const file = join(dir, "wrangler.toml");
  writeFileSync(file, toml);
  return file;
}

const ORIGIN_WORKER = "edge-session-test-origin";
const EVENTS_QUEUE = "edge-session-test-events";

/** Config of a Queue consumer worker that posts each event on to `receiverUrl`. */
function eventsConsumerConfig(dir, receiverUrl) {
  const file = join(dir, "events-consumer.toml");
  writeFileSync(file, [
    `name = "edge-session-test-events-consumer"`,
    `main = ${JSON.stringify(join(root, "tests/e2e/fixtures/events-consumer.js"))}`,
    `compatibility_date = "2026-04-20"`,
    `[vars]`,
    `RECEIVER_URL = ${JSON.stringify(receiverUrl)}`,
    `[[queues.consumers]]`,
    `queue = "${EVENTS_QUEUE}"`,
    `max_batch_timeout = 1`,
  ].join("\n"));
  return file;
}

/** Config of the fixture origin worker, reached through the `ORIGIN` service binding. */
function originWorkerConfig(dir) {
  const file = join(dir, "origin-worker.toml");
  writeFileSync(file, [
    `name = "${ORIGIN_WORKER}"`,
    `main = ${JSON.stringify(join(root, "tests/e2e/fixtures/origin-worker.js"))}`,
    `compatibility_date = "2026-04-20"`,
    `[vars]`,
    `ORIGIN_SECRET = ${JSON.stringify(ORIGIN_SECRET)}`,
  ].join("\n"));
  return file;
}

/**
 * Starts `wrangler dev` on the built worker (npm test builds it first) with `vars`.
 * `restartOf` (a previous edge) reuses its port and Durable Object storage, as a
 * redeploy with new configuration would. `port` picks the port (an origin that calls
 * the edge must know its URL before the edge starts). `main` serves another module of
 * build/ (`glue.js`: the objects as a release before RPC exported them). Returns
 * { url, stop, logs, … }.
 */
export async function startEdge(vars = {}, {
  restartOf, port: chosenPort, serviceOrigin = false, analytics = false, logLevel = "log", onSpawn = () => {},
  eventsQueueTo, main,
} = {}) {
  const port = chosenPort ?? restartOf?.port ?? await freePort();
  const state = restartOf?.state ?? mkdtempSync(join(tmpdir(), "edge-e2e-"));
  const all = { SESSION_KEYS, ORIGIN_SECRET, EDGE_DEBUG: "1", ...vars };
  const configs = ["--config", testConfig(state, { serviceOrigin, analytics, eventsQueue: Boolean(eventsQueueTo), main })];
  // Several --config flags run several workers in one dev session; the first is served.
  if (serviceOrigin) configs.push("--config", originWorkerConfig(state));
  if (eventsQueueTo) configs.push("--config", eventsConsumerConfig(state, eventsQueueTo));
  const inspectorPort = await freePort();
  const args = ["wrangler", "dev", ...configs, "--ip", "127.0.0.1", "--port", String(port),
    "--inspector-port", String(inspectorPort), "--persist-to", state, "--log-level", logLevel];
  for (const [k, v] of Object.entries(all)) args.push("--var", `${k}:${v}`);
  const child = spawn("npx", args, {
    cwd: root,
    detached: true, // own process group: stop() ends workerd too
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  onSpawn(child);
  const logs = [];
  child.stdout.on("data", (d) => logs.push(String(d)));
  child.stderr.on("data", (d) => logs.push(String(d)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${logs.join("")}`);
    // The worker's own answer means it is up: `ok`, or a 500 naming what is wrong with
    // its configuration (for the test to judge). Anything else is wrangler still starting.
    try {
      const res = await fetch(`${url}/__edge/health`);
      const body = await res.text();
      if (res.ok || body.includes("edge-session")) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${logs.join("")}`);
    await sleep(300);
  }
  /** Stops the instance; `keepState` leaves its storage for a restart. */
  const stop = async ({ keepState = false } = {}) => {
    try { process.kill(-child.pid, "SIGTERM"); } catch {}
    for (let i = 0; i < 50 && child.exitCode === null; i++) await sleep(100);
    try { process.kill(-child.pid, "SIGKILL"); } catch {}
    if (!keepState) rmSync(state, { recursive: true, force: true });
  };
  const clock = restartOf?.clock ?? new Clock();
  clocks.set(url, clock);
  /** `fetch` of a path on this edge, at the edge's clock. */
  const edgeFetch = (path, init = {}) => fetch(url + path, { ...init, headers: { ...clock.headers(), ...init.headers } });
  /** The worker's structured log lines (`{"edge_session": event, …}`), parsed. */
  const events = () => logs.join("").split("\n").filter((l) => l.startsWith('{"edge_session"')).map((l) => JSON.parse(l));
  /** Waits (up to 3 s: logs are flushed asynchronously) for an event matching `pred`. */
  const waitEvent = async (pred) => {
    for (let i = 0; i < 30; i++) {
      const found = events().find(pred);
      if (found) return found;
      await sleep(100);
    }
    return undefined;
  };
  return { url, port, inspectorPort, state, child, stop, logs, events, waitEvent, clock, fetch: edgeFetch };
}

/** A browser-like cookie jar client for one edge. */
export class Client {
  constructor(base, clock = clockOf(base)) {
    this.base = base;
    this.clock = clock;
    this.cookies = new Map();
  }
  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  /** Sends a request with the jar's cookies; `read: false` drops the response unread. */
  async fetch(path, { headers = {}, read = true, method = "GET", body } = {}) {
    const cookie = this.cookieHeader();
    const res = await fetch(this.base + path, {
      method, body, redirect: "manual",
      headers: { ...this.clock.headers(), ...(cookie ? { cookie } : {}), ...headers },
    });
    const setCookies = res.headers.getSetCookie().map(parseSetCookie);
    if (read) this.absorb(setCookies);
    const text = await res.text();
    return { status: res.status, headers: res.headers, setCookies, text, json: () => JSON.parse(text) };
  }
  absorb(setCookies) {
    for (const c of setCookies) {
      if (deletes(c)) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }
  get refresh() { return this.cookies.get(REFRESH_COOKIE); }
  get access() { return this.cookies.get(ACCESS_COOKIE); }
}

/** `X-Edge-Debug: path=…; writes=…` as an object, of a fetch or a `rawRequest` answer. */
export function debugOf(res) {
  const h = (typeof res.headers.get === "function" ? res.headers.get("x-edge-debug") : res.headers["x-edge-debug"]) ?? "";
  return Object.fromEntries(h.split(";").map((s) => s.trim().split("=")).filter((p) => p.length === 2));
}

/**
 * Sends `bytes` (a Buffer: exactly what goes on the wire) over a fresh TCP connection
 * and reads the whole answer: { status, headers (lower-cased, repeated ones joined with
 * "\n"), setCookies, body }. For what a well-behaved client cannot send: raw non-ASCII
 * bytes in a header, two `Cookie` lines, any method token.
 */
export function rawRequest(port, bytes) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(bytes));
    const chunks = [];
    socket.on("data", (d) => chunks.push(d));
    socket.on("error", reject);
    socket.on("close", () => {
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf("\r\n\r\n");
      if (split < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(raw.toString("latin1"))}`));
      const [statusLine, ...lines] = raw.subarray(0, split).toString("latin1").split("\r\n");
      const headers = {};
      const setCookies = [];
      for (const line of lines) {
        const i = line.indexOf(":");
        const name = line.slice(0, i).toLowerCase();
        const value = line.slice(i + 1).trim();
        if (name === "set-cookie") setCookies.push(parseSetCookie(value));
        headers[name] = name in headers ? `${headers[name]}\n${value}` : value;
      }
      let body = raw.subarray(split + 4);
      if (/chunked/i.test(headers["transfer-encoding"] ?? "")) body = unchunk(body);
      resolve({ status: Number(statusLine.split(" ")[1]), headers, setCookies, body: body.toString("utf8") });
    });
  });
}

/** A raw HTTP/1.1 request: `head` lines as given (strings or Buffers), then `body`. */
export function rawHttp(method, path, head = [], body = "") {
  const parts = [Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`)];
  for (const line of head) parts.push(Buffer.isBuffer(line) ? line : Buffer.from(line, "latin1"), Buffer.from("\r\n"));
  if (body) parts.push(Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n`));
  parts.push(Buffer.from("\r\n"), Buffer.from(body));
  return Buffer.concat(parts);
}

function unchunk(buf) {
  const out = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    const size = parseInt(buf.subarray(at, eol).toString(), 16);
    if (!(size > 0)) return Buffer.concat(out);
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

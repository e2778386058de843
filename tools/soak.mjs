// The chaos soak: many simulated browsers against one real `wrangler dev`. `npm run soak`
// (scripts/soak.mjs) runs it in full, `npm test` a short version; `costs: true` also
// counts the Durable Object calls and writes it caused (docs/cost.md).
// Each browser has its own cookie jar that updates from every response it reads, a
// few tabs firing bursts of parallel requests, some requests aborted or left unread
// (it never sees a rotated cookie), some held back up to 0.7 × grace after their
// cookies were attached (queued requests, S8, as in the design's model), and access
// cookies that lapse.
//
// Windows: rotate 6 s, grace 5 s, access 2 s (grace must stay below the rotation, so
// 6 s is the shortest rotation a 5 s grace allows). Grace must cover the time from a cookie's
// attachment to the object's decision; a 2-core machine running thousands of requests
// at once breaks that on its own, so in-flight requests are capped (MAX_IN_FLIGHT) and
// a request takes its cookies only once it has a slot. The longest attach→response
// time seen is reported beside the loss count.
// Counts requests, rotations and states, and LOST SESSIONS: a response for a browser
// whose jar held a usable credential that reached the origin anonymous or got a 401
// or 5xx. Also checks one rotation per window per family, at the origin.
//
import { createServer } from "node:http";
import { REFRESH_COOKIE, debugOf, deletes, loginDirective, parseSetCookie, rng, sleep, startEdge } from "./harness.mjs";

/** The chaos windows, in seconds: rotations and expiring access cookies all the time. */
export const CHAOS = { rotate: 6, grace: 5, access: 2, recovery: 600 };
const QUEUE_FRACTION = 0.7;
const MAX_IN_FLIGHT = 64;

/** A counting semaphore: the machine's capacity, not a browser's. */
class Slots {
  constructor(n) { this.free = n; this.waiting = []; }
  async acquire() {
    if (this.free > 0) { this.free--; return; }
    await new Promise((resolve) => this.waiting.push(resolve));
  }
  release() {
    const next = this.waiting.shift();
    if (next) next(); else this.free++;
  }
}

/** A fast origin: logs in on /login, echoes identity, records rotations per family. */
async function soakOrigin() {
  const rotations = new Map(); // family → [ms at origin]
  const server = createServer(async (req, res) => {
    const headers = { "content-type": "application/json" };
    if (req.url.startsWith("/login")) headers["X-Edge-Login"] = await loginDirective(req, req.url.slice(7));
    const state = req.headers["x-edge-session-state"] ?? null;
    if (state === "rotated") {
      const family = req.headers["x-edge-session"];
      if (!rotations.has(family)) rotations.set(family, []);
      rotations.get(family).push(Date.now());
    }
    res.writeHead(200, headers);
    res.end(JSON.stringify({ user: req.headers["x-edge-user"] ?? null, state }));
  });
  server.keepAliveTimeout = 5000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    rotations,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

class Browser {
  constructor(id, base, random, stats, slots, windows, pace) {
    Object.assign(this, { id, base, random, stats, slots, windows, pace, jar: new Map() });
  }
  cookieHeader() {
    const now = Date.now();
    const live = [...this.jar].filter(([, c]) => !c.expires || c.expires > now);
    return live.map(([name, c]) => `${name}=${c.value}`).join("; ");
  }
  absorb(res) {
    for (const c of res.headers.getSetCookie().map(parseSetCookie)) {
      const maxAge = c.attrs["max-age"];
      if (deletes(c)) this.jar.delete(c.name);
      else this.jar.set(c.name, { value: c.value, expires: maxAge ? Date.now() + Number(maxAge) * 1000 : null });
    }
  }
  async login() {
    const res = await fetch(`${this.base}/login?soak-${this.id}`);
    this.absorb(res);
    await res.arrayBuffer();
    if (!this.jar.has(REFRESH_COOKIE)) throw new Error(`browser ${this.id}: login failed`);
  }
  /** One request from one tab: cookies attached now, maybe held in the queue first. */
  async request() {
    await this.slots.acquire();
    try {
      await this.send();
    } finally {
      this.slots.release();
    }
  }

  async send() {
    const r = this.random;
    const cookie = this.cookieHeader();
    const attached = Date.now();
    if (r() < 0.1) await sleep(r() * this.windows.grace * 1000 * QUEUE_FRACTION); // queued behind the connection limit
    const abort = r() < 0.03;
    const unread = !abort && r() < 0.05;
    const controller = new AbortController();
    if (abort) setTimeout(() => controller.abort(), r() * 20);
    this.stats.requests++;
    let res;
    try {
      res = await fetch(`${this.base}/r`, { headers: { cookie }, signal: controller.signal });
    } catch (e) {
      if (abort) { this.stats.aborted++; return; }
      this.stats.transportErrors++;
      if (this.stats.errorExamples.length < 5) this.stats.errorExamples.push(String(e.cause ?? e));
      return;
    }
    this.stats.maxLatencyMs = Math.max(this.stats.maxLatencyMs, Date.now() - attached);
    const debug = debugOf(res);
    if (debug.path === "object") {
      // One call to the family's object; a family write also sends one `last_seen` touch
      // to the user's object (after the response), which writes its index.
      this.stats.objectCalls++;
      this.stats.familyWrites += Number(debug.writes);
      if (debug.touched === "1") this.stats.userTouches++; // the family told the user's index
    }
    if (abort) { this.stats.aborted++; res.body?.cancel(); return; } // response never read
    if (unread) { this.stats.unread++; await res.arrayBuffer(); return; }
    const body = res.status === 200 ? await res.json() : (await res.arrayBuffer(), null);
    this.absorb(res);
    if (!body?.user) {
      this.stats.lost++;
      if (this.stats.lostExamples.length < 5) this.stats.lostExamples.push({ browser: this.id, status: res.status, body, cookie: cookie.slice(0, 80) });
      return;
    }
    this.stats.states[body.state] = (this.stats.states[body.state] ?? 0) + 1;
  }
  /** Tabs fire bursts of parallel requests until the shared budget is spent. */
  async run(budget) {
    const tabs = Array.from({ length: this.pace.tabs }, async () => {
      while (budget.left > 0) {
        const burst = Math.min(budget.left, 1 + Math.floor(this.random() * 8));
        budget.left -= burst;
        await Promise.all(Array.from({ length: burst }, () => this.request()));
        await sleep(this.pace.min + this.random() * (this.pace.max - this.pace.min));
      }
    });
    await Promise.all(tabs);
  }
}

/** Tabs per browser, and each tab's pause between bursts in ms: by default, three busy tabs. */
export const BUSY = { tabs: 3, min: 50, max: 650 };

/**
 * Runs `requests` requests across `families` simulated browsers. `windows` are in seconds
 * (`idle` optional); `pace` is each tab's pause between bursts; `costs` turns on
 * EDGE_DEBUG to count object calls and writes.
 */
export async function soak({ requests = 100_000, families = 200, seed = 1, windows = CHAOS, pace = BUSY, costs = false } = {}) {
  const origin = await soakOrigin();
  const edge = await startEdge({
    ORIGIN_URL: origin.url, EDGE_DEBUG: costs ? "1" : "0", ROTATE_AFTER_SECS: String(windows.rotate),
    GRACE_SECS: String(windows.grace), ACCESS_TTL_SECS: String(windows.access), RECOVERY_SECS: String(windows.recovery),
    ...(windows.idle ? { IDLE_TIMEOUT_SECS: String(windows.idle) } : {}),
  }, { logLevel: "error" });
  const stats = {
    requests: 0, aborted: 0, unread: 0, lost: 0, lostExamples: [], states: {},
    transportErrors: 0, errorExamples: [], maxLatencyMs: 0, objectCalls: 0, familyWrites: 0, userTouches: 0,
  };
  const slots = new Slots(MAX_IN_FLIGHT);
  const started = Date.now();
  try {
    const browsers = Array.from({ length: families }, (_, i) => new Browser(i, edge.url, rng(seed * 7919 + i), stats, slots, windows, pace));
    for (const b of browsers) await b.login();
    const budget = { left: requests };
    await Promise.all(browsers.map((b) => b.run(budget)));
  } finally {
    await edge.stop();
    await origin.close();
  }
  let rotations = 0, tooClose = 0;
  for (const times of origin.rotations.values()) {
    rotations += times.length;
    times.sort((a, b) => a - b);
    // At the origin, arrival jitter of a few ms is possible; a second rotation in the
    // same window would be at least a whole window early.
    for (let i = 1; i < times.length; i++) if (times[i] - times[i - 1] < windows.rotate * 1000 - 250) tooClose++;
  }
  const seconds = (Date.now() - started) / 1000;
  return { ...stats, families, rotations, tooClose, seconds };
}

/** One line: the counts, ending in the lost sessions. */
export function summary(r) {
  const states = ["fresh", "rotated", "grace", "recovered"].map((s) => `${s} ${r.states[s] ?? 0}`).join(", ");
  return `soak: ${r.requests} requests, ${r.families} families, ${r.seconds.toFixed(0)} s; rotations ${r.rotations} ` +
    `(windows violated ${r.tooClose}); states ${states}; aborted ${r.aborted}, unread ${r.unread}; ` +
    `transport errors ${r.transportErrors}; longest attach→response ${r.maxLatencyMs} ms; lost ${r.lost}`;
}

// Edge throughput benchmark, run by `npm run bench` (scripts/bench.sh).
//
// One process drives everything: a minimal origin (a child Node process on loopback),
// two local `wrangler dev` instances of the built worker (real workerd, real Durable
// Objects), wrk for steady load, and a Node client for the rotation burst.
//
//   steady instance   ACCESS_TTL_SECS=3600, ROTATE_AFTER_SECS=3600: paths (a)(b)(c)
//   rotation instance ROTATE_AFTER_SECS=3, GRACE_SECS=2, ACCESS_TTL_SECS=0: burst (d)
//
// Every child runs in its own process group. Their group ids are appended to
// $BENCH_PGID_FILE so that bench.sh can end them even if this process is killed.
//
// `node scripts/bench.mjs origin` is the origin itself (see runOrigin).
import { execSync, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createServer, request as httpRequest, Agent } from "node:http";
import { appendFileSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  ACCESS_COOKIE as ACCESS, ORIGIN_SECRET, REFRESH_COOKIE as REFRESH, debugOf, parseSetCookie, root, sleep, startEdge,
} from "../tools/harness.mjs";
import { median } from "../tools/measure.mjs";
const num = (name, dflt) => Number(process.env[name] ?? dflt);

const DURATION = num("BENCH_DURATION", 3); // seconds per wrk phase
const WARMUP = num("BENCH_WARMUP", 1); // seconds of unreported wrk before each phase
// (a)(b)(c)(e) run in turn this many times, every other round in reverse: a ratio is
// taken within each round, and the median of the rounds reported. One phase's rate moves
// with whatever else the machine does; more, shorter rounds (9 × 3 s, was 5 × 5 s) give a
// median that moves less, in about the same time.
const ROUNDS = num("BENCH_ROUNDS", 9);
const CONNECTIONS = num("BENCH_CONNECTIONS", 16);
const THREADS = num("BENCH_THREADS", 2);
const BURST = num("BENCH_BURST", 200);
const SAMPLE = num("BENCH_SAMPLE", 200); // sequential requests for the writes figure
const USER = "bench-user";

// ACCESS_TTL_SECS at its maximum (600): the access cookie outlives the whole run (≤ 200 s).
const STEADY = { ACCESS_TTL_SECS: "600", ROTATE_AFTER_SECS: "3600", GRACE_SECS: "30" };
const ROTATION = { ACCESS_TTL_SECS: "0", ROTATE_AFTER_SECS: "3", GRACE_SECS: "2" };
// The steady instance again, signing its assertions with ES256 (a fresh P-256 key).
const ES256 = {
  ...STEADY, ASSERTION_ALG: "ES256",
  ASSERTION_KEYS: `a1:${generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "der" }).toString("base64url")}`,
};

// ---------------------------------------------------------------------------------
// The origin: 200 with a tiny JSON body echoing the identity the edge forwarded.
// GET /login also answers with a signed login directive. GET /__stats
// (asked directly, never through the edge) returns and resets per-state counters.

async function runOrigin() {
  const { SignJWT } = await import("jose");
  const secret = process.env.ORIGIN_SECRET;
  const kid = secret.slice(0, secret.indexOf(":"));
  const key = new TextEncoder().encode(secret.slice(kid.length + 1));
  let stats = {};
  const server = createServer(async (req, res) => {
    if (req.url === "/__stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(stats));
      stats = {};
      return;
    }
    const user = req.headers["x-edge-user"] ?? null;
    const state = req.headers["x-edge-session-state"] ?? null;
    const bucket = user === null ? "anonymous" : user === USER ? state : `other-user:${state}`;
    stats[bucket] = (stats[bucket] ?? 0) + 1;
    const headers = { "content-type": "application/json" };
    if (req.url === "/login") {
      const now = Math.floor(Date.now() / 1000);
      // The directive answers this request only: it echoes the request's nonce.
      const nonce = req.headers["x-edge-nonce"];
      headers["X-Edge-Login"] = await new SignJWT({ aud: "edge-session", sub: USER, remember: false, nonce })
        .setProtectedHeader({ alg: "HS256", typ: "edge-login+jwt", kid })
        .setIssuedAt(now).setExpirationTime(now + 120).sign(key);
    }
    res.writeHead(200, headers);
    res.end(JSON.stringify({ user, state }));
  });
  server.keepAliveTimeout = 60_000;
  // A deep accept queue: the burst opens hundreds of connections to it at once.
  server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => process.stdout.write(`port=${server.address().port}\n`));
  process.on("SIGTERM", () => process.exit(0));
}

// ---------------------------------------------------------------------------------
// Children: own process group each, recorded for bench.sh, ended on exit.

const groups = new Set();

function startChild(cmd, args, env = {}) {
  const child = spawn(cmd, args, {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  child.out = "";
  child.stdout.on("data", (d) => { child.out += d; });
  child.stderr.on("data", (d) => { child.out += d; });
  return adopt(child);
}

/** Records a child's process group (for bench.sh and for the exit handler). */
function adopt(child) {
  groups.add(child.pid);
  if (process.env.BENCH_PGID_FILE) appendFileSync(process.env.BENCH_PGID_FILE, `${child.pid}\n`);
  child.done = new Promise((r) => child.on("exit", (code) => { groups.delete(child.pid); r(code); }));
  return child;
}

async function stopGroup(child) {
  if (!groups.has(child.pid)) return;
  try { process.kill(-child.pid, "SIGTERM"); } catch {}
  await Promise.race([child.done, sleep(5000)]);
  try { process.kill(-child.pid, "SIGKILL"); } catch {}
}

function killAllNow() {
  for (const pid of groups) try { process.kill(-pid, "SIGKILL"); } catch {}
}
process.on("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

async function startOriginProcess(secret) {
  const child = startChild(process.execPath, [new URL(import.meta.url).pathname, "origin"], { ORIGIN_SECRET: secret });
  for (let i = 0; i < 100; i++) {
    const m = /port=(\d+)/.exec(child.out);
    if (m) return { child, url: `http://127.0.0.1:${m[1]}` };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`origin did not start:\n${child.out}`);
}

// ---------------------------------------------------------------------------------
// Small HTTP helpers.

async function get(url, cookie) {
  const res = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch {}
  return { status: res.status, res, body, text, debug: debugOf(res) };
}

async function login(edge) {
  const r = await get(`${edge.url}/login`);
  const jar = Object.fromEntries(r.res.headers.getSetCookie().map(parseSetCookie).map((c) => [c.name, c.value]));
  if (r.status !== 200 || !jar[REFRESH]) throw new Error(`login via ${edge.name} failed: ${r.status} ${r.text}`);
  return jar;
}

async function originStats(origin) {
  return (await fetch(`${origin.url}/__stats`)).json();
}

// ---------------------------------------------------------------------------------
// wrk.

function ms(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]];
}

async function wrk(url, cookie, seconds) {
  const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "--timeout", "5s"];
  if (cookie) args.push("-H", `Cookie: ${cookie}`);
  args.push(url);
  // `times` prints the CPU time wrk used (children's line), for the CPU table.
  const child = startChild("sh", ["-c", 'wrk "$@"; rc=$?; echo "wrk-cpu:"; times; exit $rc', "sh", ...args]);
  const code = await child.done;
  const out = child.out;
  if (code !== 0) throw new Error(`wrk failed (${code}):\n${out}`);
  const pick = (re) => { const m = re.exec(out); return m ? m[1] : undefined; };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const times = /wrk-cpu:\n.*\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(out);
  return {
    wrkCpuMs: times ? (Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4])) * 1000 : NaN,
    rps: Number(pick(/Requests\/sec:\s+([\d.]+)/)),
    p50: ms(pick(/^\s+50%\s+(\S+)/m)),
    p99: ms(pick(/^\s+99%\s+(\S+)/m)),
    requests: Number(pick(/(\d+) requests in/)),
    non2xx: Number(pick(/Non-2xx or 3xx responses: (\d+)/) ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    raw: out,
  };
}

async function phase(label, url, origin, cookie, roles) {
  if (WARMUP > 0) await wrk(url, cookie, WARMUP);
  await sleep(1000); // let requests still in flight reach the origin before counting
  await originStats(origin); // reset counters
  const cpu0 = cpuSnapshot(roles);
  const result = await wrk(url, cookie, DURATION);
  const cpu1 = cpuSnapshot(roles);
  result.origin = await originStats(origin);
  result.label = label;
  result.cpu = {};
  for (const name of Object.keys(cpu1)) result.cpu[name] = (cpu1[name] - (cpu0[name] ?? 0)) / result.requests;
  result.cpu.wrk = result.wrkCpuMs / result.requests;
  return result;
}

// ---------------------------------------------------------------------------------
// CPU accounting from /proc: milliseconds of user+sys time used so far by each role
// (a process group, optionally narrowed by its command line), and by the whole machine.

const TICK_MS = 10; // USER_HZ is 100 on Linux

function cpuSnapshot(roles) {
  const out = {};
  for (const dir of readdirSync("/proc")) {
    if (!/^\d+$/.test(dir)) continue;
    let stat, cmd;
    try {
      stat = readFileSync(`/proc/${dir}/stat`, "utf8");
      cmd = readFileSync(`/proc/${dir}/cmdline`, "utf8");
    } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const role = roles.find((r) => r.pgid === Number(f[2]) && (!r.match || r.match(cmd)));
    if (role) out[role.name] = (out[role.name] ?? 0) + (Number(f[11]) + Number(f[12])) * TICK_MS;
  }
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  out.machine = (cpu.reduce((a, b) => a + b, 0) - cpu[3] - cpu[4]) * TICK_MS; // all but idle, iowait
  return out;
}

/** Roles for one wrangler dev group: the worker's workerd, wrangler's proxy workerd, wrangler. */
function edgeRoles(edge, origin) {
  const port = new URL(edge.url).port;
  const workerd = (cmd) => cmd.includes("workerd");
  return [
    { name: "proxy", pgid: edge.child.pid, match: (cmd) => workerd(cmd) && cmd.includes(`entry=127.0.0.1:${port}\0`) },
    { name: "worker", pgid: edge.child.pid, match: workerd },
    { name: "wrangler", pgid: edge.child.pid },
    { name: "origin", pgid: origin.child.pid },
  ];
}

// ---------------------------------------------------------------------------------
// Burst: BURST concurrent requests with one refresh cookie, just after it is due.

async function openConnections(edge) {
  const agent = new Agent({ keepAlive: true, maxSockets: BURST, maxFreeSockets: BURST });
  const target = new URL(edge.url);
  const one = (path, cookie) => new Promise((resolve) => {
    const t0 = performance.now();
    const req = httpRequest({ host: target.hostname, port: target.port, path, agent, headers: cookie ? { cookie } : {} }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text, ms: performance.now() - t0 }));
    });
    req.on("error", (e) => resolve({ status: 0, error: e.message, headers: {}, text: "", ms: performance.now() - t0 }));
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    req.end();
  });
  // Open the connections first, so the burst measures the edge, not TCP set-up.
  await Promise.all(Array.from({ length: BURST }, () => one("/__edge/health")));
  return { one, agent };
}

async function rotationBurst(edge, origin) {
  const jar = await login(edge);
  const loggedInAt = Date.now();
  const cookie = `${REFRESH}=${jar[REFRESH]}`;
  const dueAt = loggedInAt + Number(ROTATION.ROTATE_AFTER_SECS) * 1000 + 500;
  await sleep(Math.max(0, dueAt - Date.now()));
  // Connections are opened after the wait, not before: under wrangler dev, a burst over
  // connections that sat idle for seconds can hit a reset between wrangler's proxy and
  // the worker, and wrangler dev then exits (seen with and without cookies).
  const { one, agent } = await openConnections(edge);
  await originStats(origin);
  const dueFor = (Date.now() - (dueAt - 500)) / 1000;
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: BURST }, () => one("/", cookie)));
  const wall = performance.now() - t0;
  const seenByOrigin = await originStats(origin);
  agent.destroy();

  const states = {};
  const statuses = {};
  const refreshValues = new Set();
  let refreshSetOn = 0, writes = 0;
  for (const r of results) {
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    let body = null;
    try { body = JSON.parse(r.text); } catch {}
    const state = body && body.user === USER ? body.state : body ? "anonymous" : `no-body(${r.status})`;
    states[state] = (states[state] ?? 0) + 1;
    writes += Number(debugOf(r).writes ?? 0);
    for (const line of [].concat(r.headers["set-cookie"] ?? [])) {
      if (line.startsWith(`${REFRESH}=`)) {
        refreshSetOn++;
        refreshValues.add(line.split(";")[0].slice(REFRESH.length + 1));
      }
    }
  }
  const lat = results.map((r) => r.ms).sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)];
  // The converged credential must work on its own (it confirms generation g+1).
  let after = null;
  if (refreshValues.size === 1) {
    try {
      const r = await get(`${edge.url}/`, `${REFRESH}=${[...refreshValues][0]}`);
      after = { status: r.status, state: r.body?.user === USER ? r.body.state : "anonymous", writes: r.debug.writes };
    } catch (e) {
      after = { status: `failed: ${e.cause?.code ?? e.message}`, state: "-", writes: "-" };
    }
  }
  const errorSamples = [...new Set(results.filter((r) => r.error || r.status >= 500).map((r) => r.error ?? `${r.status} ${r.text.slice(0, 80)}`))].slice(0, 5);
  return { wall, dueFor, errorSamples, edgeAlive: edge.child.exitCode === null && edge.child.signalCode === null, min: lat[0], p50: pct(50), p99: pct(99), max: lat[lat.length - 1], states, statuses,
    refreshSetOn, distinctRefresh: refreshValues.size, writes, seenByOrigin, after };
}

// ---------------------------------------------------------------------------------
// Sequential sample of DO writes on the object path (c).

async function writesSample(edge, cookie) {
  const first = await get(`${edge.url}/`, cookie);
  const sample = { first: Number(first.debug.writes), firstPath: first.debug.path, n: 0, writes: 0, paths: {}, states: {}, statuses: {}, ms: [] };
  for (let i = 0; i < SAMPLE; i++) {
    const t0 = performance.now();
    const r = await get(`${edge.url}/`, cookie);
    sample.ms.push(performance.now() - t0);
    sample.n++;
    sample.writes += Number(r.debug.writes ?? 0);
    sample.paths[r.debug.path] = (sample.paths[r.debug.path] ?? 0) + 1;
    const state = r.body?.user === USER ? r.body.state : "anonymous";
    sample.states[state] = (sample.states[state] ?? 0) + 1;
    sample.statuses[r.status] = (sample.statuses[r.status] ?? 0) + 1;
  }
  return sample;
}

/** Median ms of `n` requests sent one at a time: what one request costs with no queue. */
async function sequentialMs(url, cookie, n = SAMPLE) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await get(url, cookie);
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

// ---------------------------------------------------------------------------------

function commit() {
  try {
    const head = execSync("git rev-parse --short HEAD", { cwd: root }).toString().trim();
    const dirty = execSync("git status --porcelain -- src Cargo.toml Cargo.lock", { cwd: root }).toString().trim();
    return dirty ? `${head} with uncommitted changes in src/ or Cargo files` : head;
  } catch {
    return "unknown";
  }
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const counts = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(", ") || "none";

async function main() {
  const started = Date.now();
  const origin = await startOriginProcess(ORIGIN_SECRET);
  const edges = [];
  try {
    // The harness's edge (its keys, a private copy of build/), in this script's process
    // groups so that bench.sh can end it even if this process is killed.
    const edge = (name, vars) => startEdge({ ORIGIN_URL: origin.url, ...vars }, { logLevel: "error", onSpawn: adopt })
      .then((e) => Object.assign(e, { name }));
    const [steady, rotation, es256] =
      await Promise.all([edge("steady", STEADY), edge("rotation", ROTATION), edge("es256", ES256)]);
    edges.push(steady, rotation, es256);
    console.error(`bench: edges up in ${((Date.now() - started) / 1000).toFixed(1)}s; running phases`);

    const jar = await login(steady);
    if (!jar[ACCESS]) throw new Error("login on the steady instance set no access cookie");
    const both = `${ACCESS}=${jar[ACCESS]}; ${REFRESH}=${jar[REFRESH]}`;
    const refreshOnly = `${REFRESH}=${jar[REFRESH]}`;

    // Check each path once before loading it (X-Edge-Debug names the path).
    for (const [cookie, want] of [[null, "none"], [both, "access"]]) {
      const r = await get(`${steady.url}/`, cookie);
      if (r.debug.path !== want) throw new Error(`expected path=${want}, got ${JSON.stringify(r.debug)} ${r.text}`);
    }
    const sample = await writesSample(steady, refreshOnly); // also does the first confirmation
    const sequential = { a: await sequentialMs(`${steady.url}/`, null), b: await sequentialMs(`${steady.url}/`, both), c: median(sample.ms) };
    const esJar = await login(es256);
    const esBoth = `${ACCESS}=${esJar[ACCESS]}; ${REFRESH}=${esJar[REFRESH]}`;
    const esCheck = await get(`${es256.url}/`, esBoth);
    if (esCheck.debug.path !== "access") throw new Error(`ES256 instance: expected path=access, got ${JSON.stringify(esCheck.debug)}`);

    // Two reference rows bracket the edge: the origin alone, and the worker alone.
    const roles = edgeRoles(steady, origin);
    const direct = await phase("ref: origin direct, no edge", `${origin.url}/`, origin, null, roles);
    const health = await phase("ref: edge `/__edge/health`, no origin fetch", `${steady.url}/__edge/health`, origin, null, roles);
    const esRoles = edgeRoles(es256, origin);
    const phases = {
      a: () => phase("(a) no cookies", `${steady.url}/`, origin, null, roles),
      b: () => phase("(b) access cookie (fast path)", `${steady.url}/`, origin, both, roles),
      c: () => phase("(c) refresh cookie only (object)", `${steady.url}/`, origin, refreshOnly, roles),
      e: () => phase("(e) access cookie, ES256 assertions", `${es256.url}/`, origin, esBoth, esRoles),
    };
    // Every other round in reverse order (a b c e, e c b a, …): the machine's rate moves
    // during a run (its neighbours; wrangler's inspector proxy keeping every DevTools
    // event), and a fixed order would charge any trend to the later paths.
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) {
      const round = {};
      for (const path of i % 2 ? ["e", "c", "b", "a"] : ["a", "b", "c", "e"]) round[path] = await phases[path]();
      rounds.push(round);
    }
    const [a, b, c, e] = ["a", "b", "c", "e"].map((path) => combine(rounds.map((round) => round[path])));
    const d = await rotationBurst(rotation, origin);

    const { lines, problems } = report({ direct, health, a, b, c, d, e, sample, rotation, rounds, sequential });
    lines.push("", `Total time ${((Date.now() - started) / 1000).toFixed(0)} s.`);
    console.log(lines.join("\n"));
    process.exitCode = problems.length ? 1 : 0;
  } finally {
    await Promise.all(edges.map((e) => e.stop()));
    await stopGroup(origin.child);
  }
}

/** The markdown report of one run. */
function report({ direct, health, a, b, c, d, e, sample, rotation, rounds, sequential }) {
  const wrangler = JSON.parse(readFileSync(join(root, "node_modules/wrangler/package.json"), "utf8")).version;
  const cpu = cpus()[0]?.model ?? "?";
  const out = [];
  out.push(`## Edge throughput — ${new Date().toISOString()}`, "");
  out.push(`Worker: build/ of ${statSync(join(root, "build/index_bg.wasm")).mtime.toISOString()}, checkout ${commit()}.`);
  out.push(`Machine: ${cpus().length} cores (${cpu}), shared by wrk, workerd (wrangler dev ${wrangler}) and the Node origin (node ${process.version}); other jobs may run too.`);
  out.push(`wrk: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION} s per path after ${WARMUP} s of warm-up; (a)(b)(c)(e) in turn, every other round reversed, ${rounds.length} rounds; same instance for (a)(b)(c) (ACCESS_TTL_SECS=600, ROTATE_AFTER_SECS=3600).`,
    "Rows (a)(b)(c)(e): the median of the rounds' req/s and latencies, the sums of their counts, CPU over all their requests.", "");
  out.push("| path | req/s | p50 ms | p99 ms | requests | non-2xx | socket errors | origin saw |");
  out.push("|---|---:|---:|---:|---:|---:|---:|---|");
  for (const r of [direct, health, a, b, c, e]) {
    out.push(`| ${r.label} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.requests} | ${r.non2xx} | ${r.socketErrors} | ${counts(r.origin)} |`);
  }
  out.push("", "`origin saw` counts what the origin received during the run, by the session state the edge forwarded",
    "(it exceeds `requests` by the requests still in flight when wrk stopped).", "");
  out.push("CPU time per request in ms (user+sys from /proc, same runs). `worker` is the workerd running the worker",
    "and its Durable Objects, `proxy` the workerd of wrangler's dev proxy in front of it; `other` is everything else",
    "the machine ran meanwhile (other jobs included).", "");
  const cols = ["worker", "proxy", "wrangler", "origin", "wrk"];
  const sum = (r) => cols.reduce((acc, k) => acc + (r.cpu[k] ?? 0), 0);
  out.push(`| path | ${cols.join(" | ")} | sum | other |`);
  out.push(`|---|${cols.map(() => "---:").join("|")}|---:|---:|`);
  for (const r of [direct, health, a, b, c, e]) {
    out.push(`| ${r.label} | ${cols.map((k) => fmt(r.cpu[k] ?? 0, 3)).join(" | ")} | ${fmt(sum(r), 3)} | ${fmt(r.cpu.machine - sum(r), 3)} |`);
  }
  out.push("");
  const ratio = (x, y) => rounds.map((round) => round[x].rps / round[y].rps);
  const ratios = (x, y, target) => {
    const each = ratio(x, y);
    return `(${x})/(${y}) = **${fmt(median(each))}**${target ? ` (target ≥ ${target})` : ""} [${each.map((r) => fmt(r)).join(", ")}]`;
  };
  out.push(`Ratios of req/s, median of the rounds [each round]: ${ratios("b", "a", "0.95")}, ${ratios("c", "a", "0.75")}, ` +
    `${ratios("e", "a", "0.90")} (ES256 on the fast path; (e) runs on its own instance, same settings).`);
  out.push(`(a)'s req/s in each round, in order (how much the machine moved): ${rounds.map((r) => fmt(r.a.rps, 0)).join(", ")}.`);
  out.push(`Ratios of CPU per request, inverted (what the req/s ratios would be on a CPU-bound machine with nothing else running; ` +
    `less sensitive to other jobs): (a)/(b) = ${fmt(sum(a) / sum(b))}, (a)/(c) = ${fmt(sum(a) / sum(c))}, (a)/(e) = ${fmt(sum(a) / sum(e))}; ` +
    `the worker's workerd alone: ${fmt(a.cpu.worker / b.cpu.worker)} and ${fmt(a.cpu.worker / c.cpu.worker)}.`);
  out.push(`One request at a time (${SAMPLE} each, median): (a) ${fmt(sequential.a)} ms, (b) ${fmt(sequential.b)} ms, (c) ${fmt(sequential.c)} ms: ` +
    `the object call adds ${fmt(sequential.c - sequential.b)} ms here, its object in the same process; a far object adds the round trip to it (docs/cost.md).`);
  out.push(`DO writes on path (c): ${sample.writes} in ${sample.n} sequential requests = ${fmt(sample.writes / sample.n, 3)} per request (target 0), ` +
    `after the first request after login, which confirmed the credential (writes=${sample.first}, excluded). ` +
    `Paths: ${counts(sample.paths)}; states: ${counts(sample.states)}; statuses: ${counts(sample.statuses)}.`);
  out.push("");
  out.push(`Rotation burst (d): ${BURST} concurrent requests with one refresh cookie, ${fmt(d.dueFor, 1)} s after it became due ` +
    `(separate instance: ROTATE_AFTER_SECS=3, GRACE_SECS=2, ACCESS_TTL_SECS=0; the ${BURST} connections opened just before).`, "");
  out.push("| wall ms | min ms | p50 ms | p99 ms | max ms | statuses | states (from the origin's echo) | refresh Set-Cookie on | distinct refresh values | DO writes |");
  out.push("|---:|---:|---:|---:|---:|---|---|---:|---:|---:|");
  out.push(`| ${fmt(d.wall, 0)} | ${fmt(d.min, 1)} | ${fmt(d.p50, 1)} | ${fmt(d.p99, 1)} | ${fmt(d.max, 1)} | ${counts(d.statuses)} | ${counts(d.states)} | ${d.refreshSetOn} | ${d.distinctRefresh} | ${d.writes} |`);
  out.push("");
  if (d.errorSamples.length) out.push(`Burst errors (samples): ${d.errorSamples.join(" | ")}.`);
  if (!d.edgeAlive) out.push(`The rotation instance's wrangler dev exited after the burst; its output ends:\n\n\`\`\`\n${rotation.logs.join("").split("\n").slice(-40).join("\n")}\n\`\`\``);
  out.push(`Origin saw during the burst: ${counts(d.seenByOrigin)}. ` +
    (d.after ? `The new refresh cookie alone afterwards: ${d.after.status}, ${d.after.state}, writes=${d.after.writes}.` : "No single new refresh cookie to check."));
  const problems = problemsOf({ direct, health, a, b, c, d, e, sample });
  out.push("", problems.length ? `PROBLEMS:\n- ${problems.join("\n- ")}` : "No errors, no non-2xx, every loaded request authenticated as expected.");
  return { lines: out, problems };
}

/** One path's rounds as one row: median rates and latencies, summed counts, CPU per request over all. */
function combine(runs) {
  const requests = runs.reduce((sum, r) => sum + r.requests, 0);
  const total = (key) => runs.reduce((sum, r) => sum + r[key], 0);
  const origin = {};
  for (const r of runs) for (const [state, n] of Object.entries(r.origin)) origin[state] = (origin[state] ?? 0) + n;
  const cpu = {};
  for (const key of Object.keys(runs[0].cpu)) cpu[key] = runs.reduce((sum, r) => sum + r.cpu[key] * r.requests, 0) / requests;
  const med = (key) => median(runs.map((r) => r[key]));
  return { label: runs[0].label, rps: med("rps"), p50: med("p50"), p99: med("p99"), requests,
    non2xx: total("non2xx"), socketErrors: total("socketErrors"), origin, cpu };
}

/** What would be a bug: errors, wrong identities, writes between rotations, a bad burst. */
function problemsOf({ direct, health, a, b, c, d, e, sample }) {
  const problems = [];
  for (const r of [direct, health, a, b, c, e]) {
    if (r.non2xx || r.socketErrors) problems.push(`${r.label}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
  }
  if (Object.keys(a.origin).some((k) => k !== "anonymous")) problems.push(`(a): origin saw ${counts(a.origin)}`);
  for (const r of [b, c, e]) if (Object.keys(r.origin).some((k) => k !== "fresh")) problems.push(`${r.label}: origin saw ${counts(r.origin)}`);
  if (sample.writes) problems.push(`path (c) wrote ${sample.writes} times in ${sample.n} requests`);
  if (sample.states.fresh !== sample.n) problems.push(`path (c) sample: ${counts(sample.states)}, statuses ${counts(sample.statuses)}`);
  const authenticated = (d.states.rotated ?? 0) + (d.states.grace ?? 0) + (d.states.fresh ?? 0) + (d.states.recovered ?? 0);
  if (authenticated !== BURST) problems.push(`burst: ${BURST - authenticated} of ${BURST} not authenticated (${counts(d.states)})`);
  if ((d.states.rotated ?? 0) !== 1) problems.push(`burst: ${d.states.rotated ?? 0} rotations (expected exactly 1)`);
  if (d.distinctRefresh !== 1) problems.push(`burst: ${d.distinctRefresh} distinct refresh cookies (expected 1)`);
  return problems;
}

// Last, so that every module-level binding above is initialised.
if (process.argv[2] === "origin") await runOrigin();
else await main();

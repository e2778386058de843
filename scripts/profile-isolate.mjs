// The worker's own cost per request, without wrangler: `node scripts/profile-isolate.mjs [a|b|c]`.
//
// `npm run bench` measures through `wrangler dev`, whose dev proxy, inspector relay and
// outbound worker cost more than the worker itself and move with the machine. This runs
// the built worker (build/) and its Durable Objects in plain Miniflare (workerd, SQLite
// objects, no inspector unless profiling), and sends it N requests from a loop inside
// the isolate. The origin is answered inside the isolate too (a fixed JSON body; a
// signed login directive on /login), so what is measured is the worker's code, its
// object calls and workerd's Request/Response work, nothing on the network:
//
//   (a) no cookies   (b) the access cookie (fast path)   (c) the refresh cookie only (object)
//
// Reports the workerd CPU per request (user+sys from /proc, 10 ms ticks: 5 µs a request
// at the default N), median of ROUNDS rounds in alternating order, and each path's extra
// over (a). With a path argument it instead samples that path with V8's profiler and
// prints the functions by self time per request (wasm functions keep their Rust names;
// `(idle)` is time the isolate waited, `(program)` workerd's own code).
//
// Needs build/ (bash scripts/setup.sh build && bash scripts/build-worker.sh).
// ISOLATE_N (2000) requests a round, ISOLATE_ROUNDS (8) rounds.
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { ACCESS_COOKIE, ORIGIN_SECRET, REFRESH_COOKIE, SESSION_KEYS, freePort, root } from "../tools/harness.mjs";
import { devtools, median, summarize, workerdCpuMs } from "../tools/measure.mjs";

const N = Number(process.env.ISOLATE_N ?? 2000);
const ROUNDS = Number(process.env.ISOLATE_ROUNDS ?? 8);
const profiled = process.argv[2];
if (profiled && !["a", "b", "c"].includes(profiled)) throw new Error("usage: profile-isolate.mjs [a|b|c]");

// The driver: loops the worker's fetch handler over one path; the origin is `fetch`,
// answered here. Its classes are the build's, so the objects are the real ones.
const DRIVER = `
import Worker from "./glue.js";
export { SessionFamily, UserSessions } from "./index.js";
const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
const json64 = (value) => b64(new TextEncoder().encode(JSON.stringify(value)));
async function loginDirective(secret, nonce) {
  const kid = secret.slice(0, secret.indexOf(":"));
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret.slice(kid.length + 1)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const now = Math.floor(Date.now() / 1000);
  const input = json64({ alg: "HS256", typ: "edge-login+jwt", kid }) + "." + json64({ aud: "edge-session", sub: "bench-user", remember: false, nonce, iat: now, exp: now + 120 });
  return input + "." + b64(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)));
}
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    globalThis.fetch = async (forwarded) => {
      const headers = { "content-type": "application/json" };
      if (new URL(forwarded.url).pathname === "/login") headers["X-Edge-Login"] = await loginDirective(env.ORIGIN_SECRET, forwarded.headers.get("x-edge-nonce"));
      return new Response(JSON.stringify({ user: forwarded.headers.get("x-edge-user") }), { headers });
    };
    const worker = new Worker(ctx, env);
    const cookie = url.searchParams.get("cookie");
    const headers = { "user-agent": "profile-isolate", accept: "*/*", ...(cookie ? { cookie } : {}) };
    let last;
    for (let i = 0, n = Number(url.searchParams.get("n")); i < n; i++) {
      last = await worker.fetch(new Request("http://127.0.0.1:8787/" + url.searchParams.get("path"), { headers }));
      await last.text();
    }
    return new Response(JSON.stringify({ debug: last.headers.get("x-edge-debug"), cookies: last.headers.getSetCookie() }));
  },
};`;

if (!existsSync(join(root, "build", "index.js"))) {
  console.error("profile-isolate: no build/ yet; run: bash scripts/setup.sh build && bash scripts/build-worker.sh");
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "profile-isolate-"));
for (const file of ["index.js", "glue.js", "index_bg.wasm"]) cpSync(join(root, "build", file), join(dir, file));
writeFileSync(join(dir, "driver.js"), DRIVER);
const inspectorPort = profiled ? await freePort() : undefined;
const mf = new Miniflare({
  modulesRoot: dir,
  modules: [
    { type: "ESModule", path: join(dir, "driver.js") },
    { type: "ESModule", path: join(dir, "index.js") },
    { type: "ESModule", path: join(dir, "glue.js") },
    { type: "CompiledWasm", path: join(dir, "index_bg.wasm") },
  ],
  compatibilityDate: "2026-04-20",
  durableObjects: {
    SESSION_FAMILY: { className: "SessionFamily", useSQLite: true },
    USER_SESSIONS: { className: "UserSessions", useSQLite: true },
  },
  durableObjectsPersist: join(dir, "objects"),
  bindings: { SESSION_KEYS, ORIGIN_SECRET, EDGE_DEBUG: "1", ORIGIN_URL: "http://origin.invalid", ACCESS_TTL_SECS: "600", ROTATE_AFTER_SECS: "3600", GRACE_SECS: "30" },
  inspectorPort,
  // The worker's own log lines (one per login) go to stderr: stdout is the report.
  handleRuntimeStdio(stdout, stderr) {
    stdout.pipe(process.stderr);
    stderr.pipe(process.stderr);
  },
});


async function loop(path, cookie, n) {
  const query = new URLSearchParams({ path, n: String(n), ...(cookie ? { cookie } : {}) });
  const res = await mf.dispatchFetch(`http://driver/?${query}`);
  if (res.status !== 200) throw new Error(`driver answered ${res.status}: ${await res.text()}`);
  return res.json();
}


try {
  await mf.ready;
  const login = await loop("login", null, 1);
  const jar = Object.fromEntries(login.cookies.map((line) => line.split(";")[0].split(/=(.*)/s).slice(0, 2)));
  const cookies = { a: null, b: `${ACCESS_COOKIE}=${jar[ACCESS_COOKIE]}`, c: `${REFRESH_COOKIE}=${jar[REFRESH_COOKIE]}` };
  // Each path once, checked by its X-Edge-Debug (the first (c) confirms the credential).
  for (const [path, want] of [["a", "path=none"], ["b", "path=access"], ["c", "path=object"]]) {
    const { debug } = await loop("", cookies[path], 1);
    if (!debug.startsWith(want)) throw new Error(`(${path}): expected ${want}, got ${debug}`);
  }

  if (profiled) {
    await loop("", cookies[profiled], N); // warm
    const session = await devtools(inspectorPort);
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 50 });
    await session.send("Profiler.start");
    await loop("", cookies[profiled], N);
    const { result: { profile } } = await session.send("Profiler.stop");
    session.close();
    const { kinds, functions } = summarize(profile);
    const perRequest = (ms) => ((ms * 1000) / N).toFixed(1).padStart(7);
    console.log(`(${profiled}): ${profile.samples.length} samples over ${N} requests; µs per request by kind, then by function (self time):`);
    for (const [kind, ms] of Object.entries(kinds).sort((x, y) => y[1] - x[1])) console.log(`${perRequest(ms)}  ${kind}`);
    console.log("");
    for (const [name, ms] of Object.entries(functions).sort((x, y) => y[1] - x[1]).slice(0, 30)) {
      console.log(`${perRequest(ms)}  ${name.slice(0, 140)}`);
    }
  } else {
    const cpu = { a: [], b: [], c: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of round % 2 ? ["c", "b", "a"] : ["a", "b", "c"]) {
        const before = workerdCpuMs();
        await loop("", cookies[path], N);
        cpu[path].push(((workerdCpuMs() - before) * 1000) / N);
      }
    }
    const row = (path, label) => {
      const extra = cpu[path].map((us, i) => us - cpu.a[i]);
      return `| ${label} | ${median(cpu[path]).toFixed(0)} | ${path === "a" ? "" : median(extra).toFixed(0)} |`;
    };
    console.log([
      `workerd CPU per request, µs: median of ${ROUNDS} rounds of ${N} requests, alternating; origin answered in the isolate`, "",
      "| path | CPU | over (a), median of the rounds' differences |", "|---|---:|---:|",
      row("a", "(a) no cookies"), row("b", "(b) access cookie (fast path)"), row("c", "(c) refresh cookie only (object)"),
    ].join("\n"));
  }
} finally {
  await mf.dispose();
  rmSync(dir, { recursive: true, force: true });
}

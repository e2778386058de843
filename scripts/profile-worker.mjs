// Where the worker's time goes: a CPU profile of its isolate under load, through the
// DevTools protocol of `wrangler dev` (its --inspector-port), for BENCHMARKS.md.
//
//   EDGE_SESSION_PREBUILT=1 node scripts/profile-worker.mjs [a|b|c ...]
//
// For each path ((a) no cookies, (b) the access cookie, (c) the refresh cookie through
// the object), runs wrk for PROFILE_SECONDS (10) while V8 samples every 100 µs, then
// prints where the samples landed: by kind (wasm, the JavaScript glue, the runtime's own
// (program), the garbage collector, idle) and the top functions by self time. Build the
// worker without wasm-opt (`WASM_OPT_BIN= bash scripts/build-worker.sh --no-opt`) to
// see Rust names instead of `$func123`. PROFILE_SAVE=<dir> also writes <path>.cpuprofile.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { startOrigin, startEdge, Client, loginLogoutRoutes, ACCESS_COOKIE, REFRESH_COOKIE } from "../tools/harness.mjs";
import { devtools, summarize } from "../tools/measure.mjs";

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 10);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const paths = process.argv.slice(2).length ? process.argv.slice(2) : ["a", "b", "c"];

function wrk(url, cookie) {
  const args = ["-t2", "-c16", `-d${SECONDS}s`, url];
  if (cookie) args.splice(3, 0, "-H", `Cookie: ${cookie}`);
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}`))));
  });
}

const origin = await startOrigin();
origin.respond = loginLogoutRoutes;
const edge = await startEdge({ ORIGIN_URL: origin.url, ACCESS_TTL_SECS: "600", ROTATE_AFTER_SECS: "3600" }, { logLevel: "error" });
try {
  const client = new Client(edge.url);
  await client.fetch("/login?profiled");
  await client.fetch("/"); // confirms the credential: (c) then writes nothing
  const cookies = {
    a: null,
    b: `${ACCESS_COOKIE}=${client.access}; ${REFRESH_COOKIE}=${client.refresh}`,
    c: `${REFRESH_COOKIE}=${client.refresh}`,
  };
  const session = await devtools(edge.inspectorPort);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 100 });
  for (const path of paths) {
    await wrk(`${edge.url}/`, cookies[path]); // warm-up, unprofiled
    await session.send("Profiler.start");
    const out = await wrk(`${edge.url}/`, cookies[path]);
    const { result } = await session.send("Profiler.stop");
    const requests = Number(/(\d+) requests in/.exec(out)[1]);
    // For Chrome DevTools (Performance, "Load profile…") or speedscope.
    if (process.env.PROFILE_SAVE) writeFileSync(`${process.env.PROFILE_SAVE}/${path}.cpuprofile`, JSON.stringify(result.profile));
    const { kinds, functions } = summarize(result.profile);
    const perRequest = (ms) => `${(ms / requests * 1000).toFixed(1)} µs/req`;
    console.log(`\n## (${path}): ${requests} requests in ${SECONDS} s\n`);
    for (const [kind, ms] of Object.entries(kinds).sort((x, y) => y[1] - x[1])) console.log(`- ${kind}: ${perRequest(ms)}`);
    console.log("");
    for (const [name, ms] of Object.entries(functions).sort((x, y) => y[1] - x[1]).slice(0, TOP)) {
      console.log(`| ${name} | ${perRequest(ms)} |`);
    }
  }
  session.close();
} finally {
  await edge.stop();
  await origin.close();
}

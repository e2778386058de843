// What the fast path's subrequest costs locally, and where: `node scripts/bench-subrequest.mjs`.
//
// The edge forwards an identified request with four more headers than an anonymous one
// (`X-Edge-User`, `X-Edge-Session`, `X-Edge-Session-State`, `X-Edge-Assertion`) and with
// `cache: "no-store"` (SECURITY.md, caches), which gives it a cf blob (`cacheLevel:
// bypass`, `cacheTtl: -1`) and two headers (`Cache-Control`, `Pragma`). This times one
// small worker that fetches the bench's origin N times in a loop, in plain Miniflare
// (workerd, no wrangler, no inspector), with each of those added in turn, through
// Miniflare's outbound worker (`strip-cf-connecting-ip`, which `wrangler dev` puts in
// front of every subrequest a worker makes) and without it. Reports the workerd CPU per
// subrequest (user+sys from /proc, 10 ms ticks: 5 µs a subrequest at the default N),
// median of ROUNDS rounds, the modes in alternating order. SUBREQUEST_N (2000) fetches a
// round, SUBREQUEST_ROUNDS (10) rounds. Needs node_modules (bash scripts/setup.sh build).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { ORIGIN_SECRET, root } from "../tools/harness.mjs";
import { median, startBenchOrigin, workerdCpuMs } from "../tools/measure.mjs";

const N = Number(process.env.SUBREQUEST_N ?? 2000);
const ROUNDS = Number(process.env.SUBREQUEST_ROUNDS ?? 10);
// Values the size of the bench's: an HS256 assertion is about 370 bytes.
const ANONYMOUS = { "x-edge-nonce": "jvyrwsgibcXV8x5qEgBBsg" };
const ASSERTED = { ...ANONYMOUS, "x-edge-assertion": `eyJhbGciOiJIUzI1NiJ9.${"e".repeat(300)}.${"s".repeat(43)}` };
const IDENTIFIED = {
  ...ASSERTED, "x-edge-user": "bench-user", "x-edge-session": "I9EGUcPGsqLNBmV7kc2www", "x-edge-session-state": "fresh",
};
const MODES = {
  "(a)'s headers": { headers: ANONYMOUS },
  "+ the assertion": { headers: ASSERTED },
  "+ the plain identity headers": { headers: IDENTIFIED },
  "+ `cache: \"no-store\"` (as (b) is sent)": { headers: IDENTIFIED, cache: "no-store" },
  "(a)'s headers + `cache: \"no-store\"`": { headers: ANONYMOUS, cache: "no-store" },
  "(a)'s headers + `cf: { cacheTtl: -1 }`": { headers: ANONYMOUS, cf: { cacheTtl: -1 } },
};

const script = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const init = { ...JSON.parse(url.searchParams.get("init")), redirect: "manual" };
    for (let i = 0, n = Number(url.searchParams.get("n")); i < n; i++) await (await fetch(env.ORIGIN_URL, init)).text();
    return new Response("ok");
  },
};`;

const origin = await startBenchOrigin(ORIGIN_SECRET);
const ORIGIN_URL = `${origin.url}/`;

const lines = [
  `workerd CPU per subrequest, µs (median of ${ROUNDS} rounds of ${N} fetches; Miniflare ${JSON.parse(readFileSync(join(root, "node_modules/miniflare/package.json"), "utf8")).version})`, "",
  "| the subrequest carries | through Miniflare's outbound worker (as under `wrangler dev`) | straight out (`stripCfConnectingIp: false`) |",
  "|---|---:|---:|",
];
const columns = [];
for (const strip of [true, false]) {
  const mf = new Miniflare({
    modules: true, script, compatibilityDate: "2026-04-20", bindings: { ORIGIN_URL }, stripCfConnectingIp: strip,
  });
  await mf.ready;
  const cpu = Object.fromEntries(Object.keys(MODES).map((m) => [m, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? Object.keys(MODES).reverse() : Object.keys(MODES);
    for (const mode of order) {
      const before = workerdCpuMs();
      const res = await mf.dispatchFetch(`http://bench/?n=${N}&init=${encodeURIComponent(JSON.stringify(MODES[mode]))}`);
      if ((await res.text()) !== "ok") throw new Error(`${mode}: ${res.status}`);
      cpu[mode].push(((workerdCpuMs() - before) * 1000) / N);
    }
  }
  await mf.dispose();
  columns.push(cpu);
}
for (const mode of Object.keys(MODES)) lines.push(`| ${mode} | ${columns.map((cpu) => median(cpu[mode]).toFixed(0)).join(" | ")} |`);
console.log(lines.join("\n"));
// No process.exit: Miniflare removes its temporary directory as the process ends.
origin.stop();

// What `cache: "no-store"` costs a subrequest locally, and where: `node scripts/bench-subrequest.mjs`.
//
// The edge forwards identified requests with `cache: "no-store"` (SECURITY.md, caches), so
// the fast path's subrequest carries a cf blob (`cacheLevel: bypass`, `cacheTtl: -1`) that
// the anonymous path's does not. This times one small worker that fetches the bench's
// origin N times in a loop, in plain Miniflare (workerd, no wrangler, no inspector), with
// and without that option, and with Miniflare's outbound worker (`strip-cf-connecting-ip`,
// which `wrangler dev` puts in front of every subrequest a worker makes) and without it.
// Reports the workerd CPU per subrequest (user+sys from /proc, 10 ms ticks: 5 µs a
// subrequest at the default N), median of ROUNDS rounds. SUBREQUEST_N (2000) fetches a
// round, SUBREQUEST_ROUNDS (8) rounds. Needs node_modules (bash scripts/setup.sh build).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { ORIGIN_SECRET, root } from "../tools/harness.mjs";
import { median, startBenchOrigin, workerdCpuMs } from "../tools/measure.mjs";

const N = Number(process.env.SUBREQUEST_N ?? 2000);
const ROUNDS = Number(process.env.SUBREQUEST_ROUNDS ?? 8);
const MODES = { none: {}, "cache: no-store": { cache: "no-store" }, "cf: { cacheTtl: -1 }": { cf: { cacheTtl: -1 } } };

const script = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const init = { ...JSON.parse(url.searchParams.get("init")), headers: { "x-a": "1" }, redirect: "manual" };
    for (let i = 0, n = Number(url.searchParams.get("n")); i < n; i++) await (await fetch(env.ORIGIN_URL, init)).text();
    return new Response("ok");
  },
};`;



const origin = await startBenchOrigin(ORIGIN_SECRET);
const ORIGIN_URL = `${origin.url}/`;

const lines = [
  `workerd CPU per subrequest, µs (median of ${ROUNDS} rounds of ${N} fetches; Miniflare ${JSON.parse(readFileSync(join(root, "node_modules/miniflare/package.json"), "utf8")).version})`, "",
  `| init | ${Object.keys(MODES).join(" | ")} |`, `|---|${Object.keys(MODES).map(() => "---:").join("|")}|`,
];
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
  const label = strip ? "through Miniflare's outbound worker (as under `wrangler dev`)" : "straight out (`stripCfConnectingIp: false`)";
  lines.push(`| ${label} | ${Object.keys(MODES).map((m) => median(cpu[m]).toFixed(0)).join(" | ")} |`);
}
console.log(lines.join("\n"));
// No process.exit: Miniflare removes its temporary directory as the process ends.
origin.stop();

// A family's object far from its user, run by `npm run bench:far`.
//
// A Durable Object stays where it was created (a family's: where its login happened), so
// a user who moved pays a round trip to it on every object call. Locally everything is
// in one process; the worker's debug knob `x-edge-debug-object-latency` (EDGE_DEBUG=1
// only: src/shell/debug.rs) waits out half a given round trip before each object call
// and half after it. This measures, one `wrangler dev` of the built worker and the
// bench's origin, for each added round trip:
//
//   fast path   a request the access cookie answers (the object is not asked)
//   refresh     a request with the refresh cookie only (the object is asked)
//   page        PAGE requests in parallel with the refresh cookie only: the first page
//               after the access cookie lapsed, until its last answer
//
// Every answer must reach the origin as the logged-in user. Prints a markdown table.
// FAR_LATENCIES (0,50,150,250) round trips in ms, FAR_SAMPLE (20) sequential requests
// and FAR_PAGES (5) pages for each. Needs build/ (npm run bench:far makes it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  ACCESS_COOKIE as ACCESS, ORIGIN_SECRET, REFRESH_COOKIE as REFRESH, parseSetCookie, sleep, startEdge,
} from "../tools/harness.mjs";
import { median, startBenchOrigin } from "../tools/measure.mjs";

const LATENCIES = (process.env.FAR_LATENCIES ?? "0,50,150,250").split(",").map(Number);
const SAMPLE = Number(process.env.FAR_SAMPLE ?? 20); // sequential requests per row
const PAGES = Number(process.env.FAR_PAGES ?? 5);
const PAGE = 8; // the page user's largest page (docs/cost.md)
const USER = "bench-user";
const LATENCY_HEADER = "x-edge-debug-object-latency";

// wrangler writes every DevTools event to a log file (bodies included): keep it here.
const logs = mkdtempSync(join(tmpdir(), "bench-far-"));
process.env.WRANGLER_LOG_PATH ??= logs;

/** One request; fails unless the origin answered as the logged-in user. */
async function timed(url, cookie, latency) {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { cookie, [LATENCY_HEADER]: String(latency) } });
  const body = await res.json().catch(() => null);
  const ms = performance.now() - t0;
  if (res.status !== 200 || body?.user !== USER) throw new Error(`not authenticated: ${res.status} ${JSON.stringify(body)}`);
  return ms;
}

async function main() {
  const origin = await startBenchOrigin(ORIGIN_SECRET);
  let edge;
  try {
    // The default windows, but no rotation during the run (each refresh is then a read).
    edge = await startEdge({ ORIGIN_URL: origin.url, ROTATE_AFTER_SECS: "3600" }, { logLevel: "error" });
    const login = await fetch(`${edge.url}/login`);
    const jar = Object.fromEntries(login.headers.getSetCookie().map(parseSetCookie).map((c) => [c.name, c.value]));
    if (!jar[ACCESS] || !jar[REFRESH]) throw new Error(`login failed: ${login.status}`);
    const both = `${ACCESS}=${jar[ACCESS]}; ${REFRESH}=${jar[REFRESH]}`;
    const refreshOnly = `${REFRESH}=${jar[REFRESH]}`;
    await timed(`${edge.url}/`, refreshOnly, 0); // confirms the credential (one write)

    const rows = [];
    for (const latency of LATENCIES) {
      const row = { latency, fast: [], refresh: [], page: [] };
      for (let i = 0; i < SAMPLE; i++) {
        row.fast.push(await timed(`${edge.url}/`, both, latency));
        row.refresh.push(await timed(`${edge.url}/`, refreshOnly, latency));
      }
      for (let i = 0; i < PAGES; i++) {
        const t0 = performance.now();
        await Promise.all(Array.from({ length: PAGE }, () => timed(`${edge.url}/`, refreshOnly, latency)));
        row.page.push(performance.now() - t0);
        await sleep(100);
      }
      rows.push({ latency, fast: median(row.fast), refresh: median(row.refresh), page: median(row.page) });
    }

    const base = rows.find((r) => r.latency === 0) ?? rows[0];
    const fmt = (x) => x.toFixed(1);
    const lines = [
      `## A far object — ${new Date().toISOString()}`, "",
      `One \`wrangler dev\` of build/ (default windows, ROTATE_AFTER_SECS=3600), the bench's origin; the worker adds the round trip around each object call (\`${LATENCY_HEADER}\`). Medians of ${SAMPLE} sequential requests, and of ${PAGES} pages of ${PAGE} parallel requests.`, "",
      "| added round trip ms | fast path ms | refresh (object) ms | refresh over the fast path ms | page of 8, first after the access cookie lapsed, ms | page over no added trip ms |",
      "|---:|---:|---:|---:|---:|---:|",
      ...rows.map((r) => `| ${r.latency} | ${fmt(r.fast)} | ${fmt(r.refresh)} | ${fmt(r.refresh - r.fast)} | ${fmt(r.page)} | ${fmt(r.page - base.page)} |`),
      "", "Every request reached the origin as the logged-in user.",
    ];
    console.log(lines.join("\n"));
  } finally {
    await edge?.stop();
    origin.stop();
    rmSync(logs, { recursive: true, force: true });
  }
}

await main();
process.exit(0);

// `npm run soak`: the chaos soak in full (tools/soak.mjs), or the cost measurement.
//
//   npm run soak                                   # 100,000 requests across 200 families
//   SOAK_REQUESTS=5000 SOAK_FAMILIES=20 npm run soak
//   SOAK_COSTS=1 npm run soak                      # object calls and writes (docs/cost.md)
//   SOAK_COSTS=1 SOAK_PACE=page npm run soak       # the same for a page view every 5–15 s
import { BUSY, CHAOS, soak, summary } from "../tools/soak.mjs";

const costs = process.env.SOAK_COSTS === "1";
// For costs, the production defaults scaled down ten times (rotate 900 s, grace 30 s,
// access 60 s, recovery 1800 s, idle 1800 s), so one minute of soak is ten minutes of use.
// The idle timeout scales `last_seen`'s step (a tenth of it: 18 s, 180 s of use) and the
// index's (half of it: 90 s, 15 minutes of use) too.
const SCALED = { rotate: 90, grace: 3, access: 6, recovery: 180, idle: 180 };
// "page": one tab, one burst (a page and its requests) every 5–15 s of use, 0.5–1.5 s here.
const PAGE = { tabs: 1, min: 500, max: 1_500 };
const result = await soak({
  requests: Number(process.env.SOAK_REQUESTS ?? 100_000),
  families: Number(process.env.SOAK_FAMILIES ?? 200),
  seed: Number(process.env.SOAK_SEED ?? 1),
  windows: costs ? SCALED : CHAOS,
  pace: process.env.SOAK_PACE === "page" ? PAGE : BUSY,
  costs,
});
for (const example of result.lostExamples) console.error("lost:", JSON.stringify(example));
for (const example of result.errorExamples) console.error("transport error:", example);
console.log(summary(result));
if (costs) {
  // Per browser (one family) per hour of use: the soak's time × 10, since windows are ÷ 10.
  const hours = (result.seconds * 10) / 3600;
  const per = (n) => (n / result.families / hours).toFixed(1);
  console.log(`costs per family-hour of use: requests ${per(result.requests)}, family-object calls ${per(result.objectCalls)}, ` +
    `family writes ${per(result.familyWrites)}, user-object touches (one write each) ${per(result.userTouches)}`);
}
process.exit(result.lost === 0 && result.tooClose === 0 && result.transportErrors === 0 ? 0 : 1);

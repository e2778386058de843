// Key rotation without logouts (docs/upgrades.md): both secrets are key rings whose first
// key signs and all verify. Clients keep making requests while the worker is restarted
// (as a redeploy would, keeping its Durable Objects) through the documented procedure:
// add a key, promote it, then retire the old one once every live credential carries the
// new one. Nobody is logged out, and the origin verifies assertions under either key.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startOrigin, startEdge, Client, directive, nonceOf, sleep } from "../../tools/harness.mjs";
import { jwtVerify } from "jose";

const secret = () => randomBytes(32).toString("base64url");
const [k1, k2, o1, o2] = [secret(), secret(), secret(), secret()];
const WINDOWS = { ACCESS_TTL_SECS: "1", ROTATE_AFTER_SECS: "2", GRACE_SECS: "1" };
let origin, edge;
after(async () => { await edge?.stop(); await origin?.close(); });

/** The origin signs directives with `signWith` and verifies assertions with any key it knows. */
let signWith = { kid: "o1", key: o1 };
const originKeys = { o1, o2 };
async function verify(token) {
  for (const [kid, key] of Object.entries(originKeys)) {
    try {
      await jwtVerify(token, new TextEncoder().encode(key), { audience: "origin", issuer: "edge-session" });
      return kid;
    } catch {}
  }
  return null;
}

test("rotating SESSION_KEYS and ORIGIN_SECRET under load logs nobody out", async () => {
  origin = await startOrigin();
  const verifiedBy = {};
  origin.respond = async (req) => {
    const token = req.headers["x-edge-assertion"];
    if (token) { const kid = await verify(token); verifiedBy[kid] = (verifiedBy[kid] ?? 0) + 1; }
    if (!req.url.startsWith("/login")) return {};
    const login = await directive("edge-login+jwt", { sub: req.url.slice(7), remember: true, nonce: nonceOf(req) },
      { key: new TextEncoder().encode(signWith.key), kid: signWith.kid });
    return { headers: { "X-Edge-Login": login } };
  };
  const start = (keys, origins) => startEdge({ ORIGIN_URL: origin.url, SESSION_KEYS: keys, ORIGIN_SECRET: origins, ...WINDOWS },
    edge ? { restartOf: edge } : {});
  edge = await start(`k1:${k1}`, `o1:${o1}`);

  const clients = [];
  for (let i = 0; i < 8; i++) {
    const c = new Client(edge.url);
    await c.fetch(`/login?u${i}`);
    clients.push(c);
  }
  const outcomes = { identified: 0, anonymous: 0, unreachable: 0 };
  const odd = [];
  let restarting = false; // wrangler may answer for itself while restarting
  let running = true;
  const load = Promise.all(clients.map(async (c) => {
    while (running) {
      try {
        const during = restarting;
        const res = await c.fetch("/");
        if (res.status === 200 && res.json().user) outcomes.identified++;
        // wrangler answers for itself while a worker restarts; that is not a logout.
        else if (res.status !== 200 && (during || restarting)) outcomes.unreachable++;
        else { outcomes.anonymous++; odd.push(`${res.status} ${res.text.slice(0, 120)} ${res.headers.get("x-edge-debug")}`); }
      } catch { outcomes.unreachable++; } // the worker is restarting
      await sleep(150);
    }
  }));
  const phase = async (keys, origins, ms) => {
    restarting = true;
    await edge.stop({ keepState: true });
    edge = await start(keys, origins);
    await sleep(300); // let requests sent to the old instance drain
    restarting = false;
    await sleep(ms);
  };
  await sleep(2_500);
  await phase(`k1:${k1},k2:${k2}`, `o1:${o1},o2:${o2}`, 2_500); // 1. add the new keys (old ones still sign)
  await phase(`k2:${k2},k1:${k1}`, `o2:${o2},o1:${o1}`, 5_000); // 2. promote: new keys sign, old still verify
  signWith = { kid: "o2", key: o2 };                               //    the origin switches its signing key too
  const late = new Client(edge.url);
  await late.fetch("/login?late");
  assert.ok(late.refresh?.startsWith("r1.k2."), "new logins are signed with the promoted key");
  for (const c of clients) assert.ok(c.refresh.startsWith("r1.k2."), "every live refresh cookie was re-issued under k2");
  await phase(`k2:${k2}`, `o2:${o2}`, 2_500);                     // 3. retire the old keys
  running = false;
  await load;
  assert.equal(outcomes.anonymous, 0, `nobody logged out: ${JSON.stringify(outcomes)} ${odd.join(" | ")}`);
  assert.ok(outcomes.identified > 50, JSON.stringify(outcomes));
  assert.ok(verifiedBy.o1 > 0 && verifiedBy.o2 > 0, `assertions under both origin keys: ${JSON.stringify(verifiedBy)}`);
  assert.equal(verifiedBy.null, undefined, "every assertion verified");
  console.log(`keys: ${JSON.stringify(outcomes)}, assertions verified by ${JSON.stringify(verifiedBy)}`);
});

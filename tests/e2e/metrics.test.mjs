// Observability: every request's outcome is counted; an isolate logs one
// `request_outcomes` line per window and raises `bad_cookie_rate` when forged cookies
// arrive in bulk; with the optional Analytics Engine binding each request also writes
// a data point. (Local workerd's dataset is a no-op: what this proves is that the write
// is made and never breaks a request; X-Edge-Debug reports `analytics=1`.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ACCESS_COOKIE, REFRESH_COOKIE, startOrigin, startEdge, Client, loginDirective, debugOf } from "../../tools/harness.mjs";

let origin, edge;
before(async () => {
  origin = await startOrigin();
  origin.respond = async (req) =>
    req.url === "/login" ? { headers: { "X-Edge-Login": await loginDirective(req, "counted") } } : {};
  edge = await startEdge({ ORIGIN_URL: origin.url, METRICS_WINDOW_SECS: "2", ACCESS_TTL_SECS: "60" }, { analytics: true });
});
after(async () => { await edge?.stop(); await origin?.close(); });

const get = async (cookie) => {
  const res = await edge.fetch("/", { headers: cookie ? { cookie } : {} });
  await res.arrayBuffer();
  return debugOf(res);
};

test("each request is labelled with its outcome and written to Analytics Engine", async () => {
  assert.deepEqual([(await get()).outcome, (await get()).analytics], ["anonymous", "1"]);
  const client = new Client(edge.url);
  await client.fetch("/login");
  assert.equal(debugOf(await client.fetch("/")).outcome, "access");
  const refreshOnly = `${REFRESH_COOKIE}=${client.refresh}`;
  assert.equal((await get(refreshOnly)).outcome, "fresh");
  const forgedRefresh = await get(`${REFRESH_COOKIE}=r1.k1.forged`);
  assert.deepEqual([forgedRefresh.outcome, forgedRefresh.forged], ["bad_cookie", "1"]);
  const forgedAccess = await get(`${ACCESS_COOKIE}=a1.k1.e30.AAAA`);
  assert.deepEqual([forgedAccess.outcome, forgedAccess.forged], ["bad_cookie", "1"]);
  // A tampered access cookie beside a good refresh cookie: identified, still counted.
  const mixed = await get(`${ACCESS_COOKIE}=a1.k1.e30.AAAA; ${refreshOnly}`);
  assert.deepEqual([mixed.outcome, mixed.forged], ["fresh", "1"]);
  // A cookie signed with a key the edge does not hold is unverifiable, not forged.
  const retired = await get(`${REFRESH_COOKIE}=r1.k9.AAAAAAAAAAAAAAAAAAAAAA.1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
  assert.deepEqual([retired.outcome, retired.forged], ["bad_cookie", "0"]);
});

test("a forged refresh cookie beside a valid access cookie is counted toward the alert", async () => {
  const client = new Client(edge.url);
  await client.fetch("/login");
  edge.clock.advance(2_100); // a fresh window
  await get();
  // The fast path identifies each request; the forged refresh cookie must still count.
  for (let i = 0; i < 5; i++) {
    assert.equal((await get(`${ACCESS_COOKIE}=${client.access}; ${REFRESH_COOKIE}=r1.k1.forged${i}.AAAA`)).outcome, "access");
  }
  edge.clock.advance(2_100);
  await get();
  const alert = await edge.waitEvent((e) => e.edge_session === "bad_cookie_rate" && e.bad_cookies === "5");
  assert.ok(alert, `no bad_cookie_rate for 5 forged refresh cookies in:\n${JSON.stringify(edge.events(), null, 1)}`);
});

test("an isolate logs its counts per window, and forged cookies in bulk raise an alert", async () => {
  edge.clock.advance(2_100); // close the window the previous test filled
  await get();
  // A 2 s window: the alert threshold is 100/min scaled, i.e. 4 bad cookies.
  for (let i = 0; i < 6; i++) await get(`${REFRESH_COOKIE}=r1.k1.forged${i}`);
  edge.clock.advance(2_100);
  await get(); // the first request after the window closes it
  const report = await edge.waitEvent((e) => e.edge_session === "request_outcomes" && e.bad_cookie === "6");
  assert.ok(report, `no request_outcomes line with 6 bad cookies in:\n${JSON.stringify(edge.events(), null, 1)}`);
  assert.equal(report.anonymous, "1");
  assert.equal(report.window_secs, "2");
  const alert = await edge.waitEvent((e) => e.edge_session === "bad_cookie_rate" && e.bad_cookies === "6");
  assert.ok(alert, "bad_cookie_rate raised");
  // A quiet window raises nothing.
  edge.clock.advance(2_100);
  const before = edge.events().filter((e) => e.edge_session === "bad_cookie_rate").length;
  await get();
  await edge.waitEvent((e) => e.edge_session === "request_outcomes" && e.anonymous === "1" && e.bad_cookie === undefined);
  assert.equal(edge.events().filter((e) => e.edge_session === "bad_cookie_rate").length, before);
});

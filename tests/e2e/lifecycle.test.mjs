// A family's life ends in its Durable Object's alarm: storage is deleted once the family
// can no longer be used (absolute lifetime, idle timeout, logout or revocation). The
// debug verdict tells "deleted" (Refused(UnknownFamily)) from "expired but still
// stored" (Refused(Expired)), so these tests fail if the alarm does not run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { REFRESH_COOKIE, startOrigin, startEdge, Client, loginLogoutRoutes, debugOf, sleep, until } from "../../tools/harness.mjs";

let origin, edge;
before(async () => {
  origin = await startOrigin();
  origin.respond = loginLogoutRoutes;
  edge = await startEdge({
    ORIGIN_URL: origin.url, ACCESS_TTL_SECS: "0", ROTATE_AFTER_SECS: "60", GRACE_SECS: "1",
    IDLE_TIMEOUT_SECS: "2", SESSION_LIFETIME_SECS: "4",
  });
});
after(async () => { await edge?.stop(); await origin?.close(); });

async function login(sub) {
  const client = new Client(edge.url);
  await client.fetch(`/login?${sub}`);
  return client;
}

/** The alarm has deleted the family (not merely refused it as expired). */
const gone = (verdict) => verdict === "Refused(UnknownFamily)";

/** The refresh cookie alone, after the jar was cleared by nothing: what a stale tab sends. */
async function verdictFor(refresh) {
  const res = await fetch(edge.url + "/", { headers: { cookie: `${REFRESH_COOKIE}=${refresh}` } });
  await res.arrayBuffer();
  return debugOf(res).verdict;
}

test("the idle timeout ends a family and its alarm deletes it", async () => {
  const client = await login("idle");
  assert.equal(debugOf(await client.fetch("/")).verdict, "Granted(fresh)");
  await sleep(1_000);
  assert.equal(debugOf(await client.fetch("/")).verdict, "Granted(fresh)", "activity keeps it alive");
  // Idle past the 2 s timeout (a request before then would be activity), then the alarm.
  await sleep(2_100);
  assert.equal(await until(() => verdictFor(client.refresh), gone), "Refused(UnknownFamily)", "idle past 2 s: deleted by the alarm");
});

test("the absolute lifetime ends a family even while it is in use", async () => {
  const client = await login("lifetime");
  for (let i = 0; i < 3; i++) {
    assert.equal(debugOf(await client.fetch("/")).verdict, "Granted(fresh)");
    await sleep(1_000);
  }
  assert.equal(await until(() => verdictFor(client.refresh), gone), "Refused(UnknownFamily)", "past 4 s: deleted by the alarm");
});

test("logout revokes the family and its storage is deleted at once", async () => {
  const client = await login("bye");
  const refresh = client.refresh;
  await client.fetch("/logout");
  assert.equal(await until(() => verdictFor(refresh), gone, 2_000), "Refused(UnknownFamily)");
});

// Failure injection (EDGE_DEBUG=1 lets a request ask the family's object to fail): an
// object error or timeout is a 503 with Retry-After and is never forwarded anonymous;
// a failed write leaves nothing half-applied; a valid access cookie needs no object.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import {
  generationOf, ACCESS_COOKIE, REFRESH_COOKIE, startOrigin, startEdge, Client, loginDirective, debugOf,
} from "../../tools/harness.mjs";

let origin, edge;
before(async () => {
  origin = await startOrigin();
  edge = await startEdge({ ORIGIN_URL: origin.url, ACCESS_TTL_SECS: "60", ROTATE_AFTER_SECS: "3", GRACE_SECS: "2" });
});
after(async () => { await edge?.stop(); await origin?.close(); });
beforeEach(() => origin.reset());

async function login(sub) {
  const client = new Client(edge.url);
  origin.respond = async (req) => ({ headers: { "X-Edge-Login": await loginDirective(req, sub) } });
  await client.fetch("/login");
  origin.reset();
  return client;
}

/** A client that keeps only the refresh cookie, so every request asks the object. */
class RefreshOnly extends Client {
  absorb(setCookies) {
    super.absorb(setCookies);
    this.cookies.delete(ACCESS_COOKIE);
  }
}
function refreshOnly(client, url = edge.url) {
  const c = new RefreshOnly(url);
  c.cookies.set(REFRESH_COOKIE, client.refresh);
  return c;
}

for (const fault of ["object_error", "object_timeout"]) {
  test(`${fault}: 503 with Retry-After, nothing forwarded as anonymous`, async () => {
    const client = refreshOnly(await login(`u-${fault}`));
    const started = Date.now();
    const res = await client.fetch("/page", { headers: { "x-edge-fault": fault } });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal(res.setCookies.length, 0);
    assert.equal(origin.requests.length, 0, "the request never reached the origin");
    if (fault === "object_timeout") assert.ok(Date.now() - started >= 4_500, "waited for the deadline");
    const retry = await client.fetch("/page");
    assert.equal(retry.json().user, `u-${fault}`, "the retry is served");
  });
}

test("persist_error during a rotation: 503, and the rotation did not half-happen", async () => {
  const client = refreshOnly(await login("u-persist"));
  await client.fetch("/"); // confirm generation 1
  edge.clock.advance(3_300);
  const failed = await client.fetch("/", { headers: { "x-edge-fault": "persist_error" } });
  assert.equal(failed.status, 503);
  assert.equal(origin.requests.filter((r) => r.url === "/").length, 1, "only the confirming request was forwarded");
  // Memory was dropped and the family reloaded from storage: like any object woken from
  // storage it holds its generation for GRACE (2 s), then rotates.
  const again = await client.fetch("/");
  assert.deepEqual(again.json(), { user: "u-persist", state: "fresh" }, "the same credential still works, not grace");
  edge.clock.advance(2_200);
  const rotated = await client.fetch("/");
  assert.deepEqual(rotated.json(), { user: "u-persist", state: "rotated" });
  const refresh = rotated.setCookies.find((c) => c.name === REFRESH_COOKIE).value;
  assert.equal(generationOf(refresh), 2, "generation 2: the failed rotation left no trace");
});

test("with a valid access cookie a failing object is never asked", async () => {
  const client = await login("u-access");
  const res = await client.fetch("/", { headers: { "x-edge-fault": "object_error" } });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json(), { user: "u-access", state: "fresh" });
});

test("with EDGE_DEBUG=1 a far object's round trip is added to object calls only (npm run bench:far)", async () => {
  const client = await login("u-far");
  const viaObject = refreshOnly(client);
  const far = { headers: { "x-edge-debug-object-latency": "1500" } };
  let started = Date.now();
  const slow = await viaObject.fetch("/", far);
  const waited = Date.now() - started;
  assert.equal(slow.status, 200);
  assert.equal(slow.json().user, "u-far");
  assert.equal(debugOf(slow).path, "object");
  assert.ok(waited >= 1_500, `the object call waited out the round trip (${waited} ms)`);
  started = Date.now();
  const fast = await client.fetch("/", far);
  assert.equal(debugOf(fast).path, "access");
  assert.ok(Date.now() - started < 1_000, `the access cookie's answer did not (${Date.now() - started} ms)`);
  // Past the object deadline (5 s): the same 503 as a slow object, never anonymous.
  origin.reset();
  started = Date.now();
  const tooFar = await viaObject.fetch("/", { headers: { "x-edge-debug-object-latency": "10000" } });
  assert.equal(tooFar.status, 503);
  assert.ok(Date.now() - started >= 4_500, `waited for the deadline (${Date.now() - started} ms)`);
  assert.equal(origin.requests.length, 0, "nothing forwarded");
});

test("with EDGE_DEBUG off (production) the fault header is ignored and no debug header is sent", async () => {
  const quiet = await startEdge({ ORIGIN_URL: origin.url, EDGE_DEBUG: "0", ACCESS_TTL_SECS: "60" });
  try {
    const client = new Client(quiet.url);
    origin.respond = async (req) => ({ headers: { "X-Edge-Login": await loginDirective(req, "u-quiet") } });
    await client.fetch("/login");
    origin.reset();
    // Refresh cookie only, so every request below asks the object.
    const viaObject = refreshOnly(client, quiet.url);
    for (const fault of ["object_error", "persist_error"]) {
      const res = await viaObject.fetch("/", { headers: { "x-edge-fault": fault } });
      assert.equal(res.status, 200, `${fault} was not injected`);
      assert.equal(res.json().user, "u-quiet");
      assert.equal(res.headers.get("x-edge-debug"), null, "no debug header in production");
    }
    assert.equal(origin.last().headers["x-edge-fault"], undefined, "and the header is stripped like any x-edge-*");
    // The bench's far-object knob: 10 s would pass the 5 s object deadline (a 503).
    const started = Date.now();
    const far = await viaObject.fetch("/", { headers: { "x-edge-debug-object-latency": "10000" } });
    assert.equal(far.status, 200, "no round trip was added");
    assert.ok(Date.now() - started < 4_000, `answered at once (${Date.now() - started} ms)`);
    assert.equal(origin.last().headers["x-edge-debug-object-latency"], undefined, "and the header is stripped");
  } finally {
    await quiet.stop();
  }
});

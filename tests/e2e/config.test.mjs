// An invalid configuration fails closed: every request gets a 500 naming the variable,
// nothing reaches the origin, no secret's value is printed, and the health check says
// so instead of answering `ok`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startOrigin, startEdge, SESSION_KEYS } from "../../tools/harness.mjs";

let origin, edge;
before(async () => {
  origin = await startOrigin();
  // Among the problems: the origin's secret is also a session key (the origin could mint
  // cookies for anyone).
  edge = await startEdge({ ORIGIN_URL: origin.url, GRACE_SECS: "400", ON_REUSE: "shrug", ORIGIN_SECRET: SESSION_KEYS });
});
after(async () => { await edge?.stop(); await origin?.close(); });

test("invalid config: 500 naming each variable, nothing forwarded, no secret printed", async () => {
  const res = await fetch(edge.url + "/anything");
  const body = await res.text();
  assert.equal(res.status, 500);
  assert.match(body, /GRACE_SECS/);
  assert.match(body, /ON_REUSE/);
  assert.match(body, /SESSION_KEYS: must not share a secret with ORIGIN_SECRET/);
  assert.ok(!body.includes(SESSION_KEYS.slice(3)), "secret not in the body");
  assert.equal(origin.requests.length, 0, "fails closed: nothing reaches the origin");
  const logged = await edge.waitEvent((e) => e.edge_session === "config_error");
  assert.match(logged.detail, /GRACE_SECS/);
  assert.ok(!edge.logs.join("").includes(SESSION_KEYS.slice(3)), "secret not in the log");
});

test("the health check fails with the same reasons, never `ok`", async () => {
  const res = await fetch(edge.url + "/__edge/health");
  const body = await res.text();
  assert.equal(res.status, 500);
  for (const name of ["GRACE_SECS", "ON_REUSE", "SESSION_KEYS"]) assert.match(body, new RegExp(name));
  assert.ok(!body.includes(SESSION_KEYS.slice(3)), "secret not in the body");
});

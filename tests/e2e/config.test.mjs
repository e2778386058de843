// An invalid configuration fails closed: every request gets a 500 naming the variable,
// nothing reaches the origin, no secret's value is printed, and the health check says
// so instead of answering `ok`. Unsafe settings are among the problems: a day-long access
// cookie (it would outlive every revocation by a day), a kill switch in the future (it
// would end every login until then), a sign-out origin that is not an origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startOrigin, startEdge, SESSION_KEYS } from "../../tools/harness.mjs";

let origin, edge;
before(async () => {
  origin = await startOrigin();
  // Among the problems: the origin's secret is also a session key (the origin could mint
  // cookies for anyone).
  const tomorrow = String(Math.floor(Date.now() / 1000) + 86_400);
  edge = await startEdge({
    ORIGIN_URL: origin.url, GRACE_SECS: "400", ON_REUSE: "shrug", ORIGIN_SECRET: SESSION_KEYS,
    ACCESS_TTL_SECS: "86400", SESSIONS_NOT_BEFORE: tomorrow, LOGOUT_ORIGINS: "https://www.example.com/logout",
  });
});
after(async () => { await edge?.stop(); await origin?.close(); });

test("invalid config: 500 naming each variable, nothing forwarded, no secret printed", async () => {
  const res = await fetch(edge.url + "/anything");
  const body = await res.text();
  assert.equal(res.status, 500);
  assert.match(body, /GRACE_SECS/);
  assert.match(body, /ON_REUSE/);
  assert.match(body, /SESSION_KEYS: must not share a secret with ORIGIN_SECRET/);
  assert.match(body, /ACCESS_TTL_SECS: must be whole seconds from 0 to 600/);
  assert.match(body, /SESSIONS_NOT_BEFORE: is in the future/);
  assert.match(body, /LOGOUT_ORIGINS/);
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
  for (const name of ["GRACE_SECS", "ON_REUSE", "SESSION_KEYS", "ACCESS_TTL_SECS", "SESSIONS_NOT_BEFORE", "LOGOUT_ORIGINS"]) {
    assert.match(body, new RegExp(name));
  }
  assert.ok(!body.includes(SESSION_KEYS.slice(3)), "secret not in the body");
});

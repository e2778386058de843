// Origin selection: with an `ORIGIN` service binding the worker forwards
// there, even when ORIGIN_URL is set, with the same stripping and identity headers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge, Client } from "../../tools/harness.mjs";

let edge;
before(async () => {
  // ORIGIN_URL points nowhere: the binding must win.
  edge = await startEdge({ ORIGIN_URL: "http://127.0.0.1:9" }, { serviceOrigin: true });
});
after(async () => { await edge?.stop(); });

test("the ORIGIN service binding is the origin: login, identity, stripping", async () => {
  const client = new Client(edge.url);
  const anon = await client.fetch("/a?b=c", { headers: { "X-Edge-User": "mallory", x_edge_user: "mallory", "X-Edge-Nonce": "mine" } });
  assert.equal(anon.status, 200);
  assert.deepEqual(anon.json(), { via: "service-binding", path: "/a?b=c", user: null, state: null, spoofed: [], nonce: true, cookie: null });
  await client.fetch("/login");
  assert.ok(client.refresh && client.access, "login directive from the bound worker accepted");
  client.cookies.set("theme", "dark");
  const me = await client.fetch("/me", { headers: { "X-EDGE-ASSERTION": "forged" } });
  assert.deepEqual(me.json(), { via: "service-binding", path: "/me", user: "bound-user", state: "fresh", spoofed: [], nonce: true, cookie: "theme=dark" });
});

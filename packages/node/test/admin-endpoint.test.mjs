// Where the admin client sends its bearer token: to `${EDGE_URL}/__edge/admin` and nowhere
// else. A query or credentials in EDGE_URL were carried along and a path silently dropped,
// and fetch followed a redirect with the token. An EDGE_URL that is not http(s)://host[:port]
// is refused now, at construction, without echoing the value (swapped arguments would log
// ORIGIN_SECRET), and a redirect is an EdgeAdminError, not followed.
//
//   node --test packages/node/test/admin-endpoint.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { EdgeAdminError, EdgeSession } from "../index.js";

const SECRET = "o1:0123456789abcdef0123456789abcdef";

// The Rust crate's rule (packages/rust/src/client.rs, admin_endpoint), and its test's cases.
const NOT_EDGE_URLS = [
  "app.example.com", "localhost:8787", "ftp://app.example.com", "http://", "http:///__edge/admin",
  "https://app.example.com/base", "https://app.example.com/base/", "https://app.example.com/__edge/admin",
  "https://app.example.com/?x=1", "https://app.example.com/?", "https://app.example.com?x=1",
  "https://app.example.com/#x", "https://app.example.com#", "https://user:pw@app.example.com",
  "https://user@app.example.com", "https://app.example.com:port", "http://app.example.com\\base",
  "http://app.example.com /base", "http://app.example.com\n", SECRET,
];
const RULE = /^EDGE_URL \(edgeUrl\) must be http\(s\):\/\/host\[:port\], with no path, query, fragment or credentials: /;

/** A local server answering POST /__edge/admin with `status` (a 3xx to /elsewhere), and what it saw. */
async function recording(status) {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method, path: req.url, authorization: req.headers.authorization });
    const answer = req.url === "/__edge/admin" ? status : 200;
    res.writeHead(answer, { "content-type": "application/json", ...(answer >= 300 && answer < 400 ? { location: "/elsewhere" } : {}) });
    res.end(JSON.stringify(answer === 200 ? { revoked: 1, pending: 0 } : {}));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

test("the token goes to the admin path of a bare EDGE_URL, with or without its trailing slash", async () => {
  for (const suffix of ["", "/"]) {
    const edge = await recording(200);
    try {
      const admin = new EdgeSession({ secret: SECRET, edgeUrl: edge.base + suffix });
      assert.deepEqual(await admin.revokeAll("ada"), { revoked: 1, pending: 0 });
      assert.deepEqual(edge.seen.map((r) => [r.method, r.path]), [["POST", "/__edge/admin"]]);
    } finally {
      await edge.close();
    }
  }
});

test("an EDGE_URL with a path, query, fragment or credentials is refused at construction", () => {
  for (const edgeUrl of NOT_EDGE_URLS) {
    assert.throws(() => new EdgeSession({ secret: SECRET, edgeUrl }), (e) => e instanceof TypeError && RULE.test(e.message), JSON.stringify(edgeUrl));
  }
  const saved = process.env.EDGE_URL;
  process.env.EDGE_URL = "https://app.example.com/base";
  try {
    assert.throws(() => new EdgeSession({ secret: SECRET }), { name: "TypeError", message: RULE });
  } finally {
    if (saved === undefined) delete process.env.EDGE_URL;
    else process.env.EDGE_URL = saved;
  }
});

test("the refusal names the rule, never the value", () => {
  // new EdgeSession({ secret, edgeUrl }) with the two swapped: the secret is the URL.
  assert.throws(() => new EdgeSession({ secret: SECRET, edgeUrl: SECRET }), (e) => !String(e.message).includes("0123456789abcdef") && !e.stack.includes("0123456789abcdef"));
  for (const [edgeUrl, rule] of [
    ["ftp://app.example.com", "the scheme is not http or https"],
    ["https://user:pw@app.example.com", "it has credentials"],
    ["https://app.example.com/base", "it has a path"],
    ["https://app.example.com/?x=1", "it has a query"],
    ["https://app.example.com/#x", "it has a fragment"],
    ["not a url", "it is not a URL"],
  ]) {
    assert.throws(() => new EdgeSession({ secret: SECRET, edgeUrl }), (e) => e.message.endsWith(`: ${rule}`) && !e.message.includes("example"), edgeUrl);
  }
});

test("an unset EDGE_URL is still refused at the call", async () => {
  for (const edgeUrl of [undefined, ""]) {
    const saved = process.env.EDGE_URL;
    delete process.env.EDGE_URL;
    try {
      const admin = new EdgeSession({ secret: SECRET, edgeUrl });
      await assert.rejects(admin.listSessions("ada"), { name: "TypeError", message: /is not set/ });
    } finally {
      if (saved !== undefined) process.env.EDGE_URL = saved;
    }
  }
});

test("a redirect is an EdgeAdminError, and the token never reaches where it points", async () => {
  for (const status of [301, 302, 303, 307, 308]) {
    const edge = await recording(status);
    try {
      const admin = new EdgeSession({ secret: SECRET, edgeUrl: edge.base });
      await assert.rejects(admin.revokeAll("ada"), (e) => e instanceof EdgeAdminError && e.status === status, String(status));
      assert.deepEqual(edge.seen.map((r) => [r.method, r.path]), [["POST", "/__edge/admin"]], String(status));
    } finally {
      await edge.close();
    }
  }
});

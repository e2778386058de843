// Hostile clients and caches, against the running worker: each test is one attack that
// plain HTTP clients and raw sockets can mount, and what must hold against it. Raw bytes
// go over a socket (`rawRequest`), never through a client that would clean them up.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import {
  ACCESS_COOKIE, REFRESH_COOKIE, startOrigin, startEdge, Client, loginDirective, loginLogoutRoutes, debugOf, nonceOf, rawHttp, rawRequest, verifyAssertion,
} from "../../tools/harness.mjs";

let origin, edge;

/** The origin answers /login?<sub> and /logout with directives for that very request. */
const routes = async (req) => (await loginLogoutRoutes(req)) ?? {};

before(async () => {
  origin = await startOrigin();
  edge = await startEdge({ ORIGIN_URL: origin.url, ACCESS_TTL_SECS: "60", ROTATE_AFTER_SECS: "3", GRACE_SECS: "2" });
});
after(async () => { await edge?.stop(); await origin?.close(); });
beforeEach(() => { origin.reset(); origin.respond = routes; });

async function login(sub) {
  const client = new Client(edge.url);
  await client.fetch(`/login?${encodeURIComponent(sub)}`);
  assert.ok(client.refresh, `${sub} logged in`);
  origin.reset();
  origin.respond = routes;
  return client;
}

/** A GET sent as raw bytes with these `Cookie` header lines (Buffers or latin1 strings). */
const withCookies = (path, ...cookieLines) =>
  rawRequest(edge.port, rawHttp("GET", path, cookieLines.map((c) => Buffer.concat([Buffer.from("Cookie: "), Buffer.from(c, "latin1")]))));

test("cookie names are byte-exact: a planted lookalike of the refresh cookie never identifies anyone", async () => {
  const mallory = await login("mallory");
  const alice = await login("alice");
  // U+2000, U+00A0 and U+3000 in UTF-8, and a lone 0xA0: whitespace to str::trim().
  for (const prefix of [[0xe2, 0x80, 0x80], [0xc2, 0xa0], [0xe3, 0x80, 0x80], [0xa0]]) {
    const planted = Buffer.concat([Buffer.from(prefix), Buffer.from(`${REFRESH_COOKIE}=${mallory.refresh}`)]);
    const what = `prefix ${Buffer.from(prefix).toString("hex")}`;
    const victim = await withCookies("/who", planted);
    assert.equal(victim.status, 200, what);
    assert.deepEqual(JSON.parse(victim.body), { user: null, state: null }, `${what}: a logged-out victim is nobody, not mallory`);
    assert.equal(debugOf(victim).path, "none", `${what}: no object woken`);
    assert.equal(origin.last().headers.cookie, undefined, `${what}: the planted credential is not forwarded`);
    const loggedIn = await withCookies("/who", Buffer.concat([Buffer.from(`${REFRESH_COOKIE}=${alice.refresh}; `), planted]));
    assert.deepEqual(JSON.parse(loggedIn.body), { user: "alice", state: "fresh" }, `${what}: a logged-in victim stays herself`);
  }
});

test("unrelated cookies never log anyone out: 150 analytics cookies beside the edge's", async () => {
  const client = await login("many-cookies");
  const analytics = Array.from({ length: 150 }, (_, i) => `_ga_${i}=GA1.2.${i}.${"7".repeat(60)}`);
  const cookie = (edgePairs) => [...analytics.slice(0, 75), ...edgePairs, ...analytics.slice(75)].join("; ");
  const fast = await edge.fetch("/", { headers: { cookie: cookie([`${ACCESS_COOKIE}=${client.access}`]) } });
  assert.ok(cookie([]).length > 8192);
  assert.deepEqual(await fast.json(), { user: "many-cookies", state: "fresh" }, "the access cookie is found");
  assert.equal(origin.last().headers.cookie.split("; ").length, 150, "the origin gets every analytics cookie");
  const slow = await edge.fetch("/", { headers: { cookie: cookie([`${REFRESH_COOKIE}=${client.refresh}`]) } });
  assert.deepEqual(await slow.json(), { user: "many-cookies", state: "fresh" }, "so is the refresh cookie");
});

test("only the edge writes its cookies: an origin's Set-Cookie for them is dropped, its own cookies pass", async () => {
  const alice = await login("alice-origin-cookie");
  const refresh = alice.refresh;
  origin.respond = async () => ({ headers: { "Set-Cookie": [
    `${REFRESH_COOKIE}=evil; Path=/; Secure; HttpOnly`, `__host-ES-access=; Max-Age=0; Path=/; Secure`, "theme=dark; Path=/",
  ] } });
  const res = await alice.fetch("/");
  const names = res.setCookies.map((c) => c.name.toLowerCase());
  assert.ok(!names.includes(REFRESH_COOKIE.toLowerCase()) && !names.includes(ACCESS_COOKIE.toLowerCase()), names.join());
  assert.ok(names.includes("theme"), "the origin's own cookie goes through");
  assert.equal(alice.refresh, refresh, "the user's refresh cookie is untouched");
});

test("the credential never reaches the origin, whatever the framing", async () => {
  const alice = await login("framing");
  const mallory = await login("framing-mallory");
  // Two Cookie lines (the runtime joins them with ", "): stripped, though not read.
  await withCookies("/", "a=1", `${REFRESH_COOKIE}=${alice.refresh}; b=2`);
  const joined = origin.last().headers.cookie;
  assert.ok(!joined.includes(alice.refresh) && !joined.includes(REFRESH_COOKIE), `forwarded: ${joined}`);
  assert.match(joined, /a=1/);
  assert.match(joined, /b=2/);
  // One cookie whose value tosses a credential in after a comma: never read, never forwarded.
  const tossed = await withCookies("/", `x=1,${REFRESH_COOKIE}=${mallory.refresh}`);
  assert.deepEqual(JSON.parse(tossed.body), { user: null, state: null }, "a credential after a comma is not read");
  assert.equal(origin.last().headers.cookie, "x=1");
  // Every other byte as it came, pairs without `=` included.
  await withCookies("/", `flag;  spaced = x ;${ACCESS_COOKIE}=${alice.access}; q="v"`);
  assert.equal(origin.last().headers.cookie, 'flag;  spaced = x ; q="v"');
});

test("directives are bound to their request: a cached login response logs nobody else in", async () => {
  let cached;
  origin.respond = async (req) => {
    if (req.url !== "/cached-login") return routes(req);
    // A cache between edge and origin: the first answer is replayed to everyone after.
    cached ??= { headers: { "X-Edge-Login": await loginDirective(req, "first-visitor"), "Cache-Control": "public, max-age=600" } };
    return cached;
  };
  const first = new Client(edge.url);
  await first.fetch("/cached-login");
  assert.equal((await first.fetch("/")).json().user, "first-visitor");
  const second = new Client(edge.url);
  const replayed = await second.fetch("/cached-login");
  assert.equal(replayed.setCookies.length, 0, "the replayed directive sets nothing");
  assert.equal(replayed.headers.get("x-edge-login"), null, "and is stripped");
  assert.deepEqual((await second.fetch("/")).json(), { user: null, state: null });
  const event = await edge.waitEvent((e) => e.edge_session === "directive_rejected" && e.reason === "nonce");
  assert.equal(event?.header, "X-Edge-Login", "logged with reason nonce");
});

test("every forwarded request carries a fresh X-Edge-Nonce, whatever the client sent", async () => {
  const client = await login("nonces");
  const nonces = [];
  for (const who of [client, new Client(edge.url), client, new Client(edge.url)]) {
    await who.fetch("/", { headers: { "X-Edge-Nonce": "chosen-by-the-client" } });
    nonces.push(nonceOf(origin.last()));
  }
  for (const nonce of nonces) assert.match(nonce, /^[A-Za-z0-9_-]{22}$/, "128 random bits, base64url");
  assert.equal(new Set(nonces).size, nonces.length, "a new one per request");
});

test("a response that sets an edge cookie is never publicly cacheable, whatever the origin said", async () => {
  const publicly = {
    "Cache-Control": "public, max-age=3600", "CDN-Cache-Control": "max-age=3600",
    "Cloudflare-CDN-Cache-Control": "max-age=3600", "Surrogate-Control": "max-age=3600",
    "Expires": "Wed, 21 Oct 2037 07:28:00 GMT",
  };
  const assertPrivate = (res, what) => {
    assert.ok(res.setCookies.length > 0, `${what}: sets a cookie`);
    assert.equal(res.headers.get("cache-control"), "private, no-store", what);
    for (const name of ["cdn-cache-control", "cloudflare-cdn-cache-control", "surrogate-control", "expires"]) {
      assert.equal(res.headers.get(name), null, `${what}: ${name} removed`);
    }
  };
  origin.respond = async (req) => ({ headers: { ...publicly, ...(await routes(req)).headers } });
  const client = new Client(edge.url);
  assertPrivate(await client.fetch("/login?cached"), "login");
  // A rotation that lands on a public asset.
  const refreshOnly = new Client(edge.url);
  refreshOnly.cookies.set(REFRESH_COOKIE, client.refresh);
  edge.clock.advance(3_200);
  const rotated = await refreshOnly.fetch("/app.css");
  assert.equal(rotated.json().state, "rotated");
  assertPrivate(rotated, "rotation");
  // A response that sets nothing keeps what the origin said.
  const plain = await client.fetch("/logo.png");
  assert.equal(plain.setCookies.length, 0);
  assert.equal(plain.headers.get("cache-control"), "public, max-age=3600");
  assertPrivate(await client.fetch("/logout"), "logout");
});

test("identified requests bypass caches on the way to the origin; anonymous ones do not", async () => {
  const client = await login("no-store");
  await client.fetch("/page");
  // What workerd sends for `cache: "no-store"` (on Cloudflare: no cache read or write).
  assert.equal(origin.last().headers["cache-control"], "no-cache");
  assert.equal(origin.last().headers.pragma, "no-cache");
  await new Client(edge.url).fetch("/page");
  assert.equal(origin.last().headers.pragma, undefined, "an anonymous request may use the cache");
});

test("X-Edge-User is injective: every sub arrives as its own header value", async () => {
  const subs = ["mallet", "mallet ", "mallet%20", "zoë", "a+b", "a/b?c=d"];
  const seen = new Map();
  for (const sub of subs) {
    const client = await login(sub);
    await client.fetch("/");
    const headers = origin.last().headers;
    assert.match(headers["x-edge-user"], /^[A-Za-z0-9._~@+%-]+$/, `${JSON.stringify(sub)}: header-safe`);
    assert.equal(decodeURIComponent(headers["x-edge-user"]), sub, `${JSON.stringify(sub)} decodes back`);
    assert.equal((await verifyAssertion(headers["x-edge-assertion"])).payload.sub, sub, "the assertion carries the exact sub");
    seen.set(headers["x-edge-user"], sub);
  }
  assert.equal(seen.size, subs.length, `no two subs share a header: ${[...seen.keys()]}`);
});

test("logout CSRF: a logout answering a request that presented no edge cookie deletes nothing", async () => {
  // A cross-site form post: the browser withholds the SameSite=Lax cookies, and would still
  // apply deletions in the response.
  const crossSite = await new Client(edge.url).fetch("/logout", { method: "POST", body: "x=1" });
  assert.equal(crossSite.setCookies.length, 0, "no deletion sent");
  const client = await login("csrf");
  const own = await client.fetch("/logout", { method: "POST", body: "x=1" });
  assert.deepEqual(own.setCookies.filter((c) => c.attrs["max-age"] === "0").map((c) => c.name).sort(), [ACCESS_COOKIE, REFRESH_COOKIE]);
});

test("a header meant for one hop stops at the edge: an upload with Expect: 100-continue, proxy credentials, the loop marker", async () => {
  const client = await login("hop-by-hop");
  for (const cookie of [[], [`Cookie: ${ACCESS_COOKIE}=${client.access}`]]) {
    origin.reset();
    const head = [...cookie, "Expect: 100-continue", "Proxy-Authorization: Basic cHJveHk6c2VjcmV0", "edge-session-hop: 1"];
    const res = await rawRequest(edge.port, rawHttp("POST", "/upload", head, "abc"));
    const who = cookie.length ? "identified" : "anonymous";
    // Forwarded, `Expect` had the origin (Node) answer 100 Continue, which the runtime's
    // fetch cannot take: the request hung until the runtime answered 500.
    assert.equal(res.status, 200, `${who}: ${res.body.slice(0, 120)}`);
    assert.equal(origin.last().body, "abc", `${who}: the body arrives`);
    for (const name of ["expect", "proxy-authorization", "edge-session-hop"]) {
      assert.equal(origin.last().headers[name], undefined, `${who}: ${name} is not forwarded`);
    }
    assert.equal(origin.last().headers["x-edge-user"], cookie.length ? "hop-by-hop" : undefined, who);
  }
});

test("WebSockets pass through as the user: the upgrade carries the identity, never a spoofed one", async () => {
  const client = await login("socket-user");
  /** Opens a WebSocket through the edge; resolves with its first message, or the refusal. */
  const open = (headers) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/live`, { headers });
    ws.on("message", (m) => { resolve({ status: 101, message: JSON.parse(String(m)) }); ws.close(); });
    ws.on("unexpected-response", (_, res) => resolve({ status: res.statusCode }));
    ws.on("error", (e) => resolve({ error: e.message }));
  });
  const spoofed = { "X-Edge-User": "mallory", "x_edge_session_state": "fresh", "Proxy-Authorization": "Basic eA==" };
  const identified = await open({ cookie: `${ACCESS_COOKIE}=${client.access}`, ...spoofed });
  assert.deepEqual(identified, { status: 101, message: { user: "socket-user", state: "fresh" } });
  const upgrade = origin.last();
  assert.ok(upgrade.upgrade, "the origin got an upgrade");
  assert.equal(upgrade.headers.upgrade, "websocket", "Upgrade passes: the socket needs it");
  assert.equal(upgrade.headers["proxy-authorization"], undefined);
  await verifyAssertion(upgrade.headers["x-edge-assertion"]);
  assert.deepEqual(await open(spoofed), { status: 101, message: { user: null, state: null } }, "anonymous stays anonymous");
});

test("the origin cannot clear the edge's cookies with Clear-Site-Data, nor speak DBSC for it; a verified logout can", async () => {
  const alice = await login("clear-site-data");
  const cases = [
    ['"cache", "cookies", "storage"', '"cache", "storage"'],
    ['"COOKIES"', null],
    ['"*"', '"cache", "storage", "executionContexts", "clientHints", "prefetchCache", "prerenderCache"'],
    ['"executionContexts"', '"executionContexts"'],
  ];
  for (const [sent, passed] of cases) {
    origin.respond = async () => ({ headers: {
      "Clear-Site-Data": sent,
      "Secure-Session-Registration": '(ES256);path="/origin/dbsc";challenge="c"',
      "Secure-Session-Challenge": '"c";id="x"',
    } });
    const res = await alice.fetch("/");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("clear-site-data"), passed, sent);
    assert.equal(res.headers.get("secure-session-registration"), null, "the edge alone offers device binding");
    assert.equal(res.headers.get("secure-session-challenge"), null);
  }
  assert.ok(await edge.waitEvent((e) => e.edge_session === "origin_header_dropped" && e.header === "Clear-Site-Data"), "logged");
  assert.deepEqual((await alice.fetch("/")).json(), { user: "clear-site-data", state: "fresh" }, "still logged in");
  // A logout the edge carries out: the origin's Clear-Site-Data goes as it was sent.
  origin.respond = async (req) => {
    const answer = await routes(req);
    return { ...answer, headers: { ...answer?.headers, "Clear-Site-Data": '"cookies", "storage"' } };
  };
  const out = await alice.fetch("/logout");
  assert.equal(out.headers.get("clear-site-data"), '"cookies", "storage"');
  assert.equal(alice.refresh, undefined, "logged out");
});

test("methods pass through: WebDAV and QUERY reach the origin as themselves, with their body", async () => {
  const client = await login("webdav");
  const cookie = `Cookie: ${ACCESS_COOKIE}=${client.access}`;
  const body = '<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>';
  for (const method of ["PROPFIND", "QUERY", "MKCOL"]) {
    origin.reset();
    const res = await rawRequest(edge.port, rawHttp(method, "/dav/", [cookie, "Content-Type: application/xml"], body));
    assert.equal(res.status, 200, `${method}: ${res.body}`);
    assert.equal(origin.last().method, method, `${method} arrives as itself`);
    assert.equal(origin.last().body, body, `${method} keeps its body`);
    assert.equal(origin.last().headers["x-edge-user"], "webdav");
  }
  // A token the runtime does not carry is refused, never sent on as GET.
  origin.reset();
  const unknown = await rawRequest(edge.port, rawHttp("BREW", "/pot", [cookie], "coffee"));
  assert.equal(unknown.status, 501);
  assert.equal(origin.requests.length, 0, "nothing reached the origin");
});

test("with no origin configured (a Workers route), a request that comes back is answered 508 once, whatever marker a client sends", async () => {
  const routed = await startEdge({});
  try {
    for (const marker of [null, "1", "true", "x".repeat(43)]) {
      const fetched = await fetch(`${routed.url}/`, { headers: marker === null ? {} : { "edge-session-hop": marker } });
      const res = { status: fetched.status, headers: fetched.headers, body: await fetched.text() };
      // The forwarded request came back to this worker carrying its own marker, and stopped
      // there: one hop, not a recursion.
      assert.equal(res.status, 508, `marker ${marker}: ${res.body}`);
      assert.match(res.body, /no origin, request looped back/);
      // The 508 is the second hop's, passed on by the first (which adds X-Edge-Debug): a
      // client's marker did not stop the first hop, as a fixed marker let any client do.
      assert.equal(debugOf(res).path, "none", `marker ${marker}: the first hop forwarded it`);
    }
  } finally {
    await routed.stop();
  }
});

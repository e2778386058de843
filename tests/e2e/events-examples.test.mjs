// The example apps (examples/) as receivers of the edge's security events (docs/design.md
// §9), behind a real edge: each verifies `POST /events` with its package and
// EVENTS_SECRET, drops a jti it has seen, and shows the signed-in user their notices
// (`GET /api/notices`): "New sign-in" for a login, "Was this you?" for a theft signal or a
// change of place. Each app starts with EVENTS_FAIL_FIRST=3 (down for its first three
// deliveries), so the first event only arrives through the edge's retries.
// One edge serves every app through a switchboard (its EVENTS_URL is the switchboard's
// /events, forwarded to the current app); a second edge, in front of the same apps,
// delivers its events to a recorder here instead, so the test holds a real delivery's
// body to replay to the app.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import {
  Client, ORIGIN_SECRET, sleep, startEdge, startSwitchboard, withApp as withExampleApp,
} from "../../tools/harness.mjs";
import { APPS as ALL_APPS } from "../../tools/example-apps.mjs";

const EVENTS_SECRET = `e1:${randomBytes(32).toString("base64url")}`;
const CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0";
const HOME = "country=CH; asn=3303; colo=ZRH";

/** The apps with a security events receiver. */
const APPS = Object.fromEntries(["express", "fastapi", "rack", "elixir", "axum"].map((name) => [name, ALL_APPS[name]]));

/** A webhook receiver that takes every delivery (204) and keeps its body. */
async function startRecorder() {
  const recorder = { bodies: [] };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    recorder.bodies.push(Buffer.concat(chunks).toString());
    res.writeHead(204).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  recorder.url = `http://127.0.0.1:${server.address().port}/hooks/edge`;
  recorder.close = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
  return recorder;
}

/** The claims of a delivered body (the apps verify it; the test only reads it). */
const claimsOf = (body) => JSON.parse(Buffer.from(body.split(".")[1], "base64url").toString());

let board, edge, witness, recorder;
before(async () => {
  board = await startSwitchboard();
  recorder = await startRecorder();
  // ACCESS_TTL 0: every request asks the family, so a change of place is seen at once.
  [edge, witness] = await Promise.all([
    startEdge({ ORIGIN_URL: board.url, EVENTS_URL: `${board.url}/events`, EVENTS_SECRET, ACCESS_TTL_SECS: "0" }),
    startEdge({ ORIGIN_URL: board.url, EVENTS_URL: recorder.url, EVENTS_SECRET, ACCESS_TTL_SECS: "0" }),
  ]);
});
after(async () => {
  await Promise.all([edge?.stop(), witness?.stop()]);
  await recorder?.close();
  await board?.close();
});

const form = (fields) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});

/** A browser on `through` (an edge): every request with its User-Agent and place (`x-edge-debug-cf`). */
function browser(through, ua, where) {
  const client = new Client(through.url);
  client.as = { "User-Agent": ua, "x-edge-debug-cf": where };
  const fetchAs = client.fetch.bind(client);
  client.fetch = (path, opts = {}) => fetchAs(path, { ...opts, headers: { ...client.as, ...opts.headers } });
  return client;
}

/** `client`'s notices (GET /api/notices through its edge), polled every 500 ms until `done(list)` or `ms` pass. */
async function noticesUntil(client, done, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await client.fetch("/api/notices");
    assert.equal(res.status, 200, res.text);
    const list = res.json();
    if (done(list) || Date.now() > deadline) return list;
    await sleep(500);
  }
}

/** POSTs `body` straight to the app's /events, as the edge would. */
const deliver = (port, body) =>
  fetch(`http://127.0.0.1:${port}/events`, { method: "POST", headers: { "content-type": "application/jwt" }, body });

/**
 * Starts `framework`'s app (EVENTS_SECRET, EVENTS_FAIL_FIRST=3), points the switchboard at
 * it, and runs `story(port)`; on failure the app's output is attached, and it always stops.
 */
const withApp = (framework, story) => withExampleApp(
  board, APPS[framework], { ORIGIN_SECRET, EDGE_URL: edge.url, EVENTS_SECRET, EVENTS_FAIL_FIRST: "3" }, ({ port }) => story(port),
);

for (const framework of Object.keys(APPS)) {
  test(`${framework}: POST /events takes each event once, through retries; /api/notices shows New sign-in and Was this you?`, { timeout: 150_000 }, () => withApp(framework, async (port) => {
    const sub = `notices ${framework} ${process.pid}`;
    assert.equal((await new Client(edge.url).fetch("/api/notices")).status, 401, "signed-in users only");

    // A login: its session.created is refused three times (EVENTS_FAIL_FIRST), retried
    // after 2, 5 and 10 s, then taken: one notice, none lost.
    const laptop = browser(edge, CHROME, HOME);
    const loggedIn = Date.now();
    const login = await laptop.fetch("/login", form({ username: sub }));
    assert.equal(login.status, 303, login.text);
    const sid = (await laptop.fetch("/api/me")).json().sid;
    assert.match(sid ?? "", /^[A-Za-z0-9_-]{22}$/, "logged in");
    const first = await noticesUntil(laptop, (list) => list.length > 0, 60_000);
    const waited = Date.now() - loggedIn;
    assert.equal(first.length, 1, JSON.stringify(first));
    const [created] = first;
    assert.deepEqual(Object.keys(created).sort(), ["jti", "sid", "text", "time", "type"]);
    assert.deepEqual([created.type, created.text, created.sid], ["session.created", "New sign-in: Chrome on Windows, CH", sid]);
    assert.match(created.jti, /^\S+$/);
    assert.ok(Math.abs(created.time - loggedIn / 1000) < 60, `time ${created.time}`);
    assert.ok(waited >= 15_000, `taken after ${waited} ms: the first three deliveries were refused and retried`);

    // A duplicate is dropped: the very body of a real delivery (the second edge's, for a
    // login of the same user on a phone), delivered twice, is one notice.
    const phone = browser(witness, FIREFOX, "country=DE; asn=3320; colo=FRA");
    assert.equal((await phone.fetch("/login", form({ username: sub }))).status, 303);
    const phoneSid = (await phone.fetch("/api/me")).json().sid;
    const isPhoneLogin = (body) => {
      const claims = claimsOf(body);
      return claims.type === "session.created" && claims.sid === phoneSid;
    };
    for (let i = 0; i < 300 && !recorder.bodies.some(isPhoneLogin); i++) await sleep(100);
    const body = recorder.bodies.find(isPhoneLogin);
    assert.ok(body, "the second edge delivered the phone's session.created");
    const event = claimsOf(body);
    for (const delivery of ["first", "again"]) {
      const res = await deliver(port, body);
      assert.ok(res.status >= 200 && res.status < 300, `${delivery}: ${res.status} ${await res.text()}`);
    }
    const both = await noticesUntil(phone, () => true, 0);
    assert.deepEqual(both.map((n) => n.jti), [event.jti, created.jti], "one notice per event, newest first");
    const d = event.device;
    assert.deepEqual([both[0].type, both[0].sid, both[0].text],
      ["session.created", phoneSid, `New sign-in: ${d.browser} on ${d.os}, ${d.country}`]);
    assert.equal(d.country, "DE");

    // A body that does not verify: 401, and nothing recorded.
    const { iat, exp, ...claims } = event;
    const forged = await new SignJWT({ ...claims, jti: `${phoneSid}.99` })
      .setProtectedHeader({ alg: "HS256", typ: "edge-event+jwt", kid: "e1" })
      .setIssuedAt(iat).setExpirationTime(exp)
      .sign(randomBytes(32));
    assert.equal((await deliver(port, forged)).status, 401, "signed with another secret");
    assert.equal((await deliver(port, "not a jws")).status, 401, "not a JWS");
    assert.equal((await noticesUntil(laptop, () => true, 0)).length, 2);

    // Another country: the edge reports session.context_changed, and the user is asked.
    laptop.as = { "User-Agent": CHROME, "x-edge-debug-cf": "country=US; asn=7018; colo=EWR" };
    assert.equal((await laptop.fetch("/api/me")).json().sub, sub, "ON_CONTEXT_CHANGE=ignore: still signed in");
    const all = await noticesUntil(laptop, (list) => list.some((n) => n.type === "session.context_changed"), 30_000);
    const asked = all.find((n) => n.type === "session.context_changed");
    assert.ok(asked, `no "Was this you?" notice: ${JSON.stringify(all)}`);
    assert.deepEqual([asked.sid, asked.text], [sid, "Was this you? session.context_changed from Chrome on Windows, US"]);
    assert.deepEqual(all.map((n) => n.jti), [asked.jti, event.jti, created.jti], "newest first, each once");
  }));
}

// The origin packages (packages/) in the frameworks people use, behind one real worker.
// Each app in examples/ is written as a user of its framework would write it, with the
// package installed the way its README says. Every app goes through the same story, and
// each step asserts what the framework's handler saw:
//   anonymous → 401 for an API, a redirect for a page; login; identified (`fresh`);
//   rotation (`rotated`) and a racing tab (`grace`); "your devices" with three sessions;
//   signing one out refused until a step-up ("confirm it's you") makes the sign-in recent;
//   one revoked by sid; "sign out the others"; logout; and around the edge, a forged assertion is anonymous
//   and logged, never a 500. The apps with a legacy session bridge (one per language:
//   Flask, Express, Rack, Elixir, axum) walk a legacy user to an edge session, and a jar
//   copied after each way a session ends (log out everywhere, an admin revoke, a reuse
//   revocation, a device-bound jar without its key) is never logged back in.
// One edge serves every app: its origin is a switchboard pointed at each app in turn.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  ACCESS_COOKIE, Client, ORIGIN_SECRET, REFRESH_COOKIE, directive, familyOf, sleep, startEdge, startSwitchboard,
  withApp as withExampleApp,
} from "../../tools/harness.mjs";
import { APPS, form } from "../../tools/example-apps.mjs";
import { deviceKey, registrationOffer } from "../../tools/dbsc-peer.mjs";

const WINDOWS = { ROTATE_AFTER_SECS: "3", GRACE_SECS: "2", ACCESS_TTL_SECS: "1", RECOVERY_SECS: "30" };

let board, edge;
before(async () => {
  board = await startSwitchboard();
  edge = await startEdge({ ORIGIN_URL: board.url, ...WINDOWS });
});
after(async () => {
  await edge?.stop();
  await board?.close();
});


/**
 * Starts `framework`'s app, points the edge at it, and runs `story(app)` (`app.port`,
 * `app.output()`); on failure the app's output is attached, and the app always stops.
 */
// Signing other devices out asks for a sign-in at most this old (each app's
// require-recent-auth guard): shorter than the story's wait for a rotation.
const RECENT_AUTH_SECS = 2;
const withApp = (framework, story) =>
  withExampleApp(board, APPS[framework], { ORIGIN_SECRET, EDGE_URL: edge.url, RECENT_AUTH_SECS: String(RECENT_AUTH_SECS) }, story);

for (const framework of Object.keys(APPS)) {
  test(`${framework}: login, identity, rotation and grace, devices, revoke one, sign out others, logout, forgery`, { timeout: 60_000 }, () => withApp(framework, async ({ port, output }) => {
    // Spaces, `+`, `%` and non-ASCII survive the form, the directive and the assertion.
    const sub = `zoë ${framework}+1%`;
    const a = new Client(edge.url);

    // Anonymous: the API says 401, the page redirects, a public route sees nobody.
    const api = await a.fetch("/api/me");
    assert.equal(api.status, 401, api.text);
    // Each framework's own error shape (FastAPI: {"detail": …}); the words are ours.
    assert.match(api.text, /not signed in/);
    assert.match(api.headers.get("cache-control") ?? "", /no-store/);
    const page = await a.fetch("/account");
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/login");
    assert.equal((await a.fetch("/")).json().user, null);

    // Login through the framework's form handling.
    const login = await a.fetch("/login", form({ username: sub }));
    assert.equal(login.status, 303, login.text);
    assert.ok(a.refresh && a.access, "the edge accepted the app's login directive");
    const me = (await a.fetch("/api/me")).json();
    assert.equal(me.framework, framework);
    assert.equal(me.sub, sub);
    assert.match(me.sid, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(me.state, "fresh");
    assert.equal((await a.fetch("/account")).text, `Account of ${sub}`);

    // Rotation: the handler sees `rotated`; a tab still holding the old cookie, `grace`.
    const old = a.refresh;
    await sleep(Number(WINDOWS.ROTATE_AFTER_SECS) * 1000 + 200);
    assert.equal((await a.fetch("/api/me")).json().state, "rotated");
    assert.notEqual(a.refresh, old);
    const racingTab = new Client(edge.url);
    racingTab.cookies.set(REFRESH_COOKIE, old);
    const raced = (await racingTab.fetch("/api/me")).json();
    assert.deepEqual([raced.sub, raced.sid, raced.state], [sub, me.sid, "grace"]);

    // "Your devices": two more sessions, listed; one signed out by sid, then "sign out
    // all other devices".
    const [b, c] = [new Client(edge.url), new Client(edge.url)];
    for (const device of [b, c]) await device.fetch("/login", form({ username: sub }));
    const [bSid, cSid] = [(await b.fetch("/api/me")).json().sid, (await c.fetch("/api/me")).json().sid];
    const devices = (await a.fetch("/api/devices")).json();
    assert.equal(devices.current, me.sid);
    assert.deepEqual(devices.sessions.map((s) => s.sid).sort(), [me.sid, bSid, cSid].sort());
    // Signing a device out needs a recent sign-in: a's is older than RECENT_AUTH_SECS (the
    // rotation's wait). The app asks again ("confirm it's you"), and records it with a
    // step-up: the same session, its auth_time moved.
    const stale = await a.fetch("/api/devices/revoke", form({ sid: bSid }));
    assert.equal(stale.status, 401, stale.text);
    assert.match(stale.text, /recent sign-in required/);
    assert.equal((await c.fetch("/api/me")).status, 200, "nobody was signed out");
    const confirm = await a.fetch("/confirm", { method: "POST" });
    assert.equal(confirm.status, 303, confirm.text);
    const confirmed = (await a.fetch("/api/me")).json();
    assert.equal(confirmed.sid, me.sid, "a step-up keeps the session");
    assert.ok(confirmed.auth_time > me.auth_time, `auth_time ${confirmed.auth_time} after ${me.auth_time}`);
    assert.deepEqual(confirmed.amr, ["pwd"]);
    const one = await a.fetch("/api/devices/revoke", form({ sid: bSid }));
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json().revoked, 1);
    b.cookies.delete(ACCESS_COOKIE);
    assert.equal((await b.fetch("/api/me")).status, 401, "the device signed out by sid");
    assert.equal((await c.fetch("/api/me")).status, 200, "and only that one");
    const out = await a.fetch("/api/devices/sign-out-others", { method: "POST" });
    assert.equal(out.status, 200, out.text);
    assert.equal(out.json().revoked, 1);
    c.cookies.delete(ACCESS_COOKIE); // its access cookie lives on for ACCESS_TTL (stateless)
    assert.equal((await c.fetch("/api/me")).status, 401, "the other device is signed out");
    assert.deepEqual((await a.fetch("/api/devices")).json().sessions.map((s) => s.sid), [me.sid]);

    // Logout: the edge deletes the cookies, and the API says 401 again.
    const logout = await a.fetch("/logout", { method: "POST" });
    assert.equal(logout.status, 303);
    assert.equal(a.cookies.size, 0, "the edge accepted the app's logout directive");
    assert.equal((await a.fetch("/api/me")).status, 401);

    // Around the edge: a forged assertion and a spoofed header are anonymous, and logged.
    const direct = await fetch(`http://127.0.0.1:${port}/api/me`, {
      headers: { "X-Edge-User": "mallory", "X-Edge-Assertion": "eyJhbGciOiJIUzI1NiJ9.e30.AAAA" },
    });
    assert.equal(direct.status, 401, "anonymous, not a 500");
    await sleep(100);
    assert.match(output(), /edge_assertion_rejected/, "the rejected assertion was logged");
  }));
}

// The apps with a bridge from the app's own (legacy) session: `POST /legacy-login`, and
// `legacy` (the legacy user the request carried) in `GET /`. Express and axum keep their
// sessions server-side, so ending one revokes it; the others sign a cookie, which stays
// valid until it expires (the limit the packages' READMEs state).
const BRIDGES = { flask: "client-side", express: "server-side", rack: "client-side", elixir: "client-side", axum: "server-side" };

/** A fresh legacy session of `sub`, as the app always made them: its cookie [name, value]. */
async function legacySession(sub) {
  const client = new Client(edge.url);
  assert.equal((await client.fetch("/legacy-login", form({ username: sub }))).status, 303);
  assert.ok(client.cookies.size === 1 && !client.refresh, "a legacy session, no edge session");
  return [...client.cookies][0];
}

/** A legacy user of `sub` walked to an edge session by the bridge: the client, and the
 * adopting response (a login response: it offers device binding too). */
async function adopted(sub) {
  const client = new Client(edge.url);
  client.cookies = new Map([await legacySession(sub)]);
  const first = await client.fetch("/");
  assert.ok(client.refresh && client.access, `${sub} adopted`);
  return { client, first };
}

/** The edge's admin API, called as the origin would (every parameter a signed claim). */
async function adminCall(sub, act, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const token = await directive("edge-admin+jwt", { sub, act, jti: randomBytes(12).toString("base64url"), ...claims }, { iat: now, exp: now + 60 });
  const res = await fetch(`${edge.url}/__edge/admin`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

/**
 * Each way an edge session ends while a copy of its jar lives on: the state the edge
 * then reports, and how to revoke `victim`'s session (returning the copy's edge cookies,
 * the refused part of the jar).
 */
const REVOCATIONS = {
  "log out everywhere": ["ended", async (sub, { client }) => {
    const jar = { [REFRESH_COOKIE]: client.refresh };
    await adminCall(sub, "revoke_all");
    return jar;
  }],
  "an admin revoke": ["ended", async (sub, { client }) => {
    const jar = { [REFRESH_COOKIE]: client.refresh };
    await adminCall(sub, "revoke", { sid: familyOf(client.refresh) });
    return jar;
  }],
  "a reuse revocation": ["reused", async (sub, { client }) => {
    const stale = client.refresh;
    edge.clock.advance(3_100); // due: the next request rotates
    client.cookies.delete(ACCESS_COOKIE);
    assert.equal((await client.fetch("/api/me")).json().state, "rotated");
    client.cookies.delete(ACCESS_COOKIE);
    await client.fetch("/api/me"); // the new generation in use
    edge.clock.advance(2_100); // past grace: the stale copy is reuse, and revokes
    return { [REFRESH_COOKIE]: stale };
  }],
  "a device-bound session's jar without its key": ["device_bound", async (sub, { client, first }) => {
    const offer = registrationOffer(first.headers);
    assert.ok(offer, "the adopting login offered device binding");
    const device = await deviceKey();
    const bound = await client.fetch(offer.path, { method: "POST", headers: { "Secure-Session-Response": await device.sign(offer.challenge, { withJwk: true }) } });
    assert.equal(bound.status, 200, bound.text);
    return { [REFRESH_COOKIE]: client.refresh }; // the bound access cookie stays behind
  }],
};

/** The `edge_adopt_refused` lines an app logged so far. */
const refusals = (output) => output.split("\n").filter((line) => line.includes("edge_adopt_refused"));

for (const [framework, legacyStore] of Object.entries(BRIDGES)) {
  test(`${framework}: the bridge adopts a legacy user, and never logs a refused jar back in`, { timeout: 90_000 }, () => withApp(framework, async ({ output }) => {
    const lee = new Client(edge.url);
    const legacyCookie = await legacySession("lee");
    lee.cookies = new Map([legacyCookie]);
    // The first request with it: still anonymous at the edge, answered with a login, and
    // the legacy session ended in that same response.
    const first = await lee.fetch("/");
    assert.deepEqual([first.json().user, first.json().legacy], [null, "lee"]);
    assert.ok(lee.refresh && lee.access, "the bridge's login directive was applied");
    assert.ok(first.setCookies.some((c) => c.name === legacyCookie[0]), "the legacy session ended in the same response");
    // From now on the edge identifies the user, and the legacy session is gone.
    const me = (await lee.fetch("/api/me")).json();
    assert.deepEqual([me.sub, me.state], ["lee", "fresh"]);
    const again = await lee.fetch("/");
    assert.deepEqual([again.json().user.sid, again.json().legacy], [me.sid, null], "the same edge session: the bridge did not log in twice");
    assert.deepEqual(again.setCookies.map((c) => c.name), [], "and set no new cookie");
    // Logout ends both, so the bridge cannot bring the legacy user back.
    await lee.fetch("/logout", { method: "POST" });
    assert.equal((await lee.fetch("/api/me")).status, 401);
    assert.deepEqual((await lee.fetch("/")).json(), { framework, user: null, legacy: null });

    // The old legacy cookie alone, without edge cookies: the edge has nothing to refuse.
    // A server-side session ended at adoption is worth nothing; a signed cookie is still
    // valid, and is adopted: the limit until the bridge ends.
    const alone = new Client(edge.url);
    alone.cookies = new Map([legacyCookie]);
    assert.equal((await alone.fetch("/")).json().legacy, legacyStore === "server-side" ? null : "lee");

    // A copied jar after each way a session ends: its refused edge cookie beside a legacy
    // session that is still valid. The edge says why it refused the cookie, and the
    // bridge must not log the jar back in.
    for (const [how, [state, revoke]] of Object.entries(REVOCATIONS)) {
      const sub = `jar ${how}`;
      const victim = await adopted(sub);
      const copy = new Client(edge.url);
      copy.cookies = new Map([...Object.entries(await revoke(sub, victim)), await legacySession(sub)]);
      const logged = refusals(output()).length;
      const replay = await copy.fetch("/");
      assert.deepEqual([replay.json().user, replay.json().legacy], [null, sub], `${how}: anonymous, with its legacy session`);
      assert.ok(!replay.setCookies.some((c) => c.name === REFRESH_COOKIE), `${how}: no edge session for the jar`);
      assert.equal((await copy.fetch("/api/me")).status, 401, `${how}: not logged back in`);
      await sleep(100);
      const lines = refusals(output()).slice(logged);
      assert.ok(lines.length > 0 && lines[0].includes(state), `${how}: the refusal was logged with \`${state}\`: ${lines}`);
      // A genuine legacy user of the same account still moves over.
      const genuine = await adopted(sub);
      assert.equal((await genuine.client.fetch("/api/me")).json().sub, sub, `${how}: a genuine legacy user is adopted`);
    }
  }));
}

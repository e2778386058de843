// Hostile input at the HTTP level, against the running worker: a seeded stream of
// malformed, duplicated, oversized and forged cookies and headers, sent as raw bytes over
// a socket (Unicode lookalike names included), forged logout directives, replays after
// grace and credentials of revoked families. For each: no 5xx, no identity the client did
// not earn, and no Durable Object woken for garbage (`X-Edge-Debug: path=none`).
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import {
  ACCESS_COOKIE, REFRESH_COOKIE, startOrigin, startEdge, Client, loginDirective, logoutDirective, directive, debugOf, nonceOf, rawHttp, rawRequest, rng, until,
} from "../../tools/harness.mjs";

const PROBES = Number(process.env.PROBES ?? 400);
let origin, edge, alice;
before(async () => {
  origin = await startOrigin();
  edge = await startEdge({ ORIGIN_URL: origin.url, ACCESS_TTL_SECS: "60", ROTATE_AFTER_SECS: "3", GRACE_SECS: "1" });
  alice = new Client(edge.url);
  origin.respond = async (req) => ({ headers: { "X-Edge-Login": await loginDirective(req, "alice") } });
  await alice.fetch("/login");
});
after(async () => { await edge?.stop(); await origin?.close(); });
beforeEach(() => origin.reset());

const NAMES = [
  ACCESS_COOKIE, REFRESH_COOKIE, ACCESS_COOKIE.toLowerCase(), `${REFRESH_COOKIE} `, "es-refresh", "__Secure-es-access",
  "session", `${ACCESS_COOKIE}2`,
  // Lookalikes a sibling subdomain can plant: Unicode whitespace that str::trim() and
  // String.trim() remove, around the name; and a credential tossed in after a comma.
  `\u2000${REFRESH_COOKIE}`, `\u00a0${ACCESS_COOKIE}`, `${REFRESH_COOKIE}\u3000`, `\ufeff${ACCESS_COOKIE}`, `x=1,${REFRESH_COOKIE}`,
];
const ALPHABET = "abcXYZ0189._-=;,\"' \\%";

function mutate(value, r) {
  const i = Math.floor(r() * value.length);
  switch (Math.floor(r() * 6)) {
    case 0: return value.slice(0, i) + String.fromCharCode(33 + Math.floor(r() * 90)) + value.slice(i + 1);
    case 1: return value.slice(0, i);
    case 2: return value + value.slice(i);
    case 3: return value.split(".").reverse().join(".");
    case 4: return value.replace(/^(a1|r1)\.k1\./, "$1.k9.");
    default: return value.replace(/\.[^.]*$/, ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  }
}

function randomCookieHeader(r) {
  const parts = [];
  const n = 1 + Math.floor(r() * 6);
  for (let k = 0; k < n; k++) {
    const name = NAMES[Math.floor(r() * NAMES.length)];
    const roll = r();
    let value;
    if (roll < 0.4) value = mutate(r() < 0.5 ? alice.access : alice.refresh, r);
    else if (roll < 0.55) value = r() < 0.5 ? alice.access : alice.refresh; // genuine, maybe duplicated or misnamed
    else value = Array.from({ length: Math.floor(r() * 60) }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]).join("");
    parts.push(`${name}=${value}`);
  }
  if (r() < 0.05) parts.push(`pad=${"x".repeat(9000)}`);
  if (r() < 0.05) parts.push(...Array.from({ length: 150 }, (_, i) => `_ga${i}=GA1.2.${i}`));
  return parts.join(r() < 0.8 ? "; " : ";");
}

/**
 * What an honest reader must conclude (RFC 6265bis): pieces split on `;` only, a piece
 * without `=` has no name, only SP and HTAB trimmed around name and value, names compared
 * byte for byte; a genuine cookie under its own name, exactly once. Deliberately not
 * String.trim(): it removes U+00A0, U+2000 and U+3000, the bytes of the fixation attack.
 */
function earned(header) {
  const wsp = (s) => s.replace(/^[ \t]+|[ \t]+$/g, "");
  const pairs = header.split(";").filter((p) => p.includes("="))
    .map((p) => [wsp(p.slice(0, p.indexOf("="))), wsp(p.slice(p.indexOf("=") + 1))]);
  const once = (name, value) => {
    const named = pairs.filter(([n]) => n === name);
    return named.length === 1 && named[0][1] === value;
  };
  return once(ACCESS_COOKIE, alice.access) || once(REFRESH_COOKIE, alice.refresh);
}

test(`${PROBES} random cookie headers: no 5xx, identity only when earned, no object woken for garbage`, async () => {
  const r = rng(0xed9e);
  const spellings = ["X-Edge-User", "x_edge_user", "X-EDGE-SESSION", "x-Edge_Session-State", "X_EDGE_ASSERTION", "x-edge-login"];
  let withIdentity = 0;
  for (let i = 0; i < PROBES; i++) {
    const cookie = randomCookieHeader(r);
    const spoof = spellings[Math.floor(r() * spellings.length)];
    origin.reset();
    // Raw UTF-8 bytes on the wire, exactly as written: no client library cleans them up.
    const res = await rawRequest(edge.port, rawHttp("GET", `/p${i}`, [Buffer.from(`Cookie: ${cookie}`), `${spoof}: mallory`]));
    const where = `probe ${i}: ${spoof}; cookie ${JSON.stringify(cookie.slice(0, 600))}`;
    assert.ok(res.status < 500, `${where} → ${res.status}`);
    assert.equal(res.setCookies.filter((c) => c.attrs["max-age"] === "0").length, 0, `${where}: no deletion`);
    const seen = origin.last()?.headers ?? {};
    for (const [name, value] of Object.entries(seen)) assert.notEqual(value, "mallory", `${where}: spoofed ${name} reached the origin`);
    const identified = seen["x-edge-user"] !== undefined;
    if (identified) {
      withIdentity++;
      assert.equal(seen["x-edge-user"], "alice", where);
      assert.ok(earned(cookie), `${where}: identity not earned`);
    } else {
      assert.ok(!earned(cookie), `${where}: a genuine cookie was refused`);
    }
    if (!earned(cookie)) {
      const debug = debugOf(res);
      assert.deepEqual([debug.path, debug.writes], ["none", "0"], `${where}: object woken`);
      assert.ok(["anonymous", "bad_cookie"].includes(debug.outcome), `${where}: outcome ${debug.outcome}`);
    }
  }
  assert.ok(withIdentity > 0 && withIdentity < PROBES, `both kinds exercised (${withIdentity} identified)`);
});

test("forged, expired, alg:none, wrong typ/aud and reflected logout directives do not log anyone out", async () => {
  await alice.fetch("/");
  const reflected = origin.last().headers["x-edge-assertion"];
  const now = Math.floor(Date.now() / 1000);
  const wrongKey = new TextEncoder().encode("x".repeat(40));
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  // Each answers its own request (right nonce), so what refuses it is the flaw named;
  // the last two are well formed but answer another request, or none.
  const forged = [
    (req) => logoutDirective(req, "session", {}, { key: wrongKey }),
    (req) => logoutDirective(req, "session", {}, { iat: now - 900, exp: now - 600 }),
    (req) => `${b64({ alg: "none", typ: "edge-logout+jwt" })}.${b64({ aud: "edge-session", scope: "session", iat: now, exp: now + 60, nonce: nonceOf(req) })}.`,
    (req) => directive("edge-login+jwt", { scope: "session", nonce: nonceOf(req) }),
    (req) => directive("edge-logout+jwt", { scope: "session", aud: "origin", nonce: nonceOf(req) }),
    (req) => directive("edge-logout+jwt", { scope: "nowhere", nonce: nonceOf(req) }),
    () => reflected,
    () => logoutDirective({ headers: { "x-edge-nonce": "AAAAAAAAAAAAAAAAAAAAAA" } }, "session"),
    () => logoutDirective({ headers: {} }, "session"),
  ];
  for (const forge of forged) {
    let token;
    origin.respond = async (req) => ({ headers: { "X-Edge-Logout": (token = await forge(req)) } });
    const res = await alice.fetch("/logout");
    assert.equal(res.setCookies.length, 0, `ignored: ${token.slice(0, 40)}`);
    assert.equal(res.headers.get("x-edge-logout"), null);
  }
  origin.reset();
  assert.equal((await alice.fetch("/")).json().user, "alice", "still logged in");
});

test("replays: after grace, and of a revoked family, are refused without waking anything twice", async () => {
  const bob = new Client(edge.url);
  origin.respond = async (req) => ({ headers: { "X-Edge-Login": await loginDirective(req, "bob") } });
  await bob.fetch("/login");
  origin.reset();
  bob.cookies.delete(ACCESS_COOKIE);
  const stolen = bob.refresh;
  edge.clock.advance(3_200);
  await bob.fetch("/"); // rotates
  bob.cookies.delete(ACCESS_COOKIE);
  await bob.fetch("/"); // confirms the new generation
  edge.clock.advance(1_200);
  const replay = await edge.fetch("/", { headers: { cookie: `${REFRESH_COOKIE}=${stolen}` } });
  assert.deepEqual(await replay.json(), { user: null, state: "reused" }, "replay after grace refused");
  assert.deepEqual([debugOf(replay).path, debugOf(replay).verdict], ["object", "ReuseDetected(revoked)"], "the object decided, once");
  // The reuse revoked the family and its alarm deletes it; once its object has said it
  // holds nothing, the isolate remembers, and no object is woken for it again.
  const asked = await until(() => edge.fetch("/", { headers: { cookie: `${REFRESH_COOKIE}=${bob.refresh}` } }),
    (res) => debugOf(res).verdict === "Refused(UnknownFamily)");
  assert.equal(debugOf(asked).verdict, "Refused(UnknownFamily)", "deleted by its alarm");
  for (const attempt of [1, 2]) {
    const revoked = await edge.fetch("/", { headers: { cookie: `${REFRESH_COOKIE}=${bob.refresh}` } });
    assert.deepEqual(await revoked.json(), { user: null, state: "ended" }, "credential of a revoked family refused");
    assert.equal(revoked.status, 200);
    assert.deepEqual([debugOf(revoked).path, debugOf(revoked).outcome], ["ended", "refused"], `attempt ${attempt}: no object woken again`);
  }
});

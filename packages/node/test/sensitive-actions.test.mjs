// Issue 20, the origin's side: `auth_time` and `amr` on the user, a login that says how the
// user proved who they are (`amr`), `requireRecentAuth` in front of a sensitive action (in
// Express, Fastify and Hono, the frameworks of examples/node), and a secret per job:
// directives signed with DIRECTIVE_SECRET, admin tokens with ADMIN_SECRET, each falling
// back to ORIGIN_SECRET, which still verifies assertions.
//
//   node --test packages/node/test/sensitive-actions.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { once } from "node:events";
import { ASSERTION_HEADER, LOGIN_HEADER, LOGOUT_HEADER, NONCE_HEADER, STEP_UP_HEADER, EdgeSession, edgeRequest } from "../index.js";
import * as expressAdapter from "../express.js";
import * as fastifyAdapter from "../fastify.js";
import * as honoAdapter from "../hono.js";

const NOW = 1_700_000_000;
const ORIGIN_KEY = "origin-secret-0123456789abcdefghijklmnop";
const ORIGIN = `o1:${ORIGIN_KEY}`;
const DIRECTIVE_KEY = "directive-secret-0123456789abcdefghijklm";
const DIRECTIVE = `d2:${DIRECTIVE_KEY},d1:older-directive-secret-0123456789abcdef`;
const ADMIN_KEY = "admin-secret-0123456789abcdefghijklmnopq";
const ADMIN = `a1:${ADMIN_KEY}`;
const SID = "AAAAAAAAAAAAAAAAAAAAAA";

const b64u = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const mac = (key, input) => createHmac("sha256", Buffer.from(key, "utf8")).update(input).digest("base64url");
const part = (jws, i) => JSON.parse(Buffer.from(jws.split(".")[i], "base64url"));
/** Whether `jws`'s MAC is HMAC-SHA256 keyed with `key`. */
const signedBy = (jws, key) => mac(key, jws.split(".").slice(0, 2).join(".")) === jws.split(".")[2];

/** An assertion as the edge signs it with ORIGIN_SECRET at NOW, `over` merged into its claims. */
function assertion(over = {}) {
  const claims = { iss: "edge-session", aud: "origin", sub: "alice", sid: SID, state: "fresh", iat: NOW, exp: NOW + 60, jti: "j", ...over };
  const input = `${b64u({ alg: "HS256", typ: "JWT", kid: "o1" })}.${b64u(claims)}`;
  return `${input}.${mac(ORIGIN_KEY, input)}`;
}

/** Runs `body` with the environment's `vars` set (undefined: removed), then restores it. */
async function withEnv(vars, body) {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const put = (values) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  put(vars);
  try {
    return await body();
  } finally {
    put(saved);
  }
}

/** An EdgeSession at NOW, with no job secret from the environment unless `options` names one. */
const edgeAt = (options = {}) => new EdgeSession({
  secret: ORIGIN, audience: "origin", clock: () => NOW, log: () => {}, directiveSecret: "", adminSecret: "", ...options,
});

/** A request through the edge (identified by `token`, if any), and the headers its response gets. */
async function request(edge, token) {
  const headers = { [NONCE_HEADER]: "n0nce", [ASSERTION_HEADER]: token };
  const response = new Map();
  const ctx = await edgeRequest(edge, (name) => headers[name.toLowerCase()], (n, v) => response.set(n, v), (n) => response.delete(n));
  return { ctx, response };
}

test("the user carries auth_time (whole seconds) and amr; without them, null", async () => {
  const edge = edgeAt();
  const { ctx } = await request(edge, assertion({ auth_time: NOW - 600.9, amr: ["pwd", "otp"] }));
  assert.deepEqual([ctx.user.auth_time, ctx.user.amr], [NOW - 601, ["pwd", "otp"]]);
  const { ctx: older } = await request(edge, assertion());
  assert.deepEqual([older.user.auth_time, older.user.amr], [null, null]);
  for (const bad of [{ auth_time: "1700000000" }, { auth_time: -1 }, { auth_time: true }, { amr: "pwd" }, { amr: ["pwd", 2] }, { amr: {} }]) {
    const events = [];
    const refused = await request(edgeAt({ log: (event) => events.push(event) }), assertion(bad));
    assert.equal(refused.ctx.user, null, JSON.stringify(bad));
    assert.deepEqual(events, ["edge_assertion_rejected"]);
  }
});

test("a login carries amr, checked as the edge checks it before signing", async () => {
  const edge = edgeAt();
  const login = part(await edge.loginDirective("n0nce", "ada", { amr: ["pwd", "otp"] }), 1);
  assert.deepEqual(login.amr, ["pwd", "otp"]);
  const names = ["pwd", "a.b:c_d-E9", "x".repeat(16)];
  assert.deepEqual(part(await edge.loginDirective("n0nce", "ada", { amr: names }), 1).amr, names);
  assert.deepEqual(part(await edge.loginDirective("n0nce", "ada", { amr: Array(8).fill("pwd") }), 1).amr.length, 8);
  for (const none of [undefined, null]) {
    assert.equal(Object.hasOwn(part(await edge.loginDirective("n0nce", "ada", { amr: none }), 1), "amr"), false);
  }
  const AMR = { name: "TypeError", message: "amr must be 1 to 8 names of [A-Za-z0-9_.:-]{1,16}" };
  for (const amr of ["pwd", [], [1], ["a b"], ["x".repeat(17)], Array(9).fill("pwd"), [""], ["pwd\n"], ["pwé"], [null], {}]) {
    assert.throws(() => edge.loginDirective("n0nce", "ada", { amr }), AMR, JSON.stringify(amr));
  }
  // Through the request, too; a refused amr sets nothing.
  const { ctx, response } = await request(edge);
  await ctx.login("ada", { amr: ["hwk"], remember: true });
  assert.deepEqual([part(response.get(LOGIN_HEADER), 1).amr, part(response.get(LOGIN_HEADER), 1).remember], [["hwk"], true]);
  const { ctx: other, response: untouched } = await request(edge);
  await assert.rejects(other.login("ada", { amr: ["no spaces"] }), AMR);
  assert.equal(untouched.size, 0);
});

test("stepUp: a step-up directive for this request's user, signed with DIRECTIVE_SECRET; never on an anonymous request", async () => {
  const edge = edgeAt({ directiveSecret: DIRECTIVE });
  const { ctx, response } = await request(edge, assertion());
  await ctx.stepUp({ amr: ["pwd", "otp"] });
  const token = response.get(STEP_UP_HEADER);
  assert.ok(signedBy(token, DIRECTIVE_KEY), "signed with DIRECTIVE_SECRET's first key");
  assert.deepEqual(part(token, 0), { alg: "HS256", typ: "edge-step-up+jwt", kid: "d2" });
  const { aud, sub, nonce, amr, iat, exp } = part(token, 1);
  assert.deepEqual({ aud, sub, nonce, amr }, { aud: "edge-session", sub: "alice", nonce: "n0nce", amr: ["pwd", "otp"] });
  assert.ok(exp > iat && exp - iat <= 300);
  assert.equal(response.has(LOGIN_HEADER), false, "a step-up is not a login");
  const anonymous = await request(edge, undefined);
  await assert.rejects(anonymous.ctx.stepUp(), TypeError);
  assert.equal(anonymous.response.size, 0);
  await assert.rejects(ctx.stepUp({ amr: ["has space"] }), /amr must be/);
});

test("DIRECTIVE_SECRET signs logins, logouts and the bridge's login; ORIGIN_SECRET still verifies assertions", async () => {
  const fromEnv = await withEnv({ DIRECTIVE_SECRET: DIRECTIVE }, () => edgeAt({ directiveSecret: undefined }));
  for (const edge of [edgeAt({ directiveSecret: DIRECTIVE }), fromEnv]) {
    const directives = [
      await edge.loginDirective("n0nce", "ada"),
      await edge.logoutDirective("n0nce"),
      await edge.logoutDirective("n0nce", { scope: "everywhere", sub: "ada" }),
    ];
    const signedIn = await request(edge, assertion());
    assert.equal(signedIn.ctx.user.sub, "alice", "the assertion verified with ORIGIN_SECRET");
    await signedIn.ctx.logout({ scope: "everywhere" });
    directives.push(signedIn.response.get(LOGOUT_HEADER));
    const anonymous = await request(edge);
    assert.equal(await anonymous.ctx.adopt("lee"), true);
    directives.push(anonymous.response.get(LOGIN_HEADER));
    for (const jws of directives) {
      assert.equal(part(jws, 0).kid, "d2", "the directive ring's first key");
      assert.ok(signedBy(jws, DIRECTIVE_KEY), "its MAC is the directive key's");
      assert.ok(!signedBy(jws, ORIGIN_KEY), "not ORIGIN_SECRET's");
    }
    // Admin tokens are not directives: ORIGIN_SECRET, as before.
    const admin = await edge.adminToken("ada", "list");
    assert.deepEqual([part(admin, 0).kid, signedBy(admin, ORIGIN_KEY)], ["o1", true]);
  }
});

test("ADMIN_SECRET signs admin tokens, and the admin client sends them", async () => {
  for (const edge of [
    edgeAt({ adminSecret: ADMIN, edgeUrl: "https://app.example" }),
    await withEnv({ ADMIN_SECRET: ADMIN }, () => edgeAt({ adminSecret: undefined, edgeUrl: "https://app.example" })),
  ]) {
    const tokens = [await edge.adminToken("ada", "list"), await edge.adminToken("ada", "revoke", { sid: SID })];
    const real = globalThis.fetch;
    globalThis.fetch = async (url, init) => {
      tokens.push(init.headers.authorization.slice("Bearer ".length));
      return new Response(JSON.stringify({ sessions: [], revoked: 0, pending: 0 }), { status: 200 });
    };
    try {
      await edge.listSessions("ada");
      await edge.revokeSession("ada", SID);
      await edge.revokeAll("ada", { except: SID }); // "sign out the other devices"
    } finally {
      globalThis.fetch = real;
    }
    assert.equal(tokens.length, 5);
    for (const jws of tokens) {
      assert.deepEqual([part(jws, 0).kid, signedBy(jws, ADMIN_KEY), signedBy(jws, ORIGIN_KEY)], ["a1", true, false]);
    }
    // Directives are not admin tokens: ORIGIN_SECRET, as before.
    const login = await edge.loginDirective("n0nce", "ada");
    assert.deepEqual([part(login, 0).kid, signedBy(login, ORIGIN_KEY)], ["o1", true]);
  }
});

test("without DIRECTIVE_SECRET and ADMIN_SECRET (unset or blank), ORIGIN_SECRET signs everything", async () => {
  const unset = { DIRECTIVE_SECRET: undefined, ADMIN_SECRET: undefined };
  const blank = { DIRECTIVE_SECRET: " \n", ADMIN_SECRET: "" };
  for (const env of [unset, blank]) {
    const edge = await withEnv(env, () => new EdgeSession({ secret: ORIGIN, clock: () => NOW, log: () => {} }));
    for (const jws of [await edge.loginDirective("n0nce", "ada"), await edge.logoutDirective("n0nce"), await edge.adminToken("ada", "list")]) {
      assert.deepEqual([part(jws, 0).kid, signedBy(jws, ORIGIN_KEY)], ["o1", true]);
    }
  }
});

test("a malformed DIRECTIVE_SECRET or ADMIN_SECRET fails at construction, naming the variable, never the secret", async () => {
  for (const [name, option] of [["DIRECTIVE_SECRET", "directiveSecret"], ["ADMIN_SECRET", "adminSecret"]]) {
    for (const bad of ["d1:s3cr3t-too-short", "s3cr3t-without-a-kid-0123456789abcdefgh", `d1:${DIRECTIVE_KEY},d1:${ADMIN_KEY}`]) {
      const refused = (e) => e instanceof TypeError && e.message.startsWith(`${name} `) && !e.message.includes("s3cr3t")
        && !e.message.includes(DIRECTIVE_KEY);
      assert.throws(() => edgeAt({ [option]: bad }), refused, `${option}: ${bad}`);
      await withEnv({ [name]: bad }, () => assert.throws(() => edgeAt({ [option]: undefined }), refused, `${name}: ${bad}`));
    }
  }
});

test("signedInWithin: auth_time within maxAgeSecs by the clock, and no context change since", async () => {
  const within = async (claims, maxAgeSecs, now = NOW) =>
    (await request(edgeAt({ clock: () => now }), assertion(claims))).ctx.signedInWithin(maxAgeSecs);
  assert.equal(await within({ auth_time: NOW - 600 }, 600), true, "exactly maxAgeSecs ago");
  assert.equal(await within({ auth_time: NOW - 601 }, 600), false);
  assert.equal(await within({ auth_time: NOW - 600 }, 600, NOW + 0.9), true, "the clock in whole seconds");
  assert.equal(await within({}, 600), false, "no auth_time");
  assert.equal(await within({ auth_time: NOW - 10, context_changed: NOW - 5 }, 600), false, "changed context after");
  assert.equal(await within({ auth_time: NOW - 10, context_changed: NOW - 10 }, 600), true, "changed, then signed in");
  assert.equal(await within({ auth_time: NOW - 10, context_changed: null }, 600), true);
  assert.equal((await request(edgeAt())).ctx.signedInWithin(600), false, "anonymous");
  const { ctx } = await request(edgeAt(), assertion({ auth_time: NOW }));
  for (const bad of [undefined, "600", -1, NaN]) assert.throws(() => ctx.signedInWithin(bad), TypeError, String(bad));
});

test("signedInWithin: an auth_time more than 30 s ahead of the clock is no proof (an origin whose clock lags)", async () => {
  const within = async (claims, maxAgeSecs, now = NOW) =>
    (await request(edgeAt({ clock: () => now }), assertion(claims))).ctx.signedInWithin(maxAgeSecs);
  assert.equal(await within({ auth_time: NOW + 30 }, 600), true, "30 s ahead: clock skew");
  assert.equal(await within({ auth_time: NOW + 31 }, 600), false, "31 s ahead");
  assert.equal(await within({ auth_time: NOW + 31 }, 0), false);
  // Ahead by more than maxAgeSecs: now - auth_time is negative, so "at most maxAgeSecs ago"
  // alone would hold for longer than maxAgeSecs.
  assert.equal(await within({ auth_time: NOW + 3600 }, 7200), false, "an hour ahead");
  // The clock in whole seconds, as for maxAgeSecs: NOW - 9.5 reads NOW - 10, NOW - 10.5 reads NOW - 11.
  assert.equal(await within({ auth_time: NOW + 20 }, 600, NOW - 9.5), true, "30 s ahead of the whole-second clock");
  assert.equal(await within({ auth_time: NOW + 20 }, 600, NOW - 10.5), false, "31 s ahead of it");
});

// The frameworks, as examples/node installs them (scripts/setup.sh).
const examples = createRequire(new URL("../../../examples/node/package.json", import.meta.url));
const load = (name) => {
  try {
    return examples(name);
  } catch {
    return null;
  }
};
const frameworks = { express: load("express"), fastify: load("fastify"), hono: load("hono") };
const missing = (name) => (frameworks[name] ? false : `examples/node has no ${name}: run scripts/setup.sh`);

/**
 * The cases every integration answers alike: [name, assertion claims (null: anonymous),
 * options, status, error or location]. Guarded by requireRecentAuth(600) at NOW.
 */
const CASES = [
  ["signed in 600 s ago", { auth_time: NOW - 600, amr: ["pwd"] }, undefined, 200, null],
  ["signed in, then a context change before it", { auth_time: NOW - 60, context_changed: NOW - 61 }, undefined, 200, null],
  ["anonymous", null, undefined, 401, "not signed in"],
  ["signed in 601 s ago", { auth_time: NOW - 601 }, undefined, 401, "recent sign-in required"],
  ["an auth_time 31 s ahead of the clock", { auth_time: NOW + 31 }, undefined, 401, "recent sign-in required"],
  ["no auth_time (an older edge)", {}, undefined, 401, "recent sign-in required"],
  ["a context change since the sign-in", { auth_time: NOW - 60, context_changed: NOW - 30 }, undefined, 401, "recent sign-in required"],
  ["a page, signed in too long ago", { auth_time: NOW - 601 }, { mode: "page", loginUrl: "/login?again=1" }, 303, "/login?again=1"],
  ["a page, anonymous", null, { mode: "page", loginUrl: "/login?again=1" }, 303, "/login?again=1"],
];

/** Checks one answer (`status`, `headers.get`, `body` text) against a case. */
function check([name, , , status, expected], answer) {
  assert.equal(answer.status, status, name);
  if (status === 200) return assert.equal(answer.body, "ok", name);
  assert.equal(answer.headers.get("cache-control"), "no-store", name);
  if (status === 303) return assert.equal(answer.headers.get("location"), expected, name);
  assert.match(answer.headers.get("content-type"), /^application\/json/, name);
  assert.deepEqual(JSON.parse(answer.body), { error: expected }, name);
}

const headersOf = (claims) => ({ [NONCE_HEADER]: "n0nce", ...(claims ? { [ASSERTION_HEADER]: assertion(claims) } : {}) });

test("Express: requireRecentAuth", { skip: missing("express") }, async () => {
  const express = frameworks.express;
  for (const c of CASES) {
    const app = express().use(expressAdapter.edgeSession(edgeAt()));
    app.get("/sensitive", expressAdapter.requireRecentAuth(600, c[2]), (req, res) => res.send("ok"));
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const res = await fetch(`http://127.0.0.1:${server.address().port}/sensitive`, { headers: headersOf(c[1]), redirect: "manual" });
      check(c, { status: res.status, headers: res.headers, body: await res.text() });
    } finally {
      server.close();
    }
  }
  assert.throws(() => expressAdapter.requireRecentAuth(), TypeError);
});

test("Fastify: requireRecentAuth", { skip: missing("fastify") }, async () => {
  for (const c of CASES) {
    const app = frameworks.fastify();
    await app.register(fastifyAdapter.edgeSession, { edge: edgeAt() });
    app.get("/sensitive", { preHandler: fastifyAdapter.requireRecentAuth(600, c[2]) }, async () => "ok");
    const res = await app.inject({ method: "GET", url: "/sensitive", headers: headersOf(c[1]) });
    check(c, { status: res.statusCode, headers: new Headers(res.headers), body: res.body });
    await app.close();
  }
  assert.throws(() => fastifyAdapter.requireRecentAuth("600"), TypeError);
});

test("Hono: requireRecentAuth", { skip: missing("hono") }, async () => {
  for (const c of CASES) {
    const app = new frameworks.hono.Hono();
    app.use(honoAdapter.edgeSession(edgeAt()));
    app.get("/sensitive", honoAdapter.requireRecentAuth(600, c[2]), (ctx) => ctx.text("ok"));
    const res = await app.request("/sensitive", { headers: headersOf(c[1]) });
    check(c, { status: res.status, headers: res.headers, body: await res.text() });
  }
  assert.throws(() => honoAdapter.requireRecentAuth(-1), TypeError);
});

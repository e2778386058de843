// The conformance table (packages/conformance/vectors.json), run through this package's
// public API: one test per vector, named after it.
//
//   node --test packages/node/test/conformance.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  ASSERTION_HEADER, LOGIN_HEADER, NONCE_HEADER, STATE_HEADER, AssertionRefused, EdgeSession, decodeUser, edgeRequest,
  parseEvent, parseKeys,
} from "../index.js";

const table = JSON.parse(readFileSync(new URL("../../conformance/vectors.json", import.meta.url), "utf8"));

/**
 * An EdgeSession at the vector's time, its log kept in `events`: `secret` its ORIGIN_SECRET
 * and `jwks` its static EDGE_JWKS (null: not configured; the environment is never read).
 */
function edgeAt({ secret, jwks, audience, now }, events) {
  return new EdgeSession({
    secret: secret ?? "", jwks: jwks ?? "", jwksUrl: "", audience, clock: () => now, log: (event) => events.push(event),
  });
}

/** A header reader over a plain object (absent and null both read as absent). */
const reader = (headers) => (name) => headers[name.toLowerCase()] ?? undefined;

const payloadOf = (jws) => JSON.parse(Buffer.from(jws.split(".")[1], "base64url").toString("utf8"));

for (const v of table.assertions) {
  test(`assertion: ${v.name}`, async () => {
    const events = [];
    const edge = edgeAt(v, events);
    const user = await edge.identify(reader({ [ASSERTION_HEADER]: v.token }));
    assert.deepEqual(user && { ...user }, v.valid ? v.claims : null);
    // A refused token is logged, never thrown (an empty header is no token at all).
    assert.deepEqual(events, v.valid || v.token === "" ? [] : ["edge_assertion_rejected"]);
  });
}

for (const v of table.secrets) {
  test(`secret: ${v.name}`, () => {
    if (v.valid) {
      assert.ok(parseKeys(v.secret).length > 0);
    } else {
      assert.throws(() => parseKeys(v.secret), (e) => {
        assert.ok(!e.message.includes(table.secret_marker), `the refusal prints the secret: ${e.message}`);
        return true;
      });
    }
  });
}

const identified = table.assertions[0];
for (const v of table.adopt) {
  test(`adopt: ${v.name}`, async () => {
    const events = [];
    const response = {};
    const request = await edgeRequest(
      edgeAt(identified, events),
      reader({
        [ASSERTION_HEADER]: v.identified ? identified.token : null,
        [STATE_HEADER]: v.state_header,
        [NONCE_HEADER]: v.nonce,
      }),
      (name, value) => { response[name] = value; },
    );
    assert.equal(request.refusal, v.refusal);
    assert.equal(await request.adopt(v.legacy_sub), v.adopts);
    assert.deepEqual(events, v.logs ? [v.logs] : []);
    if (v.adopts) {
      const login = payloadOf(response[LOGIN_HEADER]);
      assert.deepEqual([login.sub, login.nonce], [v.legacy_sub, v.nonce]);
    } else {
      assert.deepEqual(response, {});
    }
  });
}

for (const v of table.user_header) {
  test(`user header: ${JSON.stringify(v.header)}`, () => assert.equal(decodeUser(v.header), v.sub));
}

for (const v of table.events) {
  test(`event: ${v.name}`, async () => {
    // The function, and the method of an origin whose eventsSecret it is (its own ring); a
    // queue message with the queue option, a webhook's body without it.
    const options = v.queue ? { queue: true } : {};
    const viaFunction = () => parseEvent(v.body, { secret: v.secret, audience: v.audience, clock: () => v.now, ...options });
    const edge = new EdgeSession({ secret: identified.secret, eventsSecret: v.secret, audience: v.audience, clock: () => v.now });
    for (const parse of [viaFunction, () => edge.parseEvent(v.body, options), () => edge.parseEvent(Buffer.from(v.body), options)]) {
      if (v.valid) {
        assert.deepEqual({ ...(await parse()) }, v.event);
      } else {
        await assert.rejects(parse, (e) => {
          assert.ok(e instanceof AssertionRefused, `refused with ${e}`);
          assert.ok(!e.message.includes(table.secret_marker), `the refusal prints the secret: ${e.message}`);
          return true;
        });
      }
    }
  });
}

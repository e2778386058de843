// A shortened chaos soak (the full one is `npm run soak`): zero lost sessions and one
// rotation per window per family, with aborted, unread and queued requests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { soak, summary } from "../../tools/soak.mjs";

test("chaos soak (short): zero lost sessions, one rotation per window", async () => {
  const result = await soak({ requests: Number(process.env.SOAK_REQUESTS ?? 4000), families: 20, seed: 7 });
  console.log(summary(result));
  assert.deepEqual(result.lostExamples, [], "no lost session examples");
  assert.equal(result.lost, 0);
  assert.deepEqual(result.errorExamples, [], "no transport errors");
  assert.equal(result.tooClose, 0, "one rotation per window per family");
  assert.ok(result.rotations >= 20, `rotations happened (${result.rotations})`);
  for (const state of ["fresh", "rotated", "grace"]) assert.ok(result.states[state] > 0, `${state} seen`);
  assert.ok(result.aborted > 0 && result.unread > 0, "requests were aborted and left unread");
});

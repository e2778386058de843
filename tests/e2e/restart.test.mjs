// What a restart (every deploy and crash resets every object) must not break, and what
// an ended family must not leave behind. One worker, restarted once in the middle, with
// its Durable Object storage kept; the storage is read back from workerd's SQLite files.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { REFRESH_COOKIE, startOrigin, startEdge, Client, loginLogoutRoutes, debugOf, until } from "../../tools/harness.mjs";

const ROTATE_MS = 3_000;
const GRACE_MS = 2_000;
const VARS = { ACCESS_TTL_SECS: "0", ROTATE_AFTER_SECS: String(ROTATE_MS / 1000), GRACE_SECS: String(GRACE_MS / 1000) };
let origin, edge;

before(async () => {
  origin = await startOrigin();
  origin.respond = loginLogoutRoutes;
  edge = await startEdge({ ORIGIN_URL: origin.url, ...VARS });
});
after(async () => { await edge?.stop(); await origin?.close(); });

const familyDir = () => join(edge.state, "v3/do/edge-session-SessionFamily");
/** The per-object SQLite files workerd keeps for `SessionFamily`. */
const objectFiles = () => readdirSync(familyDir()).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
/** The tables in one object's database (read with Python's sqlite3 while workerd is stopped). */
const tablesOf = (file) => JSON.parse(execFileSync("python3", ["-c",
  "import json, sqlite3, sys; print(json.dumps([r[0] for r in sqlite3.connect(sys.argv[1]).execute(\"SELECT name FROM sqlite_master WHERE type = 'table'\")]))",
  join(familyDir(), file)]).toString());

async function login(sub) {
  const client = new Client(edge.url);
  await client.fetch(`/login?${sub}`);
  assert.ok(client.refresh, `${sub} logged in`);
  return client;
}

const refreshed = (res) => res.setCookies.find((c) => c.name === REFRESH_COOKIE)?.value;
const withRefresh = async (value) => {
  const res = await edge.fetch("/", { headers: { cookie: `${REFRESH_COOKIE}=${value}` } });
  return { status: res.status, body: await res.json(), debug: debugOf(res), refresh: res.headers.getSetCookie().find((l) => l.startsWith(`${REFRESH_COOKIE}=`)) };
};

test("the hold survives a restart, and an ended family's cookie creates no storage", async () => {
  // An ended family: logged out, its alarm deletes its storage at once.
  const before = new Set(objectFiles());
  const ended = await login("ended");
  const endedFile = objectFiles().find((f) => !before.has(f));
  assert.ok(endedFile, "the family has its own database");
  const deadCookie = ended.refresh;
  await ended.fetch("/logout");
  const first = await until(() => withRefresh(deadCookie), (r) => r.debug.verdict === "Refused(UnknownFamily)");
  assert.equal(first.debug.verdict, "Refused(UnknownFamily)", "deleted by its alarm");
  const second = await withRefresh(deadCookie);
  assert.deepEqual([second.debug.path, second.debug.outcome], ["ended", "refused"], "then this isolate remembers: no object call");

  // A family whose current generation was just re-delivered to a racing request.
  const held = await login("held");
  const g1 = held.refresh;
  await held.fetch("/"); // confirms g1
  edge.clock.advance(ROTATE_MS + 200);
  const rotation = await held.fetch("/");
  assert.equal(rotation.json().state, "rotated");
  const g2 = held.refresh;
  const racing = await withRefresh(g1);
  assert.equal(racing.body.state, "grace", "a racing tab with g1");
  assert.equal(racing.refresh.split(";")[0], `${REFRESH_COOKIE}=${g2}`, "is handed g2 again");

  // Deploy: every object is reset, its storage kept.
  await edge.stop({ keepState: true });
  edge = await startEdge({ ORIGIN_URL: origin.url, ...VARS }, { restartOf: edge });
  edge.clock.advance(ROTATE_MS + 200); // g2 is due now

  // g2 may still be on its way in that racing response: the object woken from storage
  // holds it for GRACE before rotating, exactly as it did in memory.
  const afterRestart = await withRefresh(g2);
  assert.equal(afterRestart.body.state, "fresh", "not rotated right after the restart");
  assert.equal(afterRestart.refresh, undefined, "and no new refresh cookie");
  edge.clock.advance(GRACE_MS + 200);
  assert.equal((await withRefresh(g2)).body.state, "rotated", "once the hold is over, it rotates");

  // A new isolate has forgotten the ended family: its object is asked once more…
  const woken = await withRefresh(deadCookie);
  assert.deepEqual([woken.debug.path, woken.debug.verdict], ["object", "Refused(UnknownFamily)"]);
  // …and answering it must not have recreated its storage.
  await edge.stop({ keepState: true });
  const tables = tablesOf(endedFile).filter((t) => !t.startsWith("_cf_") && !t.startsWith("__miniflare"));
  assert.deepEqual(tables, [], `an ended family's object holds no table (found ${tables})`);
});

// End to end in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) on the demo origin behind the worker, with windows short enough that
// several rotations and access-cookie expiries happen in ~20 s. Logs in through the
// demo's form, then three tabs fire parallel fetch bursts while tabs are reloaded
// mid-burst, so some responses (possibly carrying a rotated cookie) are never read. No
// response the browser received may be unauthenticated, every reload shows the logged-in
// page, the cookies are HttpOnly/Secure/Lax/host-only and invisible to scripts, and
// logout clears them. Then two more browsers sign in as one user, and the demo's "your
// devices" (the edge's admin API) lists both and signs the other out. Last, a sibling
// subdomain's form posts to the app's logout: the edge applies nothing (logout CSRF).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { generationOf, ACCESS_COOKIE, REFRESH_COOKIE, startEdge, ORIGIN_SECRET } from "../../tools/harness.mjs";

const root = new URL("../..", import.meta.url).pathname;
const WINDOWS = { ROTATE_AFTER_SECS: "3", GRACE_SECS: "2", ACCESS_TTL_SECS: "2", RECOVERY_SECS: "60" };
const SCENARIO_MS = 20_000;
const TABS = 3;
const BURST_SIZES = [20, 35, 50];
const EDGE_COOKIES = [ACCESS_COOKIE, REFRESH_COOKIE];
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];
// Worker log events that a browser used normally must never cause.
const BAD_EVENTS = ["reuse_detected", "future_generation", "object_error", "object_timeout", "origin_error", "internal_error"];

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * `node demo/origin.mjs` on a free port, trusting the harness's ORIGIN_SECRET, calling
 * the admin API of the edge that will listen on `edgePort`.
 */
async function startDemo(edgePort) {
  const port = await freePort();
  const child = spawn(process.execPath, ["demo/origin.mjs"], {
    cwd: root,
    env: { ...process.env, DEMO_PORT: String(port), ORIGIN_SECRET, EDGE_URL: `http://127.0.0.1:${edgePort}`, ...WINDOWS },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr.on("data", (d) => { output += d; });
  await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => { output += d; if (output.includes("demo origin on")) resolve(); });
    child.once("exit", (code) => reject(new Error(`demo origin exited (${code}):\n${output}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  };
  return { url: `http://127.0.0.1:${port}`, stop, output: () => output };
}

let demo, edge, profile, context;
before(async () => {
  const edgePort = await freePort();
  demo = await startDemo(edgePort);
  edge = await startEdge({ ORIGIN_URL: demo.url, ...WINDOWS }, { port: edgePort });
  profile = mkdtempSync(join(tmpdir(), "edge-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS, baseURL: edge.url,
  });
});
after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await edge?.stop();
  await demo?.stop();
});

/** The edge's cookies in the browser's jar. */
const edgeCookies = async () => (await context.cookies(edge.url)).filter((c) => c.name === ACCESS_COOKIE || c.name === REFRESH_COOKIE);
const generation = (refresh) => generationOf(refresh.value);

/** What a page load shows: the session state of the logged-in page, or "login form". */
async function shown(page) {
  await page.waitForSelector("#fire, form[action='/login']");
  return (await page.$("#fire")) ? (await page.textContent(".state")).trim() : "login form";
}

/** The cookies exist with their `__Host-` attributes, and no script can read them. */
async function assertCookiesLocked(pages) {
  const byName = Object.fromEntries((await edgeCookies()).map((c) => [c.name, c]));
  for (const name of EDGE_COOKIES) {
    const c = byName[name];
    assert.ok(c, `${name} is in the browser's jar`);
    assert.equal(c.httpOnly, true, `${name} HttpOnly`);
    assert.equal(c.secure, true, `${name} Secure`);
    assert.equal(c.sameSite, "Lax", `${name} SameSite`);
    assert.equal(c.path, "/", `${name} Path`);
    assert.equal(c.domain, "127.0.0.1", `${name} is host-only (no Domain attribute)`);
  }
  assert.ok(byName[REFRESH_COOKIE].expires > Date.now() / 1000 + 86_400, "remember me: persistent refresh cookie");
  for (const page of pages) {
    const visible = await page.evaluate(() => document.cookie);
    assert.ok(!visible.includes(ACCESS_COOKIE) && !visible.includes(REFRESH_COOKIE), `document.cookie hides the edge cookies: ${JSON.stringify(visible)}`);
  }
}

/**
 * In the page: `n` parallel fetch('/api/whoami'). Each outcome is handed to Node
 * (window.__esRecord) as soon as it is read, so results read before a reload count too.
 * Resolves when all are in, or with `firstOnly` as soon as the first one is.
 */
function fireBurst({ id, n, firstOnly }) {
  const one = async () => {
    let result;
    try {
      const res = await fetch("/api/whoami", { cache: "no-store" });
      const text = await res.text();
      let body;
      try { body = JSON.parse(text); } catch { body = { raw: text.slice(0, 200) }; }
      result = { burst: id, status: res.status, ...body };
    } catch (e) {
      result = { burst: id, error: String(e) };
    }
    await window.__esRecord(result);
  };
  const all = Array.from({ length: n }, one);
  return firstOnly ? Promise.race(all) : Promise.all(all);
}

let pages;
const t0 = Date.now();
const received = []; // every whoami response read in a page, in arrival order
const failures = []; // fetches that threw (expected only for bursts cut by a reload)
const sent = new Map(); // burst id → { n, reloaded }
const loads = []; // { tab, shown } for every page load after a reload
let cancelled = 0; // whoami requests the browser reports failed (cut off by a reload)

test("login through the demo's form sets HttpOnly, Secure, host-only cookies that no script can read", async () => {
  await context.exposeFunction("__esRecord", (r) => (r.error ? failures : received).push({ ...r, at: Date.now() - t0 }));
  context.on("requestfailed", (req) => { if (req.url().endsWith("/api/whoami")) cancelled++; });
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto("/");
  assert.equal(await shown(page), "login form");
  await page.fill("input[name=username]", "alice");
  await page.check("input[name=remember]");
  await Promise.all([page.waitForEvent("load"), page.click("form[action='/login'] button")]);
  assert.equal(await shown(page), "fresh", "after login the demo shows the session page");
  assert.equal((await page.textContent("dl dd")).trim(), "alice");
  pages = [page];
  for (let i = 1; i < TABS; i++) {
    const tab = await context.newPage();
    await tab.goto("/");
    assert.notEqual(await shown(tab), "login form", `tab ${i} shares the session`);
    pages.push(tab);
  }
  await assertCookiesLocked(pages);
});

test("3 tabs, ~20 s of parallel bursts and mid-burst reloads across rotations: never unauthenticated", { timeout: 60_000 }, async () => {
  assert.ok(pages, "logged in");
  const firstGeneration = generation((await edgeCookies()).find((c) => c.name === REFRESH_COOKIE));
  const started = Date.now();
  const until = started + SCENARIO_MS;
  await Promise.all(pages.map(async (page, tab) => {
    for (let i = 0; Date.now() < until; i++) {
      const id = `${tab}.${i}`;
      const n = BURST_SIZES[(i + tab) % BURST_SIZES.length];
      const reload = i % 3 === 2;
      sent.set(id, { n, reloaded: reload });
      if (!reload) {
        await page.evaluate(fireBurst, { id, n });
        continue;
      }
      // Reload once the burst's first response is read: the rest are cut off unread
      // (Chromium runs 6 requests at a time per host, so most are still queued).
      await page.evaluate(fireBurst, { id, n, firstOnly: true });
      await page.reload();
      loads.push({ tab, shown: await shown(page) });
    }
  }));
  const seconds = (Date.now() - started) / 1000;

  const fmt = (x) => x.toLocaleString("en-US");
  const count = (list, key) => list.reduce((m, x) => ({ ...m, [x[key]]: (m[x[key]] ?? 0) + 1 }), {});
  const unauthenticated = received.filter((r) => r.status !== 200 || r.authenticated !== true || r.sub !== "alice");
  const states = count(received.filter((r) => r.authenticated), "state");
  const loadStates = count(loads, "shown");
  const rotations = (states.rotated ?? 0) + (loadStates.rotated ?? 0);
  const lastGeneration = generation((await edgeCookies()).find((c) => c.name === REFRESH_COOKIE));
  const requests = [...sent.values()].reduce((a, b) => a + b.n, 0);
  const cut = [...sent.values()].filter((b) => b.reloaded);
  const failedOutsideReloads = failures.filter((f) => !sent.get(f.burst).reloaded);
  const events = edge.events().filter((e) => BAD_EVENTS.includes(e.edge_session));
  const rejected = demo.output().split("\n").filter((l) => l.includes("assertion rejected"));

  console.log(`browser: ${fmt(received.length)} responses, ${unauthenticated.length} unauthenticated; ` +
    `states fresh/rotated/grace/recovered = ${["fresh", "rotated", "grace", "recovered"].map((s) => states[s] ?? 0).join("/")}; ` +
    `rotations seen ${rotations} (refresh generation ${firstGeneration}→${lastGeneration}); ` +
    `${cut.length} reloads mid-burst left ${fmt(requests - received.length)} of ${fmt(requests)} requests unread (${fmt(cancelled)} cancelled before their response), ` +
    `loads after reload: ${JSON.stringify(loadStates)}; ${seconds.toFixed(1)} s`);

  if (unauthenticated.length) {
    // The responses around each bad one, in arrival order, with their states.
    const around = unauthenticated.slice(0, 5).map((bad) => {
      const i = received.indexOf(bad);
      return received.slice(Math.max(0, i - 6), i + 4).map((r) =>
        `${r === bad ? ">>" : "  "} t=${r.at}ms burst ${r.burst} status ${r.status} ${r.authenticated ? r.state : JSON.stringify(r)}`).join("\n");
    }).join("\n--\n");
    assert.fail(`${unauthenticated.length} of ${received.length} responses unauthenticated:\n${around}\n` +
      `worker events: ${JSON.stringify(events)}`);
  }
  assert.ok(received.length > 300, `enough traffic (${received.length} responses)`);
  assert.deepEqual(failedOutsideReloads, [], "no fetch failed outside a burst cut by a reload");
  assert.ok(requests - received.length > 0, "reloads left some requests unread");
  assert.ok(rotations >= 2, `at least 2 rotations observed (saw ${rotations})`);
  assert.ok(loads.length > 0 && loads.every((l) => l.shown !== "login form"), `every reload shows the logged-in page: ${JSON.stringify(loads)}`);
  assert.deepEqual(events, [], "no reuse detection or errors in the worker's log");
  assert.deepEqual(rejected, [], "the demo rejected no assertion");
});

test("after the storm: cookies still locked down, the demo's own Fire 50 is 50/50, logout clears the cookies", async () => {
  assert.ok(pages, "logged in");
  // The access cookie lives 2 s here: a load hands out a fresh one, whenever the storm's
  // last response came.
  await pages[0].reload();
  await assertCookiesLocked(pages);
  const [page, other] = pages;
  await page.click("#fire");
  await page.waitForFunction(() => document.getElementById("last").textContent !== "—");
  assert.match(await page.textContent("#last"), /^50\/50 authenticated/);

  await Promise.all([page.waitForEvent("load"), page.click("form[action='/logout'] button")]);
  assert.equal(await shown(page), "login form", "logout lands on the login form");
  assert.deepEqual((await edgeCookies()).map((c) => c.name), [], "logout removed both cookies from the jar");
  await other.reload();
  assert.equal(await shown(other), "login form", "the other tabs are logged out too");
});

test("your devices: two browsers as one user; the first lists both and signs the other out", async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
  try {
    const [laptop, phone] = await Promise.all(["Laptop-Browser/1.0", "Phone-Browser/2.0"].map(async (userAgent) => {
      const page = await (await browser.newContext({ baseURL: edge.url, userAgent })).newPage();
      await page.goto("/");
      await page.fill("input[name=username]", "devices-user");
      await Promise.all([page.waitForEvent("load"), page.click("form[action='/login'] button")]);
      assert.equal(await shown(page), "fresh");
      return page;
    }));
    await laptop.reload();
    const rows = async (page) => page.$$eval("#devices tr[data-sid]", (trs) => trs.map((tr) => tr.textContent.replace(/\s+/g, " ").trim()));
    const listed = await rows(laptop);
    assert.equal(listed.length, 2, `both browsers listed: ${JSON.stringify(listed)}`);
    assert.ok(listed.some((r) => r.includes("Laptop-Browser/1.0") && r.includes("this device")), "this browser, marked");
    assert.ok(listed.some((r) => r.includes("Phone-Browser/2.0") && r.includes("Sign out")), "the other, with a sign-out button");

    await Promise.all([laptop.waitForEvent("load"), laptop.click("#sign-out-others")]);
    assert.deepEqual((await rows(laptop)).map((r) => r.includes("this device")), [true], "only this browser is left");
    // The phone's access cookie lives ACCESS_TTL_SECS (2 s here, stateless by design);
    // after it, the revoked family refuses the refresh cookie.
    await new Promise((r) => setTimeout(r, 2_500));
    await phone.reload();
    assert.equal(await shown(phone), "login form", "the other browser is signed out");
    await laptop.reload();
    assert.notEqual(await shown(laptop), "login form", "this browser is still signed in");
  } finally {
    await browser.close();
  }
});

test("a sibling subdomain's form cannot log the user out; the app's own logout button can", async () => {
  // `*.site.localhost` is one site that Chromium treats as secure, so the `__Host-`
  // cookies are set over plain HTTP: the app at app.site.localhost, an attacker's page on
  // evil.site.localhost. A same-site form POST carries the SameSite=Lax cookies.
  const app = `http://app.site.localhost:${edge.port}`;
  const evil = createHttpServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<form id="f" method="post" action="${app}/logout"><input name="x" value="1"></form><script>f.submit()</script>`);
  });
  await new Promise((r) => evil.listen(0, "127.0.0.1", r));
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app}/`);
    await page.fill("input[name=username]", "sibling-victim");
    await Promise.all([page.waitForEvent("load"), page.click("form[action='/login'] button")]);
    assert.equal(await shown(page), "fresh");
    const before = (await context.cookies(app)).filter((c) => EDGE_COOKIES.includes(c.name)).map((c) => c.value).sort();
    assert.equal(before.length, 2, "signed in at app.site.localhost");

    const attack = await context.newPage();
    const rejected = edge.events().filter((e) => e.edge_session === "directive_rejected").length;
    await Promise.all([attack.waitForURL(`${app}/`), attack.goto(`http://evil.site.localhost:${evil.address().port}/`)]);
    const after = (await context.cookies(app)).filter((c) => EDGE_COOKIES.includes(c.name)).map((c) => c.value).sort();
    assert.deepEqual(after, before, "the sibling's logout cleared nothing");
    await page.reload();
    assert.equal((await page.textContent("dl dd")).trim(), "sibling-victim", "still signed in");
    const event = edge.events().filter((e) => e.edge_session === "directive_rejected").slice(rejected)[0];
    assert.deepEqual([event?.reason, event?.sec_fetch_site], ["cross_site", "same-site"], "Chromium said same-site, and the edge refused it");

    await Promise.all([page.waitForEvent("load"), page.click("form[action='/logout'] button")]);
    assert.equal(await shown(page), "login form", "the app's own button logs out");
    assert.deepEqual((await context.cookies(app)).filter((c) => EDGE_COOKIES.includes(c.name)), []);
  } finally {
    await browser.close();
    evil.close();
  }
});

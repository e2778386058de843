// The dev loop the docs give for your own app: `npm run dev -- --origin URL` (scripts/dev.sh)
// in front of an app it did not start. The banner must be true: the secret it prints is
// the one the worker uses (an app given it gets logged in), the EDGE_URL follows --port,
// and stopping the script stops the worker. Served from the build npm test just made
// (EDGE_SESSION_PREBUILT=1), as every e2e test is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { freePort, root, sleep, startApp } from "../../tools/harness.mjs";

/** Waits until `pattern` is in the growing `read()` output, or fails with it. */
async function waitFor(read, pattern, ms, what) {
  const deadline = Date.now() + ms;
  while (!pattern.test(read())) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms:\n${read()}`);
    await sleep(200);
  }
  return pattern.exec(read());
}

const cookiesOf = (res) => res.headers.getSetCookie().map((c) => c.split(";")[0]).filter((c) => !c.endsWith("="));

test("npm run dev -- --origin: a truthful banner, an app given its lines signs in, and it stops cleanly", { timeout: 240_000 }, async () => {
  const [appPort, edgePort, inspector] = [await freePort(), await freePort(), await freePort()];
  const dev = spawn("bash", ["scripts/dev.sh", "--origin", `http://127.0.0.1:${appPort}`,
    "--port", String(edgePort), "--inspector-port", String(inspector)], {
    cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, EDGE_SESSION_PREBUILT: "1" },
  });
  let output = "";
  dev.stdout.on("data", (d) => { output += d; });
  dev.stderr.on("data", (d) => { output += d; });
  let app;
  try {
    const opened = await waitFor(() => output, /dev: open (\S+)\s+\(edge-session, in front of (.*)\)/, 180_000, "banner");
    assert.equal(opened[1], `http://127.0.0.1:${edgePort}`);
    assert.equal(opened[2], `your app at http://127.0.0.1:${appPort}`);
    const secret = /export ORIGIN_SECRET=(\S+)/.exec(output)?.[1];
    const edgeUrl = /export EDGE_URL=(\S+)/.exec(output)?.[1];
    assert.equal(edgeUrl, `http://127.0.0.1:${edgePort}`, "EDGE_URL follows --port");
    // The oracle is the file the worker reads, not the script's own parsing of it.
    const devVars = readFileSync(join(root, ".dev.vars"), "utf8");
    assert.ok(devVars.includes(`ORIGIN_SECRET="${secret}"`) || devVars.includes(`ORIGIN_SECRET=${secret}\n`),
      "the banner's secret is the one in .dev.vars");
    assert.equal(statSync(join(root, ".dev.vars")).mode & 0o077, 0, ".dev.vars is private");

    // An app the script did not start, given exactly the banner's lines.
    app = await startApp(process.execPath, ["express.mjs"], {
      cwd: join(root, "examples/node"), ready: "express app on", port: appPort,
      env: { PORT: String(appPort), ORIGIN_SECRET: secret, EDGE_URL: edgeUrl },
    });
    const edge = `http://127.0.0.1:${edgePort}`;
    assert.equal((await fetch(`${edge}/api/me`)).status, 401);
    const login = await fetch(`${edge}/login`, {
      method: "POST", redirect: "manual", body: new URLSearchParams({ username: "ada" }),
    });
    const jar = cookiesOf(login);
    assert.equal(jar.length, 2, `the login directive was accepted: ${login.status} ${await login.text()}`);
    const me = await fetch(`${edge}/api/me`, { headers: { cookie: jar.join("; ") } });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).sub, "ada");
    const devices = await fetch(`${edge}/api/devices`, { headers: { cookie: jar.join("; ") } });
    assert.equal(devices.status, 200, "the app reaches the admin API at the banner's EDGE_URL");
  } finally {
    await app?.stop();
    process.kill(-dev.pid, "SIGTERM");
  }
  // Ctrl-C or a kill ends the whole loop: wrangler and workerd with it.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try { await fetch(`http://127.0.0.1:${edgePort}/__edge/health`); } catch { return; }
    await sleep(200);
  }
  assert.fail(`the worker still answers on ${edgePort} after the dev script was stopped`);
});

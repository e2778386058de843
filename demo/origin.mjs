// Demo origin for edge-session (`npm run dev` starts it behind the worker).
// Open the worker (http://127.0.0.1:8787), not this server: the worker owns the
// cookies and tells this origin who the user is with a signed X-Edge-Assertion.
// Node 20, ES module; only node: built-ins and `jose`.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { SignJWT, jwtVerify } from "jose";

const PORT = Number(process.env.DEMO_PORT || 8788);
// Where this origin reaches the edge's admin API ("your devices"). In production that is
// the app's own public URL; `npm run dev` passes the local worker's.
const EDGE_URL = process.env.EDGE_URL;

// ORIGIN_SECRET: `kid:secret[,kid:secret]`, from the environment or the repo's .dev.vars
// (where `npm run dev` generated it). The first key signs; the HMAC key is the UTF-8
// bytes of the secret text as written.
function originSecret() {
  if (process.env.ORIGIN_SECRET) return process.env.ORIGIN_SECRET;
  const file = new URL("../.dev.vars", import.meta.url);
  const line = readFileSync(file, "utf8").split("\n").find((l) => /^\s*ORIGIN_SECRET\s*=/.test(l));
  if (!line) throw new Error("ORIGIN_SECRET is neither in the environment nor in .dev.vars");
  return line.slice(line.indexOf("=") + 1).trim().replace(/^(["'])(.*)\1$/, "$2");
}
const keys = originSecret().split(",").map((pair) => {
  const i = pair.indexOf(":");
  return { kid: pair.slice(0, i).trim(), key: new TextEncoder().encode(pair.slice(i + 1).trim()) };
});
const signingKey = keys[0];

// The identity of a request. Only the signed assertion is trusted: the plain
// X-Edge-User / X-Edge-Session headers carry no proof, and this port is reachable
// without going through the edge, so anyone could send them. The edge strips inbound
// X-Edge-* headers, but only the signature proves a request actually passed the edge.
async function identify(req) {
  const token = req.headers["x-edge-assertion"];
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, ({ kid }) => (keys.find((k) => k.kid === kid) ?? signingKey).key, {
      algorithms: ["HS256"], audience: "origin", issuer: "edge-session", typ: "JWT",
    });
    return payload; // { sub, sid, state, iat, exp, jti, ctx? }
  } catch (e) {
    console.warn(`demo: assertion rejected: ${e.code ?? e.message}`);
    return null;
  }
}

// Directives to the edge: typed, addressed to "edge-session", short-lived (docs/design.md §4).
function directive(typ, claims, lifetime = 120) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ aud: "edge-session", ...claims })
    .setProtectedHeader({ alg: "HS256", typ, kid: signingKey.kid })
    .setIssuedAt(now).setExpirationTime(now + lifetime).sign(signingKey.key);
}

// The edge's admin API, server to server: every parameter is a claim of a 60 s token.
async function admin(claims) {
  if (!EDGE_URL) return { error: "EDGE_URL is not set: the demo cannot list devices" };
  const token = await directive("edge-admin+jwt", { jti: randomBytes(12).toString("base64url"), ...claims }, 60);
  try {
    const res = await fetch(new URL("/__edge/admin", EDGE_URL), {
      method: "POST", headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000),
    });
    return await res.json();
  } catch (e) {
    return { error: `edge unreachable (${e.message})` }; // the page still renders
  }
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const NO_STORE = { "cache-control": "no-store" };

function send(res, status, body, headers = {}) {
  const type = typeof body === "string" ? "text/html; charset=utf-8" : "application/json";
  res.writeHead(status, { "content-type": type, ...NO_STORE, ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

async function readForm(req) {
  let body = "";
  req.setEncoding("utf8");
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 4096) throw new Error("form too large");
  }
  return new URLSearchParams(body);
}

const server = createServer(async (req, res) => {
  try {
    const path = new URL(req.url, "http://origin").pathname;
    const who = await identify(req);
    if (req.method === "GET" && path === "/") return send(res, 200, page(who, who && await admin({ sub: who.sub, act: "list" })));
    if (path === "/favicon.ico") return send(res, 204, "", { "cache-control": "max-age=86400" });
    if (req.method === "GET" && path === "/api/whoami") {
      return send(res, 200, who
        ? { authenticated: true, sub: who.sub, sid: who.sid, state: who.state }
        : { authenticated: false, sub: null, sid: null, state: null });
    }
    if (req.method === "POST" && path === "/login") {
      const form = await readForm(req);
      const sub = (form.get("username") ?? "").trim();
      if (!sub || sub.length > 64 || /\p{Cc}/u.test(sub)) {
        return send(res, 400, shell("Login refused", `<p>Please enter a username (1–64 characters).</p><p><a href="/">Back</a></p>`));
      }
      // A directive answers this request only: it echoes the request's X-Edge-Nonce.
      const nonce = req.headers["x-edge-nonce"];
      const login = await directive("edge-login+jwt", { sub, remember: form.get("remember") === "on", nonce });
      return send(res, 303, "", { location: "/", "x-edge-login": login });
    }
    // Signing devices out is a POST: the edge's cookies are SameSite=Lax, so no other
    // site can make a browser send one with its session.
    if (req.method === "POST" && path === "/devices/revoke" && who) {
      const sid = (await readForm(req)).get("sid") ?? "";
      await admin({ sub: who.sub, act: "revoke", sid });
      return send(res, 303, "", { location: "/" });
    }
    if (req.method === "POST" && path === "/devices/sign-out-others" && who) {
      await admin({ sub: who.sub, act: "revoke_all", except: who.sid });
      return send(res, 303, "", { location: "/" });
    }
    if (req.method === "POST" && path === "/logout") {
      const logout = await directive("edge-logout+jwt", { scope: "session", nonce: req.headers["x-edge-nonce"] });
      return send(res, 303, "", { location: "/", "x-edge-logout": logout });
    }
    send(res, 404, shell("Not found", `<p>Nothing at ${esc(path)}. <a href="/">Home</a></p>`));
  } catch (e) {
    console.error("demo:", e);
    if (!res.headersSent) send(res, 400, shell("Bad request", `<p>${esc(e.message)}</p>`));
  }
});

// Windows in force: dev.sh passes the same values to the worker and to this process.
const env = (name, dflt) => process.env[name] ?? dflt;
const windows = `rotate after ${env("ROTATE_AFTER_SECS", 900)} s · grace ${env("GRACE_SECS", 30)} s · ` +
  `recovery ${env("RECOVERY_SECS", 1800)} s · access cookie ${env("ACCESS_TTL_SECS", 60)} s`;

function shell(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)} · edge-session demo</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  main { max-width: 42rem; margin: 2rem auto; padding: 1.5rem 2rem; background: #fff; border-radius: 10px; box-shadow: 0 1px 4px #0002; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; } h1 span { color: #6b7385; font-weight: normal; }
  dl { display: grid; grid-template-columns: 8rem 1fr; gap: .25rem 1rem; margin: 0 0 1rem; }
  dt { color: #6b7385; } dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
  button, input[type=text] { font: inherit; padding: .4rem .8rem; border-radius: 6px; border: 1px solid #c5cad3; }
  button { background: #2456d3; color: #fff; border-color: #2456d3; cursor: pointer; }
  button.plain { background: #fff; color: #1d2330; border-color: #c5cad3; }
  .row { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; margin: .75rem 0; }
  .result { font-weight: 600; } .ok { color: #17803d; } .bad { color: #b42318; }
  .state { display: inline-block; padding: 0 .4rem; border-radius: 4px; background: #e8edfb; font-family: ui-monospace, monospace; }
  #log { font: 12px/1.5 ui-monospace, monospace; background: #f7f8fa; border: 1px solid #e3e6eb; border-radius: 6px; padding: .5rem; height: 9rem; overflow-y: auto; white-space: pre; }
  small { color: #6b7385; display: block; margin-top: 1rem; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; } th { text-align: left; color: #6b7385; font-weight: normal; }
  td, th { padding: .2rem .4rem; border-bottom: 1px solid #e3e6eb; } td form { margin: 0; }
</style></head><body><main><h1>edge-session <span>demo origin</span></h1>${body}</main></body></html>`;
}

/** "Your devices": the user's sessions as the edge lists them, this one marked. */
function devices(who, listed) {
  if (!listed?.sessions) return `<p>Devices unavailable: ${esc(listed?.error ?? "no answer")}</p>`;
  const time = (secs) => new Date(secs * 1000).toLocaleTimeString("en-GB");
  const rows = listed.sessions.map((s) => `<tr data-sid="${esc(s.sid)}">
  <td>${esc(s.user_agent ?? "unknown device")}${s.country ? ` · ${esc(s.country)}` : ""}</td>
  <td>${time(s.created_at)}</td><td>${time(s.last_seen)}</td>
  <td>${s.sid === who.sid ? "<b>this device</b>" : `<form method="post" action="/devices/revoke">
    <input type="hidden" name="sid" value="${esc(s.sid)}"><button class="plain" type="submit">Sign out</button></form>`}</td></tr>`);
  return `<h2 style="font-size:1.05rem">Your devices</h2>
<table id="devices"><tr><th>device</th><th>signed in</th><th>last seen</th><th></th></tr>${rows.join("")}</table>
<form method="post" action="/devices/sign-out-others" class="row"><button class="plain" id="sign-out-others" type="submit">Sign out all other devices</button></form>`;
}

function page(who, listed) {
  if (!who) {
    return shell("Log in", `<p>You are anonymous. Log in: this origin answers with an
<code>X-Edge-Login</code> directive and the edge sets the session cookies.</p>
<form method="post" action="/login" class="row">
  <input type="text" name="username" placeholder="username" autofocus required>
  <label><input type="checkbox" name="remember"> remember me</label>
  <button type="submit">Log in</button>
</form><small>${esc(windows)}</small>`);
  }
  return shell("Session", `<p>Verified <code>X-Edge-Assertion</code> of this page load:</p>
<dl>
  <dt>user (sub)</dt><dd>${esc(who.sub)}</dd>
  <dt>session (sid)</dt><dd>${esc(who.sid)}</dd>
  <dt>state</dt><dd><span class="state">${esc(who.state)}</span></dd>
  <dt>assertion exp</dt><dd>${new Date(who.exp * 1000).toLocaleTimeString("en-GB")} (${esc(who.exp)})</dd>
</dl>
<div class="row">
  <button id="fire">Fire 50 parallel requests</button>
  <label><input type="checkbox" id="auto"> auto (a burst every second)</label>
  <form method="post" action="/logout" style="margin-left:auto"><button class="plain" type="submit">Log out</button></form>
</div>
<p>Last burst: <span id="last" class="result">—</span><br>Total: <span id="total" class="result">—</span></p>
<p style="margin-bottom:.25rem">Bursts that saw a rotation (or a failure):</p>
<div id="log"></div>
${devices(who, listed)}
<small>Each burst is 50 simultaneous <code>fetch('/api/whoami')</code>; the origin reports the
state from the verified assertion. <b>fresh</b>: no rotation (access cookie or object);
<b>rotated</b>: this request rotated the refresh cookie; <b>grace</b>: it raced the rotation with
the previous cookie and was answered as the same user. Windows: ${esc(windows)}.</small>
<script>
const tally = { sent: 0, ok: 0, states: {} };
let busy = false, bursts = 0;
const ORDER = ["fresh", "rotated", "grace", "recovered", "anonymous", "error"];
const fmt = (ok, n, states) => ok + "/" + n + " authenticated — " + (Object.entries(states)
  .sort(([a], [b]) => ORDER.indexOf(a) - ORDER.indexOf(b)).map(([s, c]) => s + " " + c).join(", ") || "none");
function log(line) {
  const el = document.getElementById("log");
  el.textContent += new Date().toLocaleTimeString("en-GB") + "  " + line + "\\n";
  el.scrollTop = el.scrollHeight;
}
async function burst() {
  if (busy) return;
  busy = true; bursts++;
  const results = await Promise.all(Array.from({ length: 50 }, () =>
    fetch("/api/whoami", { cache: "no-store" }).then((r) => r.json()).catch(() => ({ authenticated: false, state: "error" }))));
  const states = {}; let ok = 0;
  for (const r of results) {
    const s = r.authenticated ? r.state : (r.state || "anonymous");
    if (r.authenticated) ok++;
    states[s] = (states[s] || 0) + 1;
    tally.states[s] = (tally.states[s] || 0) + 1;
  }
  tally.sent += 50; tally.ok += ok;
  const last = document.getElementById("last");
  last.textContent = fmt(ok, 50, states);
  last.className = "result " + (ok === 50 ? "ok" : "bad");
  const total = document.getElementById("total");
  total.textContent = fmt(tally.ok, tally.sent, tally.states) + " (" + bursts + " bursts)";
  total.className = "result " + (tally.ok === tally.sent ? "ok" : "bad");
  if (ok < 50 || Object.keys(states).some((s) => s !== "fresh")) log("burst " + bursts + ": " + fmt(ok, 50, states));
  busy = false;
}
document.getElementById("fire").onclick = burst;
let timer;
document.getElementById("auto").onchange = (e) => {
  clearInterval(timer);
  if (e.target.checked) timer = setInterval(burst, 1000);
};
</script>`);
}

server.on("error", (e) => {
  console.error(`demo origin: cannot listen on 127.0.0.1:${PORT} (${e.code}); set DEMO_PORT to another port`);
  process.exit(1);
});
server.listen(PORT, "127.0.0.1", () => console.log(`demo origin on http://127.0.0.1:${PORT} (open the worker, not this)`));

// An Express app behind edge-session, written as an Express user would: the middleware
// once, `requireUser()` on the routes that need someone, `req.edge` in the handlers.
//
// Mid-migration: it still accepts its own (legacy) express-session, and the first request
// that carries one without an edge identity is answered with a login directive for that
// user. From then on it is an edge session.
import express from "express";
import session from "express-session";
import { AssertionRefused, EdgeSession } from "edge-session-origin";
import { edgeSession, requireRecentAuth, requireUser } from "edge-session-origin/express";

const LEGACY_COOKIE = "connect.sid"; // express-session's default name
// Signing other devices out asks for a sign-in this recent (seconds; 10 minutes).
const RECENT_AUTH_SECS = Number(process.env.RECENT_AUTH_SECS ?? 600);
const edge = new EdgeSession(); // ORIGIN_SECRET, EDGE_URL, EVENTS_SECRET from the environment
const app = express();
app.use(express.urlencoded({ extended: false }));
// How this app kept users logged in before edge-session. The store keeps sessions
// server-side (MemoryStore here; a shared store such as Redis in production), so ending
// one below revokes it: a copied cookie is worth nothing from then on.
app.use(session({
  name: LEGACY_COOKIE,
  secret: process.env.SESSION_SECRET ?? "dev-only-not-secret",
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: "lax" },
}));
app.use(edgeSession(edge));

// The bridge, on every request but logout (whose directive ends the session: a login
// beside it would undo that). A legacy session without an edge identity is logged in at
// the edge by this response, and ended in this same response: the login directive and
// the cleared cookie travel together, so a lost response loses neither. It is ended too
// once the edge identifies the browser, or when the edge refused the edge cookie beside
// it (that jar was logged out, revoked or copied). It is kept only when the request did
// not come through the edge. Remove this, and /legacy-login, once your users have moved.
app.use(async (req, res, next) => {
  req.legacyUser = req.session.userId ?? null;
  if (req.legacyUser === null || req.path === "/logout") return next();
  const adopted = await req.edge.adopt(req.legacyUser);
  if (adopted || req.edge.user || req.edge.refusal !== null) await endLegacySession(req, res);
  next();
});

/** Ends the legacy session: deleted from the store, and its cookie cleared in this response. */
function endLegacySession(req, res) {
  return new Promise((resolve, reject) => {
    req.session.destroy((error) => {
      if (error) return reject(error);
      res.clearCookie(LEGACY_COOKIE, { httpOnly: true, sameSite: "lax" });
      resolve();
    });
  });
}

app.get("/", (req, res) => res.json({ framework: "express", user: req.edge.user, legacy: req.legacyUser }));

// How this app logged users in before edge-session: its own session, no edge.
app.post("/legacy-login", (req, res, next) => {
  req.session.regenerate((error) => { // a fresh id at login: no session fixation
    if (error) return next(error);
    req.session.userId = req.body.username;
    res.redirect(303, "/");
  });
});

app.post("/login", async (req, res) => {
  // … after checking the password:
  await req.edge.login(req.body.username, { remember: req.body.remember === "on", amr: ["pwd"] });
  res.redirect(303, "/");
});

app.post("/logout", async (req, res) => {
  await req.edge.logout();
  // Else the bridge would log the legacy user straight back in.
  if (req.legacyUser !== null) await endLegacySession(req, res);
  res.redirect(303, "/");
});

app.get("/api/me", requireUser(), (req, res) => res.json({ framework: "express", ...req.edge.user }));

app.get("/account", requireUser({ mode: "page", loginUrl: "/login" }), (req, res) => {
  res.type("text").send(`Account of ${req.edge.user.sub}`);
});

app.get("/api/devices", requireUser(), async (req, res) => {
  res.json({ current: req.edge.user.sid, sessions: await edge.listSessions(req.edge.user.sub) });
});

app.post("/api/devices/revoke", requireRecentAuth(RECENT_AUTH_SECS), async (req, res) => {
  res.json(await edge.revokeSession(req.edge.user.sub, req.body.sid));
});

app.post("/api/devices/sign-out-others", requireRecentAuth(RECENT_AUTH_SECS), async (req, res) => {
  res.json(await edge.revokeAll(req.edge.user.sub, { except: req.edge.user.sid }));
});

// "Confirm it's you": where a sensitive action sends a user whose sign-in is not recent.
// After checking the password again, the step-up moves this session's auth_time to now.
// This example has no passwords: check one here, or anyone holding the session (a
// copied cookie jar too) makes itself recent.
app.post("/confirm", requireUser(), async (req, res) => {
  await req.edge.stepUp({ amr: ["pwd"] });
  res.redirect(303, "/");
});

// Security events: the edge POSTs each one here (its EVENTS_URL), signed with
// EVENTS_SECRET, at least once. Both stores are in memory for the example only: in
// production they live in the database the app's instances share (a unique jti column).
const DAY_MS = 86_400_000;
const seenEvents = new Map(); // jti → when it came: a redelivery has the same jti, for up to a day
const notices = new Map(); // sub → [{ jti, type, text, sid, time }], newest first
// A test knob for "a receiver that is down for a while": the first n deliveries get a 503
// unread, and the edge retries them (2 s, 5 s, 10 s, …).
let failFirst = Number(process.env.EVENTS_FAIL_FIRST ?? 0);

/** The notice an event becomes, or null (session.revoked: the user or the app asked for it). */
function noticeOf({ type, device }) {
  const where = `${device.browser ?? "unknown"} on ${device.os ?? "unknown"}, ${device.country ?? "unknown"}`;
  if (type === "session.created") return `New sign-in: ${where}`;
  if (["session.reuse_detected", "session.copied_jar", "session.context_changed"].includes(type)) {
    return `Was this you? ${type} from ${where}`;
  }
  return null; // and a type this app does not know (a later edge may add some)
}

app.post("/events", express.text({ type: "application/jwt" }), async (req, res) => {
  if (failFirst > 0) {
    failFirst -= 1;
    return res.status(503).end();
  }
  let event;
  try {
    event = await edge.parseEvent(req.body);
  } catch (e) {
    return res.status(e instanceof AssertionRefused ? 401 : 500).end();
  }
  for (const [jti, at] of seenEvents) if (at < Date.now() - DAY_MS) seenEvents.delete(jti);
  if (seenEvents.has(event.jti)) return res.status(204).end(); // a duplicate: dropped
  seenEvents.set(event.jti, Date.now());
  const text = noticeOf(event);
  if (text !== null) {
    const list = [{ jti: event.jti, type: event.type, text, sid: event.sid, time: event.time }, ...(notices.get(event.sub) ?? [])];
    // Newest first by the event's time (a retried one can arrive late); 50 per user.
    notices.set(event.sub, list.sort((a, b) => b.time - a.time).slice(0, 50));
  }
  res.status(204).end(); // a 2xx, or the edge retries
});

app.get("/api/notices", requireUser(), (req, res) => res.json(notices.get(req.edge.user.sub) ?? []));

const server = app.listen(Number(process.env.PORT ?? 8791), "127.0.0.1", () => {
  console.log(`express app on ${server.address().port}`);
});

// An Express app behind edge-session, written as an Express user would: the middleware
// once, `requireUser()` on the routes that need someone, `req.edge` in the handlers.
//
// Mid-migration: it still accepts its own (legacy) express-session, and the first request
// that carries one without an edge identity is answered with a login directive for that
// user. From then on it is an edge session.
import express from "express";
import session from "express-session";
import { EdgeSession } from "edge-session-origin";
import { edgeSession, requireUser } from "edge-session-origin/express";

const LEGACY_COOKIE = "connect.sid"; // express-session's default name
const edge = new EdgeSession(); // ORIGIN_SECRET, EDGE_URL from the environment
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
  await req.edge.login(req.body.username, { remember: req.body.remember === "on" });
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

app.post("/api/devices/revoke", requireUser(), async (req, res) => {
  res.json(await edge.revokeSession(req.edge.user.sub, req.body.sid));
});

app.post("/api/devices/sign-out-others", requireUser(), async (req, res) => {
  res.json(await edge.revokeAll(req.edge.user.sub, { except: req.edge.user.sid }));
});

const server = app.listen(Number(process.env.PORT ?? 8791), "127.0.0.1", () => {
  console.log(`express app on ${server.address().port}`);
});

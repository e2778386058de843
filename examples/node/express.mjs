// An Express app behind edge-session, written as an Express user would: the middleware
// once, `requireUser()` on the routes that need someone, `req.edge` in the handlers.
import express from "express";
import { EdgeSession } from "edge-session-origin";
import { edgeSession, requireUser } from "edge-session-origin/express";

const edge = new EdgeSession(); // ORIGIN_SECRET, EDGE_URL from the environment
const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(edgeSession(edge));

app.get("/", (req, res) => res.json({ framework: "express", user: req.edge.user }));

app.post("/login", async (req, res) => {
  await req.edge.login(req.body.username, { remember: req.body.remember === "on" });
  res.redirect(303, "/");
});

app.post("/logout", async (req, res) => {
  await req.edge.logout();
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

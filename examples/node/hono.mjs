// A Hono app (Node server) behind edge-session, written as a Hono user would.
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import { EdgeSession } from "edge-session-origin";
import { edgeSession, requireRecentAuth, requireUser } from "edge-session-origin/hono";

// Signing other devices out asks for a sign-in this recent (seconds; 10 minutes).
const RECENT_AUTH_SECS = Number(process.env.RECENT_AUTH_SECS ?? 600);

const edge = new EdgeSession();
const app = new Hono();
app.use(edgeSession(edge));

app.get("/", (c) => c.json({ framework: "hono", user: c.var.edge.user }));

app.post("/login", async (c) => {
  const form = await c.req.parseBody();
  await c.var.edge.login(String(form.username ?? ""), { remember: form.remember === "on", amr: ["pwd"] });
  return c.redirect("/", 303);
});

app.post("/logout", async (c) => {
  await c.var.edge.logout();
  return c.redirect("/", 303);
});

app.get("/api/me", requireUser(), (c) => c.json({ framework: "hono", ...c.var.edge.user }));

app.get("/account", requireUser({ mode: "page", loginUrl: "/login" }), (c) => c.text(`Account of ${c.var.edge.user.sub}`));

app.get("/api/devices", requireUser(), async (c) => {
  const { sub, sid } = c.var.edge.user;
  return c.json({ current: sid, sessions: await edge.listSessions(sub) });
});

app.post("/api/devices/revoke", requireRecentAuth(RECENT_AUTH_SECS), async (c) => {
  const form = await c.req.parseBody();
  return c.json(await edge.revokeSession(c.var.edge.user.sub, String(form.sid)));
});

app.post("/api/devices/sign-out-others", requireRecentAuth(RECENT_AUTH_SECS), async (c) => {
  const { sub, sid } = c.var.edge.user;
  return c.json(await edge.revokeAll(sub, { except: sid }));
});

// "Confirm it's you": after checking the password again, a step-up moves auth_time to now.
// This example has no passwords: check one here, or anyone holding the session (a
// copied cookie jar too) makes itself recent.
app.post("/confirm", requireUser(), async (c) => {
  await c.var.edge.stepUp({ amr: ["pwd"] });
  return c.redirect("/", 303);
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 8792), hostname: "127.0.0.1" }, (info) => {
  console.log(`hono app on ${info.port}`);
});

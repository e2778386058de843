// A Fastify app behind edge-session, written as a Fastify user would.
import Fastify from "fastify";
import formbody from "@fastify/formbody";
import { EdgeSession } from "edge-session-origin";
import { edgeSession, requireRecentAuth, requireUser } from "edge-session-origin/fastify";

// Signing other devices out asks for a sign-in this recent (seconds; 10 minutes).
const RECENT_AUTH_SECS = Number(process.env.RECENT_AUTH_SECS ?? 600);

const edge = new EdgeSession();
const app = Fastify();
await app.register(formbody);
await app.register(edgeSession, { edge });

app.get("/", async (request) => ({ framework: "fastify", user: request.edge.user }));

app.post("/login", async (request, reply) => {
  await request.edge.login(request.body.username, { remember: request.body.remember === "on", amr: ["pwd"] });
  return reply.redirect("/", 303);
});

app.post("/logout", async (request, reply) => {
  await request.edge.logout();
  return reply.redirect("/", 303);
});

app.get("/api/me", { preHandler: requireUser() }, async (request) => ({ framework: "fastify", ...request.edge.user }));

app.get("/account", { preHandler: requireUser({ mode: "page", loginUrl: "/login" }) }, async (request, reply) => {
  return reply.type("text/plain").send(`Account of ${request.edge.user.sub}`);
});

app.get("/api/devices", { preHandler: requireUser() }, async (request) => {
  const { sub, sid } = request.edge.user;
  return { current: sid, sessions: await edge.listSessions(sub) };
});

app.post("/api/devices/revoke", { preHandler: requireRecentAuth(RECENT_AUTH_SECS) }, async (request) => {
  return edge.revokeSession(request.edge.user.sub, request.body.sid);
});

app.post("/api/devices/sign-out-others", { preHandler: requireRecentAuth(RECENT_AUTH_SECS) }, async (request) => {
  const { sub, sid } = request.edge.user;
  return edge.revokeAll(sub, { except: sid });
});

// "Confirm it's you": after checking the password again, a step-up moves auth_time to now.
// This example has no passwords: check one here, or anyone holding the session (a
// copied cookie jar too) makes itself recent.
app.post("/confirm", { preHandler: requireUser() }, async (request, reply) => {
  await request.edge.stepUp({ amr: ["pwd"] });
  return reply.redirect("/", 303);
});

const address = await app.listen({ port: Number(process.env.PORT ?? 8793), host: "127.0.0.1" });
console.log(`fastify app on ${new URL(address).port}`);

// Compiled (not run) by `npm run typecheck` in npm test: the package's types, used the
// way the apps in this folder use them, must check under `strict`.
import express from "express";
import { Hono } from "hono";
import Fastify from "fastify";
import { EdgeSession, decodeUser, type Identity, type Refusal, type SessionInfo } from "edge-session-origin";
import * as ex from "edge-session-origin/express";
import * as hn from "edge-session-origin/hono";
import * as fy from "edge-session-origin/fastify";

const edge = new EdgeSession({ secret: "o1:0123456789abcdef0123456789abcdef", edgeUrl: "https://app.example" });
const atTestTime = new EdgeSession({ secret: "o1:0123456789abcdef0123456789abcdef", clock: () => 1_700_000_000 });

const app = express();
app.use(ex.edgeSession(edge));
app.get("/api/me", ex.requireUser(), (req, res) => {
  const user: Identity | null = req.edge.user;
  res.json({ sub: user?.sub, state: user?.state });
});
app.post("/login", async (req, res) => {
  await req.edge.login("ada", { remember: true, ctx: { plan: "pro" } });
  res.redirect(303, "/");
});

const hono = new Hono<hn.EdgeEnv>();
hono.use(hn.edgeSession(edge));
hono.get("/api/me", hn.requireUser({ mode: "api" }), (c) => c.json({ sid: c.var.edge.user?.sid ?? null }));

const fastify = Fastify();
await fastify.register(fy.edgeSession, { edge });
fastify.get("/api/me", { preHandler: fy.requireUser({ mode: "page", loginUrl: "/login" }) }, async (request) => {
  const adopted: boolean = await request.edge.adopt("legacy-user");
  const refusal: Refusal | string | null = request.edge.refusal;
  return { adopted, refusal, user: request.edge.user };
});

const sessions: SessionInfo[] = await edge.listSessions("ada");
const revoked: { revoked: number; pending: number } = await edge.revokeAll("ada", { except: sessions[0]?.sid });
const sub: string | null = decodeUser("zo%C3%AB");
const claims: Record<string, unknown> = await atTestTime.verifyAssertion("a.b.c").catch(() => ({}));
void [revoked, sub, claims];

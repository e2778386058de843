// A minimal Node origin behind edge-session, using the kit (same routes as the Python one).
// EDGE_URL is where the admin API is reached: in production the app's own public URL.
import { createServer } from "node:http";
import { parseKeys, verifyAssertion, loginDirective, logoutDirective, adminCall, decodeUser } from "./edge-session.mjs";

const keys = parseKeys(process.env.ORIGIN_SECRET);
const edgeUrl = process.env.EDGE_URL;

// GET /devices lists this user's sessions; POST /devices/sign-out-others revokes all but
// this one. POST, because the edge's cookies are SameSite=Lax: a cross-site POST carries
// none, so another site cannot trigger it.
async function devices(url, claims) {
  if (!claims) return [401, { kit: "node", error: "not signed in" }];
  if (!edgeUrl) return [500, { kit: "node", error: "EDGE_URL is not set" }];
  const { sub, sid } = claims; // sid: this request's session, as the edge lists it
  if (url === "/devices") {
    const { status, body } = await adminCall(edgeUrl, sub, "list", keys);
    return status === 200 ? [200, { kit: "node", current: sid, devices: body.sessions.map((s) => s.sid) }] : [502, { kit: "node", error: body.error }];
  }
  const { status, body } = await adminCall(edgeUrl, sub, "revoke_all", keys, { except: sid });
  return status === 200 ? [200, { kit: "node", revoked: body.revoked }] : [502, { kit: "node", error: body.error }];
}

const server = createServer(async (req, res) => {
  // Trust only the verified assertion: the origin may be reachable around the edge.
  const claims = await verifyAssertion(req.headers["x-edge-assertion"], keys);
  const headers = { "content-type": "application/json", "cache-control": "no-store" };
  const nonce = req.headers["x-edge-nonce"]; // directives answer this request only
  if (req.url.startsWith("/login?")) headers["X-Edge-Login"] = await loginDirective(decodeUser(req.url.slice(7)), keys, { nonce });
  if (req.url === "/logout") headers["X-Edge-Logout"] = await logoutDirective(keys, { nonce });
  const changesState = req.url === "/devices/sign-out-others";
  const [status, body] = changesState !== (req.method === "POST")
    ? [405, { kit: "node", error: changesState ? "use POST" : "use GET" }]
    : req.url === "/devices" || changesState
    // An unreachable edge must not crash the server (an unhandled rejection would).
    ? await devices(req.url, claims).catch((e) => [502, { kit: "node", error: String(e) }])
    : [200, { kit: "node", user: claims?.sub ?? null, state: claims?.state ?? null,
      // The plain header decodes to the same sub (shown on /whoami only).
      ...(claims && req.url === "/whoami" ? { header_user: decodeUser(req.headers["x-edge-user"]) } : {}) }];
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
});
server.listen(Number(process.env.PORT ?? 8791), "127.0.0.1", () => console.log(`node origin on ${server.address().port}`));

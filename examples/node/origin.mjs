// A minimal Node origin behind edge-session, using the kit (same routes as the Python one).
import { createServer } from "node:http";
import { parseKeys, verifyAssertion, loginDirective, logoutDirective } from "./edge-session.mjs";

const keys = parseKeys(process.env.ORIGIN_SECRET);
const server = createServer(async (req, res) => {
  // Trust only the verified assertion: the origin may be reachable around the edge.
  const claims = await verifyAssertion(req.headers["x-edge-assertion"], keys);
  const headers = { "content-type": "application/json", "cache-control": "no-store" };
  if (req.url.startsWith("/login?")) headers["X-Edge-Login"] = await loginDirective(req.url.slice(7), keys);
  if (req.url === "/logout") headers["X-Edge-Logout"] = await logoutDirective(keys);
  res.writeHead(200, headers);
  res.end(JSON.stringify({ kit: "node", user: claims?.sub ?? null, state: claims?.state ?? null }));
});
server.listen(Number(process.env.PORT ?? 8791), "127.0.0.1", () => console.log(`node origin on ${server.address().port}`));

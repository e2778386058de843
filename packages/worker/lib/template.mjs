// What `init` writes: wrangler.toml and the Worker's entry module. The [vars] are the
// worker's documented defaults (test/template.test.mjs holds them equal to the
// repository's wrangler.toml).

// The newest date the workerd of wrangler 4.86.0 (the oldest wrangler we support) knows.
export const COMPATIBILITY_DATE = "2026-04-20";

export const DEFAULT_VARS = [
  ["ROTATE_AFTER_SECS", "900"],
  ["GRACE_SECS", "30"],
  ["RECOVERY_SECS", "1800"],
  ["ACCESS_TTL_SECS", "60"],
  ["IDLE_TIMEOUT_SECS", "1800"],
  ["SESSION_LIFETIME_SECS", "43200"],
  ["REMEMBER_LIFETIME_SECS", "2592000"],
  ["REMEMBER_IDLE_TIMEOUT_SECS", "1296000"],
  ["ON_REUSE", "revoke"],
  ["ORIGIN_AUDIENCE", "origin"],
  ["METRICS_WINDOW_SECS", "60"],
];

/** The Durable Object bindings and migrations, as wrangler.toml text. */
export const OBJECTS_TOML = `# One SessionFamily object per session family: the serialized rotation point.
[[durable_objects.bindings]]
name = "SESSION_FAMILY"
class_name = "SessionFamily"

# One UserSessions object per user: "your devices" and "log out everywhere".
[[durable_objects.bindings]]
name = "USER_SESSIONS"
class_name = "UserSessions"

# SQLite-backed storage. Keep these tags: a deployed Worker's migrations never change.
[[migrations]]
tag = "v1"
new_sqlite_classes = ["SessionFamily"]

[[migrations]]
tag = "v2"
new_sqlite_classes = ["UserSessions"]
`;

/** wrangler.toml for a project: `origin` is { url } (public, in [vars]), { service },
 * { local } (the URL lives in .dev.vars) or { wrap }. */
export function wranglerToml({ name, origin }) {
  const lines = [
    `name = ${JSON.stringify(name)}`,
    `main = "src/index.js"`,
    `compatibility_date = "${COMPATIBILITY_DATE}"`,
    // Buffer, node:crypto and process.env for origin code running in this Worker
    // (edge-session-origin, with --wrap); the edge itself needs none of it.
    `compatibility_flags = ["nodejs_compat"]`,
    // Top-level keys must come before the first [table]: a routes line appended at the
    // end of the file would silently land inside [[migrations]].
    "# To serve your domain: uncomment, keeping it here above [vars] (wrangler reads any",
    "# key written below a [table] header as part of that table).",
    '# routes = [{ pattern = "app.example.com/*", zone_name = "example.com" }]',
    "",
    "# Secrets SESSION_KEYS and ORIGIN_SECRET are not here: .dev.vars locally,",
    "# `npx wrangler secret put` in production. Windows: docs/design.md of edge-session.",
    "[vars]",
    ...DEFAULT_VARS.map(([key, value]) => `${key} = ${JSON.stringify(value)}`),
  ];
  if (origin.url) {
    lines.push(`# Where requests go on to (scheme, host, port: no path).`, `ORIGIN_URL = ${JSON.stringify(origin.url)}`);
  } else if (origin.local) {
    lines.push(
      "# ORIGIN_URL is in .dev.vars for local dev. Deployed with none, requests go on to",
      "# their own URL: put the Worker on a route in front of your origin, or set it here:",
      '# ORIGIN_URL = "https://origin.example.com"',
    );
  }
  lines.push(
    "# Other origins whose pages may log users out (a sign-out link on www.example.com):",
    '# LOGOUT_ORIGINS = "https://www.example.com"',
    "# Security events (a login, a theft, a revocation), signed with the secret EVENTS_SECRET",
    "# and posted here; edge-session's docs/design.md §9:",
    '# EVENTS_URL = "https://hooks.example.com/edge-session"',
    "",
  );
  if (origin.service) {
    lines.push("# Your app, another Worker: the edge forwards to it.", "[[services]]",
      'binding = "ORIGIN"', `service = ${JSON.stringify(origin.service)}`, "");
  }
  lines.push(OBJECTS_TOML);
  return lines.join("\n");
}

/** src/index.js: the worker as it is, or wrapping the Worker's own handler. */
export function entryModule({ wrap }) {
  if (!wrap) {
    return `// edge-session in front of your origin (wrangler.toml: ORIGIN_URL, an ORIGIN service
// binding, or a route). Both Durable Object classes must be exported from here.
export { default, SessionFamily, UserSessions } from "edge-session";
`;
  }
  return `// Your Worker, with edge-session in front of its fetch handler, in the same isolate.
// Both Durable Object classes must be exported from here.
import { withEdgeSession, SessionFamily, UserSessions } from "edge-session";

export { SessionFamily, UserSessions };

const app = {
  async fetch(request, env, ctx) {
    // Only the edge calls this handler, so X-Edge-User (percent-encoded) is the user.
    // To log users in and out, and for the verified identity, use edge-session-origin.
    const user = request.headers.get("x-edge-user");
    return new Response(user ? \`hello \${decodeURIComponent(user)}\\n\` : "hello, anonymous\\n");
  },
};

export default withEdgeSession(app);
`;
}

// `npx edge-session init`: wrangler.toml, src/index.js and .dev.vars in a project folder.
// Never overwrites a file the user wrote (unless --force) and never prints a key it did
// not just create.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { freshSecret } from "./secrets.mjs";
import { OBJECTS_TOML, entryModule, wranglerToml } from "./template.mjs";

const DEFAULT_ORIGIN = "http://localhost:3000";
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const WRANGLER_CONFIGS = ["wrangler.toml", "wrangler.jsonc", "wrangler.json"];

export class InitError extends Error {
  name = "InitError";
}

export function init(dir, { origin, service, name, wrap = false, force = false } = {}) {
  const chosen = [origin !== undefined, service !== undefined, wrap].filter(Boolean).length;
  if (chosen > 1) throw new InitError("choose one of --origin, --service and --wrap");
  const where = wrap ? { wrap: true } : service !== undefined ? { service: serviceName(service) } : originOf(origin ?? DEFAULT_ORIGIN);
  const worker = workerName(name ?? basename(dir));
  const wrote = [];
  const notes = [];

  const existing = WRANGLER_CONFIGS.find((file) => existsSync(join(dir, file)));
  if (existing && !force) {
    notes.push(`${existing} exists: left as it is. Add the Durable Objects edge-session needs:\n\n${indent(OBJECTS_TOML)}`);
    if (where.url) notes.push(`and under [vars]: ORIGIN_URL = "${where.url}"`);
    if (where.service) notes.push(`and a service binding: [[services]] binding = "ORIGIN", service = "${where.service}"`);
  } else {
    writeFileSync(join(dir, "wrangler.toml"), wranglerToml({ name: worker, origin: where }));
    wrote.push("wrangler.toml");
  }

  const entry = join(dir, "src", "index.js");
  if (existsSync(entry) && !force) {
    notes.push(wrap
      ? 'src/index.js exists: left as it is. Wrap its handler: `export default withEdgeSession(app)` and\n  `export { SessionFamily, UserSessions } from "edge-session"`.'
      : 'src/index.js exists: left as it is. It must `export { default, SessionFamily, UserSessions } from "edge-session"`.');
  } else {
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(entry, entryModule({ wrap }));
    wrote.push("src/index.js");
  }

  const fresh = {};
  const vars = readDevVars(join(dir, ".dev.vars"));
  for (const [key, kid] of [["SESSION_KEYS", "k1"], ["ORIGIN_SECRET", "o1"]]) {
    if (!vars.has(key)) fresh[key] = freshSecret(kid);
  }
  // An ORIGIN_URL already there stays, unless --origin names a new one.
  if (where.local && (origin !== undefined || !vars.has("ORIGIN_URL"))) fresh.ORIGIN_URL = where.local;
  if (Object.keys(fresh).length > 0) {
    writeDevVars(join(dir, ".dev.vars"), vars, fresh);
    wrote.push(`.dev.vars (${Object.keys(fresh).join(", ")})`);
  }
  ignoreLocalFiles(join(dir, ".gitignore"));

  print({ wrote, notes, where, secret: fresh.ORIGIN_SECRET });
}

/** `--origin`: scheme, host and port only, as the worker's ORIGIN_URL requires. */
function originOf(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new InitError(`--origin ${JSON.stringify(text)} is not a URL; expected http(s)://host[:port]`);
  }
  const bare = url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
  if (!["http:", "https:"].includes(url.protocol) || !bare) {
    throw new InitError(`--origin must be http(s)://host[:port] with no path, query or credentials (got ${text})`);
  }
  const local = LOCAL_HOSTS.has(url.hostname) || url.hostname.endsWith(".localhost");
  return local ? { local: url.origin } : { url: url.origin };
}

function serviceName(text) {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(text)) throw new InitError(`--service must be a Worker's name (got ${text})`);
  return text;
}

/** A Worker name: lowercase letters, digits and dashes, at most 63. */
function workerName(text) {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
  return cleaned || "edge-session";
}

function readDevVars(path) {
  const vars = new Map();
  if (!existsSync(path)) return vars;
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (match) vars.set(match[1], line);
  }
  return vars;
}

/** Keeps what the file had (an ORIGIN_URL we write replaces the old one); 0600. */
function writeDevVars(path, vars, fresh) {
  const kept = existsSync(path)
    ? readFileSync(path, "utf8").split(/\r?\n/).filter((line) => {
      const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
      return !(match && match[1] in fresh);
    })
    : ["# Local secrets for `wrangler dev`. Never commit this file."];
  const body = [...kept.filter((line, i, all) => line !== "" || i < all.length - 1),
    ...Object.entries(fresh).map(([key, value]) => `${key}="${value}"`)].join("\n");
  writeFileSync(path, `${body}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function ignoreLocalFiles(path) {
  const have = existsSync(path) ? readFileSync(path, "utf8") : "";
  const lines = new Set(have.split(/\r?\n/).map((line) => line.trim()));
  const missing = [".dev.vars", ".wrangler/", "node_modules/"].filter((entry) => !lines.has(entry) && !lines.has(`/${entry}`));
  if (missing.length === 0) return;
  const sep = have === "" || have.endsWith("\n") ? "" : "\n";
  writeFileSync(path, `${have}${sep}${missing.join("\n")}\n`);
}

const indent = (text) => text.trimEnd().split("\n").map((line) => `  ${line}`).join("\n");

function print({ wrote, notes, where, secret }) {
  const out = [];
  if (wrote.length) out.push(`edge-session: wrote ${wrote.join(", ")}`);
  for (const note of notes) out.push("", note);
  const target = where.wrap ? "your Worker's fetch handler (in-process)"
    : where.service ? `the Worker "${where.service}" (service binding ORIGIN)`
      : where.local ?? where.url;
  out.push("", `Run it:  npx wrangler dev   -> http://localhost:8787, in front of ${target}`);
  if (!where.wrap) {
    out.push(
      "",
      "Your app needs these (for example in its .env), to verify who each request is and",
      "to log users in and out:",
      secret ? `  ORIGIN_SECRET=${secret}` : "  ORIGIN_SECRET=<the ORIGIN_SECRET in .dev.vars>",
      "  EDGE_URL=http://localhost:8787    (the admin API: \"your devices\", revoke)",
    );
  } else {
    out.push("", "Your Worker's code reads ORIGIN_SECRET from env (edge-session-origin signs logins with it).");
  }
  out.push(
    "",
    "Deploy (production keys, never the local ones):",
    "  npx edge-session secret k1 | npx wrangler secret put SESSION_KEYS",
    "  npx edge-session secret o1                  (copy it: your origin gets it too)",
    "  npx wrangler secret put ORIGIN_SECRET       (paste it)",
    "  npx wrangler deploy",
    "",
  );
  process.stdout.write(out.join("\n"));
}

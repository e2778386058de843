// `npx edge-session init`: wrangler.toml, src/index.js and .dev.vars in a project folder.
// Never overwrites a file the user wrote (unless --force) and never prints a key it did
// not just create.
import { randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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
  // Refused before anything is written, so a refusal leaves the folder as it was.
  // src itself too: a linked folder would take src/index.js somewhere else.
  for (const file of ["wrangler.toml", "src", join("src", "index.js"), ".dev.vars", ".gitignore"]) refuseSymlink(join(dir, file));
  const worker = workerName(name ?? basename(dir));
  const wrote = [];
  const notes = [];

  const existing = WRANGLER_CONFIGS.find((file) => present(join(dir, file)));
  if (existing && !force) {
    notes.push(`${existing} exists: left as it is. Add the Durable Objects edge-session needs:\n\n${indent(OBJECTS_TOML)}`);
    if (where.url) notes.push(`and under [vars]: ORIGIN_URL = "${where.url}"`);
    if (where.service) notes.push(`and a service binding: [[services]] binding = "ORIGIN", service = "${where.service}"`);
  } else {
    writeOwnFile(join(dir, "wrangler.toml"), wranglerToml({ name: worker, origin: where }));
    wrote.push("wrangler.toml");
  }

  const entry = join(dir, "src", "index.js");
  if (present(entry) && !force) {
    notes.push(wrap
      ? 'src/index.js exists: left as it is. Wrap its handler: `export default withEdgeSession(app)` and\n  `export { SessionFamily, UserSessions } from "edge-session"`.'
      : 'src/index.js exists: left as it is. It must `export { default, SessionFamily, UserSessions } from "edge-session"`.');
  } else {
    mkdirSync(join(dir, "src"), { recursive: true });
    writeOwnFile(entry, entryModule({ wrap }));
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
    const exposed = writeDevVars(join(dir, ".dev.vars"), fresh);
    wrote.push(`.dev.vars (${Object.keys(fresh).join(", ")})`);
    if (exposed) notes.push(`.dev.vars was readable by other users (mode ${exposed}); it is 0600 now. Keys that were in it may have been read: replace them.`);
  } else {
    // Nothing to add, but the keys already there must not stay readable by others.
    const mode = lstatSync(join(dir, ".dev.vars")).mode & 0o777;
    if (mode & 0o077) {
      chmodSync(join(dir, ".dev.vars"), 0o600);
      notes.push(`.dev.vars was readable by other users (mode ${mode.toString(8).padStart(4, "0")}); it is 0600 now. Its keys may have been read: replace them.`);
    }
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
  // The worker's own rule for ORIGIN_URL's host: letters, digits, dots and dashes, or a
  // bracketed IPv6 address (Node's URL lets quotes and `$()` through).
  const host = /^[A-Za-z0-9.-]+$/.test(url.hostname) || /^\[[0-9A-Fa-f:.]+\]$/.test(url.hostname);
  if (!["http:", "https:"].includes(url.protocol) || !bare || !host) {
    throw new InitError(`--origin must be http(s)://host[:port] with no path, query or credentials (got ${text})`);
  }
  const local = LOCAL_HOSTS.has(url.hostname) || url.hostname.endsWith(".localhost");
  if (local) return { local: url.origin };
  // Assertions and directives would cross the internet in clear text.
  if (url.protocol !== "https:") throw new InitError(`--origin must be https:// for a host that is not local (got ${text})`);
  return { url: url.origin };
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
  if (!present(path)) return vars;
  refuseSymlink(path);
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (match) vars.set(match[1], line);
  }
  return vars;
}

/**
 * Keeps what the file had (an ORIGIN_URL we write replaces the old one). Written whole to
 * a new 0600 file, then renamed over the old one: the keys are never in a file others can
 * read, not even for a moment. Returns the old mode if others could read it.
 */
function writeDevVars(path, fresh) {
  const old = present(path) ? readFileSync(path, "utf8") : null;
  const kept = old === null
    ? ["# Local secrets for `wrangler dev`. Never commit this file."]
    : old.split(/\r?\n/).filter((line) => {
      const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
      return !(match && match[1] in fresh);
    });
  const body = [...kept.filter((line, i, all) => line !== "" || i < all.length - 1),
    ...Object.entries(fresh).map(([key, value]) => `${key}="${value}"`)].join("\n");
  const mode = old === null ? 0 : lstatSync(path).mode & 0o777;
  writeOwnFile(path, `${body}\n`, 0o600);
  return mode & 0o077 ? mode.toString(8).padStart(4, "0") : null;
}

function refuseSymlink(path) {
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new InitError(`${path} is a symbolic link: refusing to write through it`);
  }
}

/** Whether `path` exists, a dangling symbolic link included. */
function present(path) {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

/**
 * Writes `path` through a new file (exclusive, `mode`) renamed over it. Never through a
 * symbolic link: one could point the keys, or an overwrite, anywhere.
 */
export function writeOwnFile(path, text, mode = 0o644) {
  refuseSymlink(path);
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(temporary, text, { mode, flag: "wx" });
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}

function ignoreLocalFiles(path) {
  const have = present(path) ? readFileSync(path, "utf8") : "";
  const lines = new Set(have.split(/\r?\n/).map((line) => line.trim()));
  const missing = [".dev.vars", ".prod.vars", ".wrangler/", "node_modules/"].filter((entry) => !lines.has(entry) && !lines.has(`/${entry}`));
  if (missing.length === 0) return;
  const sep = have === "" || have.endsWith("\n") ? "" : "\n";
  writeOwnFile(path, `${have}${sep}${missing.join("\n")}\n`);
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
      "Your app needs these, to verify who each request is and to log users in and out.",
      "Export them in the shell that starts it (a .env works only if your app loads one):",
      secret ? `  export ORIGIN_SECRET=${secret}` : "  export ORIGIN_SECRET=<the ORIGIN_SECRET in .dev.vars>",
      "  export EDGE_URL=http://localhost:8787    (the admin API: \"your devices\", revoke;",
      "                                           follows wrangler dev --port)",
    );
  } else {
    out.push("", "Your Worker's code reads ORIGIN_SECRET from env (edge-session-origin signs logins with it).");
  }
  out.push("", where.wrap ? "Deploy, with production keys (never the local ones):"
    : "Deploy: first say where your app is in wrangler.toml (a route, or ORIGIN_URL), then");
  if (!where.wrap) out.push("with production keys (never the local ones):");
  out.push(
    "  npx edge-session secrets .prod.vars      (fresh keys, a new 0600 file)",
    "  npx wrangler deploy --secrets-file .prod.vars",
    where.wrap ? "  rm .prod.vars" : "  (your production app gets the ORIGIN_SECRET it prints; then rm .prod.vars)",
    "",
  );
  process.stdout.write(out.join("\n"));
}

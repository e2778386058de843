#!/usr/bin/env node
// npx edge-session init | secret | help: sets a project up to run the edge-session worker
// with wrangler. Node built-ins only; nothing here needs Rust.
import { parseArgs } from "node:util";
import { init } from "../lib/init.mjs";
import { freshAssertionKey, freshSecret, writeSecretsFile } from "../lib/secrets.mjs";

const USAGE = `Usage:
  npx edge-session init [--origin URL | --service NAME] [--name NAME] [--wrap] [--force]
      Writes wrangler.toml, src/index.js and .dev.vars (fresh keys) in this folder, and
      prints the lines your origin needs.
      --origin URL    your app, e.g. http://localhost:3000 (default). A local URL goes to
                      .dev.vars (local only); a public https URL to wrangler.toml.
      --service NAME  your app is another Worker: bind it as the ORIGIN service.
      --name NAME     the Worker's name (default: this folder's name).
      --wrap          your app is a JavaScript Worker here: src/index.js wraps its
                      fetch handler in-process (withEdgeSession) instead of proxying.
      --force         overwrite wrangler.toml and src/index.js if they exist.
  npx edge-session secrets FILE
      Writes fresh production SESSION_KEYS and ORIGIN_SECRET to FILE (a new file, 0600)
      for \`npx wrangler deploy --secrets-file FILE\`, and prints the ORIGIN_SECRET your
      production app needs.
  npx edge-session secret [KID]
      Prints a fresh key ring entry (KID:random, default KID k1), e.g. for
      \`npx wrangler secret put SESSION_KEYS\` when rotating keys.
  npx edge-session secret --es256 [KID]
      Prints a fresh ASSERTION_KEYS entry (KID:P-256 private key, PKCS#8, base64url;
      default KID a1) for ASSERTION_ALG=ES256, then on stderr the public JWK the worker
      will publish at /__edge/jwks.json.
`;

function main(argv) {
  const [command, ...rest] = argv;
  switch (command) {
    case "init": {
      const { values } = parseArgs({
        args: rest,
        options: {
          origin: { type: "string" },
          service: { type: "string" },
          name: { type: "string" },
          wrap: { type: "boolean", default: false },
          force: { type: "boolean", default: false },
        },
      });
      init(process.cwd(), values);
      return;
    }
    case "secrets": {
      if (rest.length !== 1) throw new UsageError("secrets needs one FILE, e.g. .prod.vars");
      const originSecret = writeSecretsFile(rest[0]);
      process.stdout.write(`edge-session: wrote ${rest[0]} (0600). Your production app needs:\n  ORIGIN_SECRET=${originSecret}\n`);
      return;
    }
    case "secret": {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { es256: { type: "boolean", default: false } } });
      if (positionals.length > 1) throw new UsageError("secret takes at most one KID");
      if (values.es256) {
        const { entry, jwk } = freshAssertionKey(positionals[0] ?? "a1");
        process.stdout.write(`${entry}\n`);
        process.stderr.write(`edge-session: its public key, as /__edge/jwks.json will list it:\n${JSON.stringify(jwk)}\n`);
        return;
      }
      process.stdout.write(`${freshSecret(positionals[0] ?? "k1")}\n`);
      return;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

try {
  main(process.argv.slice(2));
} catch (e) {
  // Our own refusals and bad flags are a one-line answer, not a stack trace.
  const known = e instanceof UsageError || e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
    || e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" || e.name === "InitError";
  if (!known) throw e;
  process.stderr.write(`edge-session: ${e.message}\n\n${e instanceof UsageError ? USAGE : ""}`);
  process.exitCode = 2;
}

// The example apps (examples/) as the e2e tests start them: one per framework, each with
// the origin package of its language, and the form posts their routes take.
import { root } from "./harness.mjs";

export const PYTHON = `${root}.venv/bin/python`;

/** Each app: how to start it (in examples/), and the line it prints once it listens. */
export const APPS = {
  express: { cwd: "examples/node", command: process.execPath, args: ["express.mjs"], ready: "express app on" },
  hono: { cwd: "examples/node", command: process.execPath, args: ["hono.mjs"], ready: "hono app on" },
  fastify: { cwd: "examples/node", command: process.execPath, args: ["fastify.mjs"], ready: "fastify app on" },
  fastapi: { cwd: "examples/python", command: PYTHON, args: ["fastapi_app.py"], ready: "fastapi app on" },
  django: { cwd: "examples/python", command: PYTHON, args: ["django_app.py"], ready: "django app on" },
  flask: { cwd: "examples/python", command: PYTHON, args: ["flask_app.py"], ready: "flask app on" },
  // Built by scripts/test.sh (cargo build -p edge-session-axum-example) before the e2e stage.
  rack: { cwd: "examples/ruby", command: "ruby", args: ["-I", "../../packages/ruby/lib", "app.rb"], ready: "rack app on" },
  // Mix.install compiles the package on first run (a few seconds).
  elixir: { cwd: "examples/elixir", command: "elixir", args: ["origin.exs"], ready: "elixir app on" },
  axum: { cwd: "", command: `${root}target/debug/edge-session-axum-example`, args: [], ready: "axum app on" },
};

/** A form POST's fetch options. */
export const form = (fields) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});

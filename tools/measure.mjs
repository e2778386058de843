// Small measuring helpers shared by the benchmark scripts (scripts/bench*.mjs,
// scripts/profile-*.mjs).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { root } from "./harness.mjs";

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
}

/** Milliseconds of CPU (user+sys, from /proc) used so far by every workerd process. */
export function workerdCpuMs() {
  const TICK_MS = 10; // USER_HZ is 100 on Linux
  let ms = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd")) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ms += (Number(f[11]) + Number(f[12])) * TICK_MS;
    } catch {} // the process ended meanwhile
  }
  return ms;
}

/** A DevTools session on the first isolate an inspector port lists (wrangler's or Miniflare's). */
export async function devtools(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  });
  const send = (method, params = {}) => new Promise((resolve) => {
    pending.set(++id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
  return { send, close: () => ws.close() };
}

/** Self time by kind (wasm, js, or V8's own: `(program)`, `(idle)`…) and by function, in ms, from a V8 CPU profile. */
export function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((nodeId, i) => self.set(nodeId, (self.get(nodeId) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const kinds = {};
  const functions = {};
  for (const [nodeId, us] of self) {
    const { functionName, url } = byId.get(nodeId).callFrame;
    const name = functionName || "(anonymous)";
    const kind = name.startsWith("(") ? name : url.startsWith("wasm") || /^\$?func\d+|wasm-function/.test(name) ? "wasm" : "js";
    kinds[kind] = (kinds[kind] ?? 0) + us / 1000;
    const key = kind === "js" ? `${name} ${url.split("/").pop()}` : name;
    functions[key] = (functions[key] ?? 0) + us / 1000;
  }
  return { kinds, functions };
}

/**
 * The bench's origin (`node scripts/bench.mjs origin`) in its own process group, on a
 * free loopback port: `{ child, url, stop }`. It is killed when this process exits.
 */
export async function startBenchOrigin(secret) {
  const child = spawn(process.execPath, [join(root, "scripts/bench.mjs"), "origin"], {
    detached: true, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ORIGIN_SECRET: secret },
  });
  const stop = () => { try { process.kill(-child.pid, "SIGKILL"); } catch {} };
  process.on("exit", stop);
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  for (let i = 0; i < 200 && !/port=\d+/.test(out); i++) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const port = /port=(\d+)/.exec(out)?.[1];
  if (!port) { stop(); throw new Error(`the bench origin did not start: ${out}`); }
  return { child, url: `http://127.0.0.1:${port}`, stop };
}

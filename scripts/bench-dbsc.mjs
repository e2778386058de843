// The cost of checking one DBSC proof's signature, side by side in one run:
//   p256 compiled to wasm32 exactly as the worker is (benches/wasm-verify), in V8;
//   WebCrypto's ECDSA P-256 verify (what `crypto.subtle` would cost), in this Node;
//   p256 natively is in `cargo bench --bench core` (dbsc/*).
// Usage: node scripts/bench-dbsc.mjs   (builds the wasm bench first; ~15 s)
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { webcrypto as crypto } from "node:crypto";

const root = new URL("..", import.meta.url).pathname;
execFileSync("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown", "-p", "wasm-verify-bench"],
  { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
const wasm = readFileSync(`${root}target/wasm32-unknown-unknown/release/wasm_verify_bench.wasm`);
const { instance } = await WebAssembly.instantiate(wasm, {});

const N = 300;
const ROUNDS = 7;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function perOp(run) {
  await run(20); // warm up (V8 tiers the wasm up)
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await run(N);
    times.push(((performance.now() - t) * 1000) / N);
  }
  return median(times);
}

const p256Wasm = await perOp(async (n) => {
  const ok = instance.exports.verify(n);
  if (ok !== n) throw new Error(`wasm verified ${ok} of ${n}`);
});

const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
const message = new TextEncoder().encode("x".repeat(150));
const algorithm = { name: "ECDSA", hash: "SHA-256" };
const signature = await crypto.subtle.sign(algorithm, privateKey, message);
const webCrypto = await perOp(async (n) => {
  for (let i = 0; i < n; i++) {
    if (!await crypto.subtle.verify(algorithm, publicKey, signature, message)) throw new Error("WebCrypto refused");
  }
});

console.log(`ES256 verify, median of ${ROUNDS} rounds of ${N} (Node ${process.version}):`);
console.log(`  p256 in wasm (V8):        ${p256Wasm.toFixed(1)} µs`);
console.log(`  WebCrypto (Node/OpenSSL): ${webCrypto.toFixed(1)} µs`);
console.log(`  ratio wasm / WebCrypto:   ${(p256Wasm / webCrypto).toFixed(2)}×`);

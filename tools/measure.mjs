// Small measuring helpers shared by the benchmark scripts (scripts/bench*.mjs,
// scripts/profile-isolate.mjs).
import { readdirSync, readFileSync } from "node:fs";

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

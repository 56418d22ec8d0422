// Child process of bench/edge.ts: a fresh process imports server.ts's edge handler and answers one
// request (cold: the model loads), then a second one (warm), POST /v1/compress with the text in
// Deno.args[0]; prints wall and CPU time of each and the peak RSS.
import process from "node:process";
import handler from "../server.ts";

const text = await Deno.readTextFile(Deno.args[0]);
const cpu = (u: ReturnType<typeof process.resourceUsage>) =>
  (u.userCPUTime + u.systemCPUTime) / 1000;

/** One compress request: status, wall ms, CPU ms. */
async function compress() {
  const before = process.resourceUsage();
  const t0 = performance.now();
  const res = await handler.fetch(
    new Request("http://localhost/v1/compress", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text }),
    }),
  );
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  return { status: res.status, ms, cpuMs: cpu(process.resourceUsage()) - cpu(before) };
}

const cold = await compress();
const processCpuMs = cpu(process.resourceUsage());
const warm = await compress();
console.log(JSON.stringify({
  status: cold.status === 200 ? warm.status : cold.status,
  requestMs: cold.ms,
  requestCpuMs: cold.cpuMs,
  processCpuMs,
  warmRequestMs: warm.ms,
  warmRequestCpuMs: warm.cpuMs,
  peakRssMB: process.resourceUsage().maxRSS / 1024,
}));

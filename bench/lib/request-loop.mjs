// The HTTP bench target's request work (bench/fixtures/http-server.js's handler, its response
// headers and body standing in for the socket) at a stack depth like a request's, for the
// one-process benches (bench/heap-sampler-cost.mjs, bench/cpu-profiler-cost.mjs): they toggle a
// profiler between short windows of this loop and count requests per CPU-ms.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { requestBody } = await import(path.join(here, '../fixtures/request-work.js'));

let sink = 0;
function handle(n) {
  const url = new URL(`/items?min=${100 + (n & 63)}`, 'http://localhost');
  const body = requestBody(Number(url.searchParams.get('min') ?? 100));
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  sink ^= Buffer.from(body).length + Object.keys(headers).length;
}
function at(depth, n) {
  if (depth === 0) return handle(n);
  at(depth - 1, n);
  return sink;
}

/** The process's CPU time so far (all its threads, the profilers' own included), in ms. */
export function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs requests at `depth` for `windowMs` of wall time: their number, the CPU-ms and wall ms spent. */
export function requestWindow(windowMs, depth) {
  const c0 = cpuMs();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < windowMs) for (let i = 0; i < 10; i++) at(depth, n++);
  return { n, cpu: cpuMs() - c0, wall: performance.now() - t0 };
}

/** Keeps the work observable, so no compiler drops it. */
export const checksum = () => sink;

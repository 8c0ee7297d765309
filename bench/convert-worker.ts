// One P2 measurement in a fresh process (as the CLI converts once per run, with a cold JIT):
// JSON.parse of a V8 CPU profile, then nodeprof's conversion of the parsed profile to pprof and
// its gzip encoding. Prints one JSON line. Run with --expose-gc so each step starts after a GC.
// Usage: node --expose-gc dist/bench/convert-worker.js <file.cpuprofile>

import fs from 'node:fs';
import type { Protocol } from 'devtools-protocol';
import { cpuProfileToBuilder } from '../src/pprof/cpu-profile.js';
import { gzipPprof } from '../src/pprof/encode.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const file = process.argv[2]!;
const text = fs.readFileSync(file, 'utf8');

// CPU time (all threads of this process) beside wall time: on a shared machine it moves less.
const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

gc();
let t = performance.now();
let c = process.cpuUsage();
const profile = JSON.parse(text) as Protocol.Profiler.Profile;
const parseMs = performance.now() - t;
const parseCpuMs = cpuMs(c);

gc();
t = performance.now();
c = process.cpuUsage();
const builder = cpuProfileToBuilder(profile, { intervalUs: 1000, startedAtMs: 1_764_000_000_000 });
const convertMs = performance.now() - t;
const convertCpuMs = cpuMs(c);
t = performance.now();
c = process.cpuUsage();
const bytes = gzipPprof(builder.encode());
const encodeMs = performance.now() - t;
const encodeCpuMs = cpuMs(c);

// The same again in the same process, the fastest of up to 5 repeats within about a second: the
// converter's speed once the JIT has compiled it (a CLI run converts once, cold: the figures above
// are the ones a user waits for). Not when one conversion took over a second (100 MB): the JIT has
// warmed up within it, and a repeat would only lengthen the bench.
let warmMs: number | undefined;
for (let k = 0, spent = convertMs + encodeMs > 1000 ? Infinity : 0; k < 5 && spent < 1000; k++) {
  gc();
  t = performance.now();
  gzipPprof(cpuProfileToBuilder(profile, { intervalUs: 1000, startedAtMs: 1_764_000_000_000 }).encode());
  const ms = performance.now() - t;
  warmMs = Math.min(warmMs ?? Infinity, ms);
  spent += ms;
}

process.stdout.write(
  `${JSON.stringify({
    inputBytes: fs.statSync(file).size,
    nodes: profile.nodes.length,
    samples: profile.samples?.length ?? 0,
    parseMs,
    convertMs,
    encodeMs,
    parseCpuMs,
    convertCpuMs,
    encodeCpuMs,
    warmMs,
    outputBytes: bytes.length,
    locations: builder.locationCount,
    pprofSamples: builder.sampleCount,
  })}\n`,
);

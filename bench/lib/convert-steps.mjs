// The steps nodeprof takes with a Profiler.stop message, each timed: JSON.parse, convert+encode
// (addCpuProfileYielding, as attach and serve convert), gzip, write. In-process from window-end.mjs
// (warm after its first rep, as serve's conversions are), or in a fresh process, as
// `nodeprof attach --cpu` converts once per run:
//   node bench/lib/convert-steps.mjs <message.json> <intervalUs> <out.pb.gz>   prints the steps as JSON
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpuProfileToBuilderYielding } from '../../dist/src/pprof/cpu-profile.js';
import { gzipPprof } from '../../dist/src/pprof/encode.js';

/** Milliseconds per step for one message (its text), and the profile's sample count. */
export async function convertSteps(text, intervalUs, out) {
  const t1 = performance.now();
  const profile = JSON.parse(text).result.profile;
  const t2 = performance.now();
  const raw = (await cpuProfileToBuilderYielding(profile, { intervalUs, startedAtMs: Date.now() })).encode();
  const t3 = performance.now();
  const gz = gzipPprof(raw);
  const t4 = performance.now();
  fs.writeFileSync(out, gz);
  const t5 = performance.now();
  return { parse: t2 - t1, convert: t3 - t2, gzip: t4 - t3, write: t5 - t4, samples: profile.samples.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, intervalUs, out] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(await convertSteps(fs.readFileSync(file, 'utf8'), Number(intervalUs), out)));
}

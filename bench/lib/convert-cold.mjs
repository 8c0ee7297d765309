// One conversion in a fresh process, as `nodeprof attach --cpu` converts once per run: reads a
// Profiler.stop message saved as text and prints, as JSON, the milliseconds of each step
// (importing the conversion modules, which the CLI does while the window is open; JSON.parse;
// convert+encode; gzip; write). Usage: node bench/lib/convert-cold.mjs <message.json> <intervalUs> <out.pb.gz>
import fs from 'node:fs';

const [file, intervalUs, out] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8');
const t0 = performance.now();
const [{ cpuProfileToBuilderYielding }, { gzipPprof }] = await Promise.all([
  import('../../dist/src/pprof/cpu-profile.js'),
  import('../../dist/src/pprof/encode.js'),
]);
const t1 = performance.now();
const profile = JSON.parse(text).result.profile;
const t2 = performance.now();
const raw = (await cpuProfileToBuilderYielding(profile, { intervalUs: Number(intervalUs), startedAtMs: Date.now() })).encode();
const t3 = performance.now();
const gz = gzipPprof(raw);
const t4 = performance.now();
fs.writeFileSync(out, gz);
const t5 = performance.now();
process.stdout.write(JSON.stringify({ load: t1 - t0, parse: t2 - t1, convert: t3 - t2, gzip: t4 - t3, write: t5 - t4 }));

// `node scripts/bench-source-maps.js [dir]` (after npm run build): what loading source maps costs
// for a profile, on real maps: every .js/.mjs/.cjs file under dir (default node_modules) that
// names a map is treated as a script in the profile, and loadSourceMaps finds, reads and parses
// all of them, as the CPU job does after Profiler.stop. Prints scripts, maps, bytes, wall and CPU
// time of three runs (CPU time is the figure to trust on a loaded machine).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadSourceMaps } from '../dist/src/collect/source-map-loader.js';
import { sourceMappingURLOf } from '../dist/src/pprof/source-map-mapper.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.resolve(process.argv[2] ?? path.join(root, 'node_modules'));

const scripts = [];
let mapBytes = 0;
const walk = (d) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(?:js|mjs|cjs)$/.test(e.name)) {
      const url = sourceMappingURLOf(fs.readFileSync(p, 'utf8'));
      if (!url) continue;
      scripts.push({ scriptId: String(scripts.length + 1), url: pathToFileURL(p).href });
      if (!url.startsWith('data:')) {
        try {
          mapBytes += fs.statSync(path.resolve(path.dirname(p), decodeURI(url))).size;
        } catch {
          // a map that is not there adds nothing
        }
      } else mapBytes += url.length;
    }
  }
};
walk(dir);
for (const n of [10, 100, scripts.length]) {
  const some = scripts.slice(0, n);
  const runs = [];
  const cpu = [];
  let res;
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    res = await loadSourceMaps(undefined, some);
    const c = process.cpuUsage(c0);
    runs.push(res.stats.ms);
    cpu.push((c.user + c.system) / 1000);
  }
  console.log(
    `${some.length} scripts with maps (${scripts.length === some.length ? `${(mapBytes / 1e6).toFixed(1)} MB of maps in all, ` : ''}${res.stats.mapped} usable, ${res.warnings.length} warning lines): wall ${runs.map((m) => m.toFixed(0)).join(', ')} ms, cpu ${cpu.map((m) => m.toFixed(0)).join(', ')} ms`,
  );
}

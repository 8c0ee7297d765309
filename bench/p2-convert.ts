// P2: nodeprof's CPU conversion (V8 profile → pprof.gz) against JSON.parse of the same payload,
// on generated profiles of about 1, 10 and 100 MB. Each measurement runs in a fresh process, once,
// as the CLI converts once per run; sizes are interleaved round by round.

import fs from 'node:fs';
import path from 'node:path';
import { generateCpuProfile, GENERATOR_VERSION } from './lib/gen-profile.js';
import { ROOT, startNode } from './lib/procs.js';
import type { Measure, Row } from './lib/report.js';
import { roundOrder, summarize } from './lib/stats.js';

export interface P2Options {
  sizesMB: number[];
  rounds: number;
  cacheDir: string;
  log(line: string): void;
  /** Extra node flags for the worker (e.g. --cpu-prof to profile the conversion itself). */
  workerNodeArgs?: string[];
  /**
   * A `dist/` built from another revision (inside this checkout, so node_modules resolve): its
   * converter is measured too, interleaved with this one, as "before".
   */
  compareDist?: string;
}

export interface ConvertRun {
  inputBytes: number;
  nodes: number;
  samples: number;
  parseMs: number;
  convertMs: number;
  encodeMs: number;
  parseCpuMs: number;
  convertCpuMs: number;
  encodeCpuMs: number;
  /** convert + encode again in the same process (warm JIT); absent from older workers. */
  warmMs?: number;
  outputBytes: number;
  locations: number;
  pprofSamples: number;
}

/** The generated profile of about `mb` MB, made once and kept in the cache directory. */
export function profileFile(mb: number, cacheDir: string): string {
  const file = path.join(cacheDir, `generated-${mb}mb-v${GENERATOR_VERSION}.cpuprofile`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(cacheDir, { recursive: true });
    const text = JSON.stringify(generateCpuProfile(mb * 1024 * 1024));
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
  }
  return file;
}

const WORKER = path.join(ROOT, 'dist/bench/convert-worker.js');

export async function convertOnce(file: string, nodeArgs: string[] = [], worker = WORKER): Promise<ConvertRun> {
  const w = startNode(worker, { nodeArgs: ['--expose-gc', '--max-old-space-size=8192', ...nodeArgs], args: [file] });
  const done = await w.exited;
  const line = w.stdout().trim().split('\n').pop() ?? '';
  if (done.code !== 0 || !line.startsWith('{'))
    throw new Error(`convert worker failed (exit ${done.code}): ${w.stderr().trim().split('\n').slice(-3).join(' ')}`);
  return JSON.parse(line) as ConvertRun;
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

export async function measureP2(o: P2Options): Promise<Measure> {
  const files = new Map<number, string>();
  for (const size of o.sizesMB) {
    const t = performance.now();
    files.set(size, profileFile(size, o.cacheDir));
    o.log(`P2: profile of ~${size} MB ready (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  // The other revision's converter runs through a copy of this worker placed in its dist/bench/.
  const variants: Array<{ label: string; worker: string }> = [{ label: '', worker: WORKER }];
  if (o.compareDist) {
    const other = path.join(path.resolve(o.compareDist), 'bench/convert-worker.js');
    fs.mkdirSync(path.dirname(other), { recursive: true });
    fs.copyFileSync(WORKER, other);
    variants.unshift({ label: 'before: ', worker: other });
  }
  const runs = new Map<string, ConvertRun[]>();
  for (let round = 0; round < o.rounds; round++) {
    for (const size of roundOrder(o.sizesMB, round)) {
      for (const v of roundOrder(variants, round)) {
        const r = await convertOnce(files.get(size)!, o.workerNodeArgs, v.worker);
        o.log(
          `P2 ${v.label}~${size} MB round ${round + 1}/${o.rounds}: parse ${r.parseMs.toFixed(0)} ms, convert ${r.convertMs.toFixed(0)} ms, encode ${r.encodeMs.toFixed(0)} ms (CPU ${r.parseCpuMs.toFixed(0)}/${r.convertCpuMs.toFixed(0)}/${r.encodeCpuMs.toFixed(0)} ms)`,
        );
        const k = `${v.label}${size}`;
        runs.set(k, [...(runs.get(k) ?? []), r]);
      }
    }
  }
  const rows: Row[] = [];
  for (const size of o.sizesMB) {
    for (const v of variants) {
      const rs = runs.get(`${v.label}${size}`)!;
      const first = rs[0]!;
      const total = rs.map((r) => r.convertMs + r.encodeMs);
      const med = (f: (r: ConvertRun) => number) => summarize(rs.map(f)).median;
      rows.push({
        name: `${v.label}${mb(first.inputBytes)} (${first.nodes.toLocaleString('en')} nodes, ${first.samples.toLocaleString('en')} samples): (convert + encode) / parse`,
        unit: 'ratio',
        summary: summarize(rs.map((r, i) => total[i]! / r.parseMs)),
        extra: {
          'parse ms': med((r) => r.parseMs).toFixed(0),
          'convert ms': med((r) => r.convertMs).toFixed(0),
          'encode+gzip ms': med((r) => r.encodeMs).toFixed(0),
          'same ratio in CPU time (median)': med((r) => (r.convertCpuMs + r.encodeCpuMs) / r.parseCpuMs).toFixed(2),
          'ratio warm (median)': rs.every((r) => r.warmMs !== undefined) ? med((r) => r.warmMs! / r.parseMs).toFixed(2) : 'not measured',
          'pprof.gz size': `${mb(first.outputBytes)} (${((100 * first.outputBytes) / first.inputBytes).toFixed(1)}% of input)`,
        },
      });
    }
  }
  return {
    id: 'P2',
    title: 'conversion speed: V8 CPU profile → pprof.gz, relative to JSON.parse of the same payload',
    status: 'measured',
    method:
      'bench/lib/gen-profile.ts generates profiles with the shape of real ones (deep shared call trees, thousands of functions over many files, positionTicks, jittered timeDeltas, idle/program/GC nodes). Each run is a fresh process (dist/bench/convert-worker.js, one cold conversion as in the CLI) that times JSON.parse of the file, then `cpuProfileToBuilder` (convert: what attach does) and `encode` + gzip level 1 (protobuf written straight from the builder tables, as attach writes it) on the parsed profile, each after a GC. Ratio = (convert + encode) / parse. "Ratio warm": the fastest of up to 5 more conversions in that process (within about a second; the JIT warm), over the same parse time; not measured where one conversion takes over a second (the JIT warms up within it).',
    goal: '≤ 1.5× JSON.parse',
    rows,
    notes: [
      `Every profile is parsed anyway before conversion (chrome-remote-interface parses the Profiler.stop answer), so the ratio says how much the conversion adds to that unavoidable cost.`,
    ],
  };
}

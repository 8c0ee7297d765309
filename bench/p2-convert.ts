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
}

export interface ConvertRun {
  inputBytes: number;
  nodes: number;
  samples: number;
  parseMs: number;
  convertMs: number;
  encodeMs: number;
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

export async function convertOnce(file: string, nodeArgs: string[] = []): Promise<ConvertRun> {
  const w = startNode(path.join(ROOT, 'dist/bench/convert-worker.js'), { nodeArgs: ['--expose-gc', '--max-old-space-size=8192', ...nodeArgs], args: [file] });
  const done = await w.exited;
  const line = w.stdout().trim().split('\n').pop() ?? '';
  if (done.code !== 0 || !line.startsWith('{')) throw new Error(`convert worker failed (exit ${done.code}): ${w.stderr().trim().split('\n').slice(-3).join(' ')}`);
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
  const runs = new Map<number, ConvertRun[]>();
  for (let round = 0; round < o.rounds; round++) {
    for (const size of roundOrder(o.sizesMB, round)) {
      const r = await convertOnce(files.get(size)!, o.workerNodeArgs);
      o.log(`P2 ~${size} MB round ${round + 1}/${o.rounds}: parse ${r.parseMs.toFixed(0)} ms, convert ${r.convertMs.toFixed(0)} ms, encode ${r.encodeMs.toFixed(0)} ms`);
      runs.set(size, [...(runs.get(size) ?? []), r]);
    }
  }
  const rows: Row[] = [];
  for (const size of o.sizesMB) {
    const rs = runs.get(size)!;
    const first = rs[0]!;
    const total = rs.map((r) => r.convertMs + r.encodeMs);
    rows.push({
      name: `${mb(first.inputBytes)} (${first.nodes.toLocaleString('en')} nodes, ${first.samples.toLocaleString('en')} samples): (convert + encode) / parse`,
      unit: 'ratio',
      summary: summarize(rs.map((r, i) => total[i]! / r.parseMs)),
      extra: {
        'parse ms': summarize(rs.map((r) => r.parseMs)).median.toFixed(0),
        'convert ms': summarize(rs.map((r) => r.convertMs)).median.toFixed(0),
        'encode+gzip ms': summarize(rs.map((r) => r.encodeMs)).median.toFixed(0),
        'pprof.gz size': `${mb(first.outputBytes)} (${((100 * first.outputBytes) / first.inputBytes).toFixed(1)}% of input)`,
      },
    });
  }
  return {
    id: 'P2',
    title: 'conversion speed: V8 CPU profile → pprof.gz, relative to JSON.parse of the same payload',
    status: 'measured',
    method:
      'bench/lib/gen-profile.ts generates profiles with the shape of real ones (deep shared call trees, thousands of functions over many files, positionTicks, jittered timeDeltas, idle/program/GC nodes). Each run is a fresh process (dist/bench/convert-worker.js, one cold conversion as in the CLI) that times JSON.parse of the file, then `cpuProfileToPprof` (convert) and `encodePprof` (protobuf + gzip level 6) on the parsed profile, each after a GC. Ratio = (convert + encode) / parse.',
    goal: '≤ 1.5× JSON.parse',
    rows,
    notes: [`Every profile is parsed anyway before conversion (chrome-remote-interface parses the Profiler.stop answer), so the ratio says how much the conversion adds to that unavoidable cost.`],
  };
}

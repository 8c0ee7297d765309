// P4: from command start to the first sample in the target. P5: from the end of the window to the
// profile file being written (a 30 s profile at 1 ms of the synthetic app in the full run).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodePprof } from '../src/pprof/encode.js';
import { startCli, startTarget, stopTarget } from './lib/procs.js';
import type { Measure } from './lib/report.js';
import { summarize } from './lib/stats.js';

export interface LatencyOptions {
  p4Runs: number;
  p5Runs: number;
  p5WindowS: number;
  log(line: string): void;
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-bench-'));
}

/**
 * V8 stamps profiles with the monotonic clock (CLOCK_MONOTONIC on Linux, the clock of
 * process.hrtime), which is shared by every process on the machine: the time of the first sample in
 * the target can be compared with the moment the bench spawned the CLI.
 */
export async function measureP4(o: LatencyOptions): Promise<Measure> {
  const target = await startTarget('cpu-work.js', { nodeArgs: ['--inspect=127.0.0.1:0'], args: ['loop'] });
  const dir = tmpdir();
  const first: number[] = [];
  const start: number[] = [];
  const load: number[] = [];
  try {
    for (let i = 0; i < o.p4Runs; i++) {
      // Interleaved with a bare CLI start (--version), the part of P4 that is loading the CLI.
      let t = process.hrtime.bigint();
      const v = startCli(['--version']);
      await v.exited;
      load.push(Number(process.hrtime.bigint() - t) / 1e6);

      const file = path.join(dir, `p4-${i}.cpuprofile`);
      t = process.hrtime.bigint();
      const c = startCli(['attach', String(target.inspectPort), '--cpu', '500ms', '--format', 'cpuprofile', '-o', file]);
      const done = await c.exited;
      if (done.code !== 0) throw new Error(`nodeprof exited ${done.code}: ${c.stderr().trim()}`);
      const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { startTime: number; timeDeltas: number[] };
      const spawnUs = Number(t / 1000n);
      start.push((p.startTime - spawnUs) / 1000);
      first.push((p.startTime + (p.timeDeltas[0] ?? 0) - spawnUs) / 1000);
      o.log(
        `P4 run ${i + 1}/${o.p4Runs}: first sample ${first.at(-1)!.toFixed(0)} ms after spawn (Profiler.start at ${start.at(-1)!.toFixed(0)} ms; CLI load ${load.at(-1)!.toFixed(0)} ms)`,
      );
    }
  } finally {
    await stopTarget(target);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    id: 'P4',
    title: 'time from command start to the first sample',
    status: 'measured',
    method:
      'The bench spawns `nodeprof attach <port> --cpu 500ms --format cpuprofile -o f` against a busy target and reads the first sample\'s time (V8 startTime + timeDeltas[0], on the same monotonic clock as the bench\'s process.hrtime) from the profile; "CLI load" is `nodeprof --version` start to exit, run alternately.',
    goal: '< 0.5 s to the first sample',
    rows: [
      { name: 'spawn → first sample', unit: 'ms', summary: summarize(first) },
      { name: 'spawn → Profiler.start in the target', unit: 'ms', summary: summarize(start) },
      { name: 'CLI load alone (`nodeprof --version`, spawn → exit)', unit: 'ms', summary: summarize(load) },
    ],
    notes: [],
  };
}

export async function measureP5(o: LatencyOptions): Promise<Measure> {
  const target = await startTarget('cpu-work.js', { nodeArgs: ['--inspect=127.0.0.1:0'], args: ['loop'] });
  const dir = tmpdir();
  const toFile: number[] = [];
  const toExit: number[] = [];
  let shape = '';
  try {
    for (let i = 0; i < o.p5Runs; i++) {
      const file = path.join(dir, `p5-${i}.pb.gz`);
      const c = startCli(['attach', String(target.inspectPort), '--cpu', `${o.p5WindowS}s`, '--interval', '1ms', '-o', file]);
      const done = await c.exited;
      if (done.code !== 0) throw new Error(`nodeprof exited ${done.code}: ${c.stderr().trim()}`);
      const bytes = fs.readFileSync(file);
      const mtimeMs = fs.statSync(file).mtimeMs;
      const p = decodePprof(bytes);
      // The window ends when V8 stops: the profile's wall-clock start plus its V8 duration.
      const endMs = Number(p.timeNanos) / 1e6 + Number(p.durationNanos) / 1e6;
      toFile.push(mtimeMs - endMs);
      toExit.push(done.atMs - endMs);
      const samples = p.sample.reduce((a, s) => a + Number(s.value[0]), 0);
      shape = `${samples.toLocaleString('en')} samples, ${p.location.length.toLocaleString('en')} locations, ${p.sample.length.toLocaleString('en')} distinct stacks, ${(bytes.length / 1024).toFixed(0)} KiB pprof.gz`;
      o.log(
        `P5 run ${i + 1}/${o.p5Runs}: file written ${toFile.at(-1)!.toFixed(0)} ms after the window, CLI exited at ${toExit.at(-1)!.toFixed(0)} ms (${shape})`,
      );
    }
  } finally {
    await stopTarget(target);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    id: 'P5',
    title: `time from the end of the window to the file being written (${o.p5WindowS} s profile at 1 ms)`,
    status: 'measured',
    method: `\`nodeprof attach <port> --cpu ${o.p5WindowS}s --interval 1ms -o f.pb.gz\` on the synthetic app (bench/fixtures/cpu-work.js, busy). The window ends when V8 stops the profiler: the profile's time_nanos (wall clock just before Profiler.start) plus duration_nanos (V8's own start→stop); the file is written at its mtime. Includes Profiler.stop's transfer, JSON.parse, conversion, gzip and the write.`,
    goal: '< 0.5 s',
    rows: [
      { name: 'window end → file written (mtime)', unit: 'ms', summary: summarize(toFile) },
      { name: 'window end → CLI exited', unit: 'ms', summary: summarize(toExit) },
    ],
    notes: [`Last profile: ${shape}.`],
  };
}

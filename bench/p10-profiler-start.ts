// P10: what Profiler.start costs the target's main thread against its heap size. V8 logs every
// code object on the heap as the profiler starts (a walk of the whole heap, on the main thread):
// the answer to Profiler.start and the first sample both wait for it.

import { findInspectorTarget } from '../src/target/discover.js';
import { connectWebSocket } from '../src/target/remote.js';
import { startTarget, stopTarget } from './lib/procs.js';
import type { Measure, Row } from './lib/report.js';
import { summarize } from './lib/stats.js';

export interface ProfilerStartOptions {
  /** Retained heap of each target, MiB. */
  sizesMB: number[];
  rounds: number;
  log(line: string): void;
}

export async function measureP10(o: ProfilerStartOptions): Promise<Measure> {
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const mb of o.sizesMB) {
    const target = await startTarget('retain-heap.js', { nodeArgs: ['--inspect=127.0.0.1:0'], args: [String(mb)], readyTimeoutMs: 300_000 });
    const answer: number[] = [];
    const gap: number[] = [];
    try {
      const heapUsed = /heapUsed (\d+)/.exec(target.stdout())?.[1] ?? '?';
      const t = await findInspectorTarget('127.0.0.1', target.inspectPort);
      const session = await connectWebSocket(t.webSocketDebuggerUrl, `127.0.0.1:${target.inspectPort}`);
      try {
        await session.send('Profiler.enable');
        await session.send('Profiler.setSamplingInterval', { interval: 1000 });
        for (let r = 0; r < o.rounds; r++) {
          const t0 = performance.now();
          await session.send('Profiler.start');
          answer.push(performance.now() - t0);
          await new Promise((res) => setTimeout(res, 300));
          const { profile } = await session.send('Profiler.stop');
          gap.push((profile.timeDeltas?.[0] ?? NaN) / 1000);
          o.log(
            `P10 ${mb} MiB (heapUsed ${heapUsed} MiB) round ${r + 1}/${o.rounds}: Profiler.start answered in ${answer.at(-1)!.toFixed(0)} ms, first sample ${gap.at(-1)!.toFixed(0)} ms after the start`,
          );
        }
        await session.send('Profiler.disable');
      } finally {
        await session.close();
      }
      rows.push(
        { name: `${mb} MiB retained (heapUsed ${heapUsed} MiB): Profiler.start round trip`, unit: 'ms', summary: summarize(answer) },
        { name: `${mb} MiB retained: Profiler.start → first sample (timeDeltas[0])`, unit: 'ms', summary: summarize(gap) },
      );
    } finally {
      await stopTarget(target);
    }
  }
  notes.push(
    'The round trip is the time the target main thread spends starting the profiler (Profiler.start runs there): it stops the event loop for that long. nodeprof counts it in the seconds asked for and in no frame (pprof/cpu-profile.ts).',
  );
  return {
    id: 'P10',
    title: "what Profiler.start costs the target's main thread against heap size",
    status: 'measured',
    method:
      'bench/fixtures/retain-heap.js retains N MiB of small objects and idles; the bench connects to its inspector, sends Profiler.start (1 ms interval) and times the answer, waits 300 ms, stops and reads timeDeltas[0] (V8: Profiler.start to the first sample). Repeated on the same target.',
    rows,
    notes,
  };
}

// Measures whose feature is not on main yet. Each says what it waits for; replace the body with the
// measurement when the feature lands (the goal and id stay).

import type { Measure } from './lib/report.js';

/** P3: nodeprof's peak RSS while streaming heap snapshots of 100 MB and 500 MB heaps. */
export async function measureP3(): Promise<Measure> {
  return {
    id: 'P3',
    title: 'heap snapshot streaming: peak RSS of nodeprof for targets with 100 MB and 500 MB heaps',
    status: 'not measured yet',
    reason: 'needs `nodeprof attach --heap-snapshot` (issue 4). Plan: fixtures/retain.js-style targets retaining 100 MB and 500 MB, `attach --heap-snapshot -o f`, peak RSS of the CLI from /proc/<pid>/status VmHWM sampled until exit',
    goal: 'flat, under 120 MB whatever the heap size',
  };
}

/** P6: the /debug/pprof facade under concurrent and repeated scrapes. */
export async function measureP6(): Promise<Measure> {
  return {
    id: 'P6',
    title: 'serve facade: 10 concurrent profile?seconds=5, and RSS over 1000 sequential short scrapes',
    status: 'not measured yet',
    reason: 'needs `nodeprof serve` (issue 13). Plan: 10 concurrent GET /debug/pprof/profile?seconds=5 (wall time, status codes), then 1000 sequential short scrapes (heap, goroutine, profile?seconds=1 in turn, bounded) with RSS of serve and of the target every 100',
    goal: 'all 200, flat memory',
  };
}

/** P1 for the heap: sampling heap profiler overhead next to node --heap-prof and @datadog/pprof's heap profiler. */
export async function measureHeapOverhead(): Promise<Measure> {
  return {
    id: 'P1c',
    title: 'overhead of heap sampling (throughput ratio) vs node --heap-prof and @datadog/pprof heap',
    status: 'not measured yet',
    reason: 'needs `nodeprof attach --heap` (issue 4). Plan: the P1 harness (bench/p1-overhead.ts) with conditions `attach --heap` (default 512 KiB interval), `node --heap-prof`, and `@datadog/pprof` `heap.start(512 * 1024, 64)` in the target',
    goal: 'nodeprof within 1 percentage point of node --heap-prof',
  };
}

// Planning the memory and trace kinds: windows, formats and clashes, decided before connecting.
import { describe, expect, test } from '@jest/globals';
import { DEFAULT_HEAP_WINDOW_MS, planJobs, type AttachPlan } from '../../src/attach/plan.js';
import { unknownCategories } from '../../src/collect/trace.js';
import { UsageError } from '../../src/errors.js';

const base: AttachPlan = { target: { kind: 'address', host: '127.0.0.1', port: 9229 } as AttachPlan['target'], intervalUs: 1000, top: false, open: false };

function windows(plan: Partial<AttachPlan>): Record<string, number> {
  return Object.fromEntries(planJobs({ ...base, ...plan }).map((p) => [p.job.kind, p.durationMs]));
}

describe('planJobs', () => {
  test('--heap alone samples for the default window; with other kinds, for the longest of them; --heap-window wins', () => {
    expect(windows({ heap: {} })).toEqual({ heap: DEFAULT_HEAP_WINDOW_MS });
    expect(windows({ heap: {}, cpu: { durationMs: 3000 }, trace: { durationMs: 5000, categories: ['v8'] } })).toEqual({ cpu: 3000, trace: 5000, heap: 5000 });
    expect(windows({ heap: { windowMs: 1500 }, cpu: { durationMs: 3000 } })).toEqual({ cpu: 3000, heap: 1500 });
  });

  test('the snapshot is planned last, with no window of its own', () => {
    const jobs = planJobs({ ...base, heapSnapshot: true, cpu: { durationMs: 1000 }, allocs: { durationMs: 2000 } });
    expect(jobs.map((j) => j.job.kind)).toEqual(['cpu', 'allocs', 'heapsnapshot']);
    expect(jobs[2]!.durationMs).toBe(0);
  });

  test('--heap with --allocs is refused (one sampler per isolate)', () => {
    expect(() => planJobs({ ...base, heap: {}, allocs: { durationMs: 1000 } })).toThrow(/one heap sampler per process/);
  });

  test('formats: heapprofile for heap kinds; single-format kinds ignore a --format meant for the others', () => {
    expect(planJobs({ ...base, allocs: { durationMs: 1000 }, format: 'heapprofile' })[0]!.format).toBe('heapprofile');
    const mixed = planJobs({ ...base, cpu: { durationMs: 1000 }, trace: { durationMs: 1000, categories: ['v8'] }, heapSnapshot: true, format: 'collapsed' });
    expect(mixed.map((j) => j.format)).toEqual(['collapsed', 'trace', 'heapsnapshot']);
    expect(() => planJobs({ ...base, heapSnapshot: true, format: 'pprof' })).toThrow(UsageError);
    expect(() => planJobs({ ...base, heap: {}, format: 'cpuprofile' })).toThrow(UsageError);
  });

  test('nothing asked for names every kind', () => {
    expect(() => planJobs(base)).toThrow(/--cpu .*--heap.*--allocs.*--heap-snapshot.*--trace/);
  });
});

describe('unknownCategories', () => {
  const offered = ['node', 'node.fs.sync', 'v8'];
  test('listed names, their sub-categories and disabled-by-default variants are known', () => {
    expect(unknownCategories(['node', 'v8.execute', 'node.fs.sync', 'disabled-by-default-v8.gc', 'node.perf'], offered)).toEqual([]);
  });
  test('others are not', () => {
    expect(unknownCategories(['nope', 'v88', 'nodejs', 'v8'], offered)).toEqual(['nope', 'v88', 'nodejs']);
  });
});

// attach's planning: the flags (an AttachPlan) become the jobs to run, each with its format and
// window; every usage error is found here, before connecting.

import { DEFAULT_HEAP_INTERVAL_BYTES } from '../collect/heap-sampling.js';
import { UsageError } from '../errors.js';
import { CpuJob, CPU_FORMATS } from '../jobs/cpu.js';
import { HeapSnapshotJob, HEAP_SNAPSHOT_FORMATS } from '../jobs/heap-snapshot.js';
import { HeapJob, HEAP_FORMATS } from '../jobs/heap.js';
import type { Format, Job, ProfileKind } from '../jobs/job.js';
import { TraceJob, TRACE_FORMATS } from '../jobs/trace.js';
import type { TargetSpec } from '../target/target-spec.js';

export interface AttachPlan {
  target: TargetSpec;
  cpu?: { durationMs: number };
  /** --heap: in-use heap, sampled over the window (windowMs from --heap-window, else see planJobs). */
  heap?: { windowMs?: number };
  allocs?: { durationMs: number };
  /** Heap sampling interval, bytes (--heap-interval). */
  heapIntervalBytes?: number;
  heapSnapshot?: boolean;
  trace?: { durationMs: number; categories: string[] };
  /** CPU sampling interval, µs. */
  intervalUs: number;
  /** Deoptimize once after Profiler.start so V8 22+ re-logs hot loop code (see collect/jit-reset.ts). */
  jitReset?: boolean;
  format?: Format;
  output?: string;
  top: boolean;
  open: boolean;
  /** Map frames through source maps (default true). */
  sourceMaps?: boolean;
  /** pid targets: leave an inspector that nodeprof opened open. */
  keepInspector?: boolean;
  /** Also profile worker threads (NodeWorker); samples carry a thread label. */
  workers?: boolean;
  /** Pause a target whose event loop is blocked at attach so running frames are attributed (default on). */
  repair?: boolean;
}

export interface PlannedJob {
  job: Job;
  format: Format;
  durationMs: number;
}

function pickFormat(kind: ProfileKind, allowed: readonly Format[], wanted: Format | undefined): Format {
  if (!wanted) return allowed[0]!;
  if (!allowed.includes(wanted)) {
    throw new UsageError(`--format ${wanted} does not apply to --${kind}: use one of ${allowed.join(', ')}`);
  }
  return wanted;
}

/** --heap's window when it is alone and --heap-window is not given. */
export const DEFAULT_HEAP_WINDOW_MS = 10_000;

/**
 * Kinds with one format of their own (heapsnapshot, trace) ignore a --format meant for the other
 * kinds of the same run; alone, a --format that does not fit them is a usage error.
 */
function pickOwnFormat(kind: ProfileKind, allowed: readonly Format[], wanted: Format | undefined, alone: boolean): Format {
  return alone || (wanted && allowed.includes(wanted)) ? pickFormat(kind, allowed, wanted) : allowed[0]!;
}

export function planJobs(plan: AttachPlan, log?: (line: string) => void): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  if (plan.cpu) {
    const format = pickFormat('cpu', CPU_FORMATS, plan.format);
    const job = new CpuJob(plan.intervalUs, format, {
      jitReset: plan.jitReset,
      sourceMaps: plan.sourceMaps,
      repair: plan.repair,
      workers: plan.workers,
      log,
    });
    jobs.push({ job, format, durationMs: plan.cpu.durationMs });
  }
  if (plan.heap && plan.allocs) {
    throw new UsageError(
      '--heap and --allocs cannot share one window: V8 has one heap sampler per process, recording either live objects or all allocations; run them one after the other',
    );
  }
  const intervalBytes = plan.heapIntervalBytes ?? DEFAULT_HEAP_INTERVAL_BYTES;
  if (plan.allocs) {
    const format = pickFormat('allocs', HEAP_FORMATS, plan.format);
    jobs.push({ job: new HeapJob('allocs', intervalBytes, format, { sourceMaps: plan.sourceMaps }), format, durationMs: plan.allocs.durationMs });
  }
  if (plan.trace) {
    const alone = !plan.cpu && !plan.heap && !plan.allocs && !plan.heapSnapshot;
    const format = pickOwnFormat('trace', TRACE_FORMATS, plan.format, alone);
    jobs.push({ job: new TraceJob(plan.trace.categories), format, durationMs: plan.trace.durationMs });
  }
  if (plan.heap) {
    // --heap has no duration of its own: --heap-window, else the longest other window, else 10s.
    const others = jobs.map((j) => j.durationMs);
    const durationMs = plan.heap.windowMs ?? (others.length > 0 ? Math.max(...others) : DEFAULT_HEAP_WINDOW_MS);
    const format = pickFormat('heap', HEAP_FORMATS, plan.format);
    jobs.push({ job: new HeapJob('heap', intervalBytes, format, { sourceMaps: plan.sourceMaps }), format, durationMs });
  }
  if (plan.heapSnapshot) {
    // Taken once, at the end of the window, after the other kinds have stopped.
    const format = pickOwnFormat('heapsnapshot', HEAP_SNAPSHOT_FORMATS, plan.format, jobs.length === 0);
    jobs.push({ job: new HeapSnapshotJob(), format, durationMs: 0 });
  }
  if (jobs.length === 0) {
    throw new UsageError('nothing to collect: give --cpu <duration> (e.g. --cpu 30s), --heap, --allocs <duration>, --heap-snapshot or --trace <duration>');
  }
  return jobs;
}

// CPU profiling of a list of threads: the main thread, and with `workers` every worker thread
// (NodeWorker) too, those started during the window included; one CpuCollector per thread, all with
// the same options. Without workers the list is the main thread alone. Knows CDP, not pprof.

import { errorMessage } from '../errors.js';
import type { CdpSession } from '../target/session.js';
import { MAIN_THREAD, WorkerWatcher, workerThreadLabel, type WorkerSession } from '../target/workers.js';
import { CpuCollector, type CpuCollectorOptions, type CpuRecording } from './cpu.js';
import { withTimeout } from '../time.js';

export interface ThreadRecording {
  /** `main` or `worker <id> <name>`. */
  thread: string;
  recording: CpuRecording;
  /** The thread's own session (script ids are per isolate), open until cleanup. */
  session: CdpSession;
}

interface WorkerRun {
  session: WorkerSession;
  collector: CpuCollector;
  started: Promise<boolean>;
}

const WORKER_STOP_TIMEOUT_MS = 5000;

export class CpuThreadsCollector {
  private readonly main: CpuCollector;
  private readonly runs: WorkerRun[] = [];
  private watcher: WorkerWatcher | undefined;
  private stopping = false;
  /** Why some threads are missing from the result, for the user. */
  readonly notes: string[] = [];

  /** `opts.onLoopReport` is the main thread's: a worker's blocked loop goes to the profile only. */
  constructor(
    private readonly intervalUs: number,
    private readonly opts: CpuCollectorOptions & { workers?: boolean } = {},
  ) {
    this.main = new CpuCollector(intervalUs, opts);
  }

  async start(session: CdpSession): Promise<void> {
    await this.main.start(session);
    if (!this.opts.workers) return;
    const workerOpts: CpuCollectorOptions = { ...this.opts, onLoopReport: undefined };
    this.watcher = new WorkerWatcher(session, (w) => {
      if (this.stopping) return;
      const collector = new CpuCollector(this.intervalUs, workerOpts);
      const started = collector.start(w).then(
        () => true,
        (err: unknown) => {
          this.notes.push(`${workerThreadLabel(w.info)}: could not start its profiler (${errorMessage(err)})`);
          return false;
        },
      );
      this.runs.push({ session: w, collector, started });
    });
    await this.watcher.start();
  }

  /**
   * Stops every thread's profiler. The worker sessions stay attached until cleanup(), so the
   * caller can still look up source maps through them.
   */
  async stop(session: CdpSession): Promise<ThreadRecording[]> {
    this.stopping = true;
    const stopWorker = async (run: WorkerRun): Promise<ThreadRecording | undefined> => {
      const label = workerThreadLabel(run.session.info);
      if (!(await run.started)) return undefined;
      try {
        const recording = await withTimeout(
          run.collector.stop(run.session),
          WORKER_STOP_TIMEOUT_MS,
          () => new Error(`no answer within ${WORKER_STOP_TIMEOUT_MS / 1000}s`),
          {
            unref: true,
          },
        );
        return { thread: label, recording, session: run.session };
      } catch (err) {
        this.notes.push(
          run.session.isEnded
            ? `${label} exited before the end of the window: its samples are lost (V8 keeps them inside the thread until the profiler is stopped)`
            : `${label}: could not read its profile (${errorMessage(err)})`,
        );
        return undefined;
      }
    };
    const [main, ...workers] = await Promise.all([this.main.stop(session), ...this.runs.map(stopWorker)]);
    return [{ thread: MAIN_THREAD, recording: main as CpuRecording, session }, ...(workers.filter(Boolean) as ThreadRecording[])];
  }

  async cleanup(session: CdpSession): Promise<void> {
    await Promise.all([this.main.cleanup(session), ...this.runs.map((r) => r.collector.cleanup(r.session).catch(() => undefined))]);
    await this.watcher?.stop();
  }
}

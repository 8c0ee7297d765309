// The serve's lasting connection to its target: one main session (process info, the heap sampler,
// the worker threads for goroutine), reopened in the background when the target goes away and
// comes back on the same address.

import { errorMessage } from '../errors.js';
import { describeWithin, type ProcessInfo } from '../target/connect.js';
import { freedSamplesDropped, keepsCollectedHeapSamples } from '../target/features.js';
import type { CdpSession } from '../target/session.js';
import { WorkerWatcher } from '../target/workers.js';
import { HeapSampler } from '../collect/heap-sampling.js';
import { HttpError } from './http-error.js';
import type { Transport } from './transport.js';
import type { HeapMode } from '../pprof/heap-profile.js';
import { sleep } from '../time.js';

export interface Attachment {
  session: CdpSession;
  info: ProcessInfo;
  heap: HeapSampler;
  workers: WorkerWatcher;
}

const RETRY_MS = 1000;
/** How long close() waits for the target to stop the heap sampler before it closes the session. */
const STOP_WAIT_MS = 3000;

export class TargetConnection {
  private current: Attachment | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private lastError = '';

  constructor(
    readonly transport: Transport,
    private readonly heap: { mode: HeapMode; intervalBytes: number; readIntervalMs?: number },
    private readonly log: (line: string) => void,
  ) {}

  /** The first attach: its failure is the caller's (serve exits with the reason). */
  async start(): Promise<Attachment> {
    this.current = await this.attach();
    return this.current;
  }

  private async attach(): Promise<Attachment> {
    const session = await this.transport.open();
    try {
      const info = await describeWithin(session, this.transport.where);
      if (this.heap.mode === 'alloc' && !keepsCollectedHeapSamples(info.nodeVersion)) {
        this.log(`warning: --heap-mode alloc: ${freedSamplesDropped(info.nodeVersion)}: heap and allocs show only sampled allocations still live`);
      }
      const heap = new HeapSampler(this.heap.mode, this.heap.intervalBytes, this.heap.readIntervalMs);
      await heap.start(session);
      // The in-process facade's own worker is not one of the app's threads.
      const workers = new WorkerWatcher(session, undefined, (w) => w.url.endsWith('/register-worker.js'));
      // Without NodeWorker (an old Node), goroutine shows the main thread only.
      await workers.start().catch(() => undefined);
      const att: Attachment = { session, info, heap, workers };
      if (this.closed) {
        await workers.stop();
        await heap.stop(session);
        await session.close();
        return att;
      }
      let finished = false;
      void session.ended.then(() => this.lost(att, finished));
      // Its work is done and it waits for our sessions to go before it exits: nothing here to finish.
      void session.exiting.then(() => {
        finished = true;
        return session.close();
      });
      return att;
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  private lost(att: Attachment, finished: boolean): void {
    if (this.current !== att || this.closed) return;
    this.current = undefined;
    const how = finished ? 'finished its work and is exiting' : 'went away';
    this.log(`target ${this.transport.where} (pid ${att.info.pid}) ${how}; answering 503 and reconnecting every ${RETRY_MS / 1000}s`);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.retry = setTimeout(() => {
      this.attach().then(
        (att) => {
          if (this.closed) return;
          this.current = att;
          this.lastError = '';
          this.log(`reattached to ${this.transport.where} (pid ${att.info.pid}); heap sampling restarted`);
        },
        (err) => {
          this.lastError = errorMessage(err);
          if (!this.closed) this.scheduleRetry();
        },
      );
    }, RETRY_MS);
  }

  /** The live attachment, or a 503 saying the target is gone. */
  get(): Attachment {
    if (this.current && !this.current.session.isEnded) return this.current;
    throw new HttpError(
      503,
      `target ${this.transport.where} is gone (it exited or closed its inspector); nodeprof keeps retrying and answers again when it is back${this.lastError ? ` (last try: ${this.lastError})` : ''}`,
      { 'Retry-After': '1' },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const att = this.current;
    this.current = undefined;
    if (att) {
      // Bounded: a target blocked in native code never answers the stops; closing the session
      // stops the sampler in V8 all the same once the target runs again.
      const stopped = (async () => {
        await att.workers.stop();
        await att.heap.stop(att.session);
      })();
      await Promise.race([stopped, sleep(STOP_WAIT_MS, { unref: true })]);
      await att.session.close();
    }
  }
}

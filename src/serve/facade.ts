// The facade's state and collections, shared by both transports: the target connection, the one
// AddressBook for the life of the facade, and every collection running in the target (so shutdown
// can stop them all).

import type { ServerResponse } from 'node:http';
import { AddressBook } from '../pprof/address-book.js';
import { cpuProfileToBuilder } from '../pprof/cpu-profile.js';
import { gzipPprof } from '../pprof/encode.js';
import type { HeapMode } from '../pprof/heap-profile.js';
import type { Profile } from 'pprof-format';
import type { CdpSession } from '../target/session.js';
import { errorMessage } from '../errors.js';
import { CpuKeeper, KeptSessionEndedError } from './cpu-keeper.js';
import { CpuBusyError, CpuWindows, MAX_CPU_WINDOWS, recordCpu, type CpuWindow } from './cpu-window.js';
import { DEFAULT_HEAP_INTERVAL_BYTES, HEAP_READ_INTERVAL_MS } from '../collect/heap-sampling.js';
import { SERVE_CPU_INTERVAL_US } from './cpu-rate.js';
import { HttpError } from './http-error.js';
import { TargetConnection, type Attachment } from './target-connection.js';
import { heapAnswer } from './profiles.js';
import { SourceMapCache, sourceMapsForCpuProfile, sourceMapsForHeapProfile, type SourceMaps } from '../collect/source-map-loader.js';
import type { FrameMapper } from '../pprof/cpu-profile.js';
import { mainStackWithoutPause, stackWithoutPause, type ThreadStack } from '../collect/stack.js';
import type { Frame } from '../pprof/frame.js';
import { collectTrace } from './trace.js';
import { DEFAULT_TRACE_CATEGORIES } from '../collect/trace.js';
import { streamHeapSnapshot } from '../collect/heap-snapshot.js';
import type { Transport } from './transport.js';
import { after, sleep, withTimeout } from '../time.js';
import { settings } from '../settings.js';
import { formatDuration } from '../duration.js';

export interface FacadeOptions {
  heapMode: HeapMode;
  heapIntervalBytes?: number;
  /**
   * The heap sampler is read from the target at most once per this many ms (default
   * HEAP_READ_INTERVAL_MS): each read is a full GC there. ?gc=1 and ?seconds= read at once.
   */
  heapReadIntervalMs?: number;
  /** CPU sampling interval, µs (default SERVE_CPU_INTERVAL_US, 100 Hz); ?hz= asks for another per request. */
  cpuIntervalUs?: number;
  /** Deoptimize once after each window's Profiler.start on Node 22+ (default true; see collect/jit-reset.ts). */
  jitReset?: boolean;
  /** Longest ?seconds= accepted. */
  maxSeconds: number;
  /** CPU windows at once (default MAX_CPU_WINDOWS). */
  maxCpuWindows?: number;
  log?: (line: string) => void;
}

export class Facade {
  readonly book = new AddressBook();
  /** The connection to the target, reattached when the target comes back. */
  readonly link: TargetConnection;
  readonly heapMode: HeapMode;
  readonly maxSeconds: number;
  readonly cpuIntervalUs: number;
  readonly jitReset: boolean;
  private readonly shutdown = new AbortController();
  private readonly active = new Set<Promise<unknown>>();
  private traceQueue: Promise<unknown> = Promise.resolve();
  /** Source maps per attachment: script ids are per isolate, and a reattached target is a new one. */
  private readonly maps = new WeakMap<Attachment, SourceMapCache>();
  private readonly log: (line: string) => void;
  private snapshotQueue: Promise<unknown> = Promise.resolve();
  /** The CPU windows running in the target, bounded; shared by profile and cpuprofile. */
  readonly cpuWindows: CpuWindows;
  /** One profiler kept running for the windows at the facade's rate (see cpu-keeper.ts). */
  private readonly keeper: CpuKeeper;

  constructor(
    readonly transport: Transport,
    opts: FacadeOptions,
  ) {
    this.heapMode = opts.heapMode;
    this.maxSeconds = opts.maxSeconds;
    this.cpuIntervalUs = opts.cpuIntervalUs ?? SERVE_CPU_INTERVAL_US;
    this.jitReset = opts.jitReset ?? true;
    this.log = opts.log ?? (() => undefined);
    this.cpuWindows = new CpuWindows(opts.maxCpuWindows ?? MAX_CPU_WINDOWS, (ms, stop, intervalUs) =>
      this.recordCpuWindow(ms, stop, intervalUs ?? this.cpuIntervalUs),
    );
    this.keeper = new CpuKeeper(() => this.transport.open(), this.cpuIntervalUs, this.log);
    this.link = new TargetConnection(
      transport,
      {
        mode: opts.heapMode,
        intervalBytes: opts.heapIntervalBytes ?? DEFAULT_HEAP_INTERVAL_BYTES,
        readIntervalMs: opts.heapReadIntervalMs ?? HEAP_READ_INTERVAL_MS,
      },
      this.log,
    );
  }

  private mapCache(att: Attachment): SourceMapCache {
    let cache = this.maps.get(att);
    if (!cache) this.maps.set(att, (cache = new SourceMapCache()));
    return cache;
  }

  /** A frame mapper for a profile's scripts; each map (and each warning) once per attachment. */
  private async mapped(att: Attachment, load: (cache: SourceMapCache) => Promise<SourceMaps>): Promise<FrameMapper> {
    const maps = await load(this.mapCache(att));
    maps.warnings.forEach((line) => this.log(line));
    return maps.mapFrame;
  }

  start(): Promise<Attachment> {
    return this.link.start();
  }

  get closing(): boolean {
    return this.shutdown.signal.aborted;
  }

  /**
   * Runs a collection on a session of its own, cut short when the client goes away or the facade
   * shuts down, and always closes the session (which also stops whatever it left running).
   */
  withSession<T>(res: ServerResponse, fn: (session: CdpSession, signal: AbortSignal) => Promise<T>, windowMs?: number): Promise<T> {
    return this.onSession(this.signalFor(res), fn, windowMs);
  }

  /** withSession for a collection that is no one request's (a shared CPU window): cut short by `stop` or a shutdown. */
  private async onSession<T>(stop: AbortSignal, fn: (session: CdpSession, signal: AbortSignal) => Promise<T>, windowMs?: number): Promise<T> {
    this.link.get(); // 503 at once when the target is gone
    if (this.closing) throw new HttpError(503, 'nodeprof is shutting down');
    const signal = AbortSignal.any([this.shutdown.signal, stop]);
    let session: CdpSession;
    try {
      session = await this.transport.open();
    } catch (err) {
      throw new HttpError(502, `cannot open a session to ${this.transport.where}: ${errorMessage(err)}`);
    }
    const run = (async () => {
      const gone = session.ended.then(() => {
        throw new HttpError(502, `target ${this.transport.where} went away during the collection`);
      });
      try {
        const work = Promise.race([fn(session, signal), gone]);
        // Past its bound the collection is given up (503) and its session closed: the target sees
        // the session end when it runs again, which stops what the session had started.
        return await (windowMs === undefined ? work : withTimeout(work, windowMs + answerTimeoutMs(), () => this.notAnswering(windowMs)));
      } finally {
        gone.catch(() => undefined);
        await session.close();
      }
    })();
    return this.tracked(run, signal);
  }

  /** The 503 of a collection cut short: serve is closing, or the client went away. */
  private cutShort(): HttpError {
    return new HttpError(503, this.closing ? 'nodeprof is shutting down' : 'the client went away');
  }

  /** A collection that close() waits for; one aborted by `signal` answers cutShort(). */
  private async tracked<T>(run: Promise<T>, signal: AbortSignal): Promise<T> {
    this.active.add(run);
    try {
      return await run;
    } catch (err) {
      if (signal.aborted && !(err instanceof HttpError)) throw this.cutShort();
      throw err;
    } finally {
      this.active.delete(run);
    }
  }

  /** A CPU window with its frames mapped through the target's source maps. */
  private async withSourceMaps(att: Attachment, session: CdpSession, w: CpuWindow): Promise<CpuWindow> {
    const mapFrame = await this.mapped(att, (cache) => sourceMapsForCpuProfile(session, w.profile, { cache }));
    return { ...w, mapFrame };
  }

  signalFor(res: ServerResponse): AbortSignal {
    return AbortSignal.any([this.shutdown.signal, closedSignal(res)]);
  }

  /** The wait of a ?seconds= delta, cut short (503) by a shutdown or the client hanging up. */
  async wait(res: ServerResponse, ms: number): Promise<void> {
    try {
      await sleep(ms, { signal: this.signalFor(res) });
    } catch {
      throw this.cutShort();
    }
  }

  /**
   * A CPU window of `seconds` for this request: its own, or a part of one already running (at most
   * MAX_CPU_WINDOWS at once; see CpuWindows), or a 503 with Retry-After at once.
   */
  async cpu(res: ServerResponse, seconds: number, intervalUs?: number): Promise<CpuWindow> {
    this.link.get();
    if (this.closing) throw new HttpError(503, 'nodeprof is shutting down');
    const client = this.signalFor(res);
    try {
      return await this.cpuWindows.take(seconds * 1000, client, intervalUs === this.cpuIntervalUs ? undefined : intervalUs);
    } catch (err) {
      if (err instanceof CpuBusyError) throw new HttpError(503, `target ${this.transport.where}: ${err.message}`, { 'Retry-After': String(err.retryAfterS) });
      if (client.aborted && !(err instanceof HttpError)) throw this.cutShort();
      throw err;
    }
  }

  private async recordCpuWindow(ms: number, stop: AbortSignal, intervalUs: number): Promise<CpuWindow> {
    const att = this.link.get();
    if (this.keeps(att, intervalUs)) {
      const w = await this.keptWindow(att, ms, stop);
      if (w) return w;
    }
    return this.onSession(
      stop,
      async (session, signal) => {
        const w = await recordCpu(session, { ms, intervalUs, jitReset: this.jitReset, canPause: !this.transport.sameThread, signal });
        return this.withSourceMaps(att, session, w);
      },
      ms,
    );
  }

  /**
   * The kept profiler serves the windows at the facade's rate out of process (in-process windows
   * keep their own sessions). On Node 22+ it spares each window the JIT reset, so it is used when the
   * reset is on; on older Node it spares each window V8's profiler start-up (Profiler.start logs
   * every code object of the heap), whatever the reset setting.
   */
  private keeps(att: Attachment, intervalUs: number): boolean {
    if (intervalUs !== this.cpuIntervalUs || this.transport.inProcess) return false;
    return this.jitReset || Number(/^v(\d+)/.exec(att.info.nodeVersion)?.[1] ?? 22) < 22;
  }

  /** A window cut from the kept profiler, or undefined when it cannot serve this one. */
  private async keptWindow(att: Attachment, ms: number, stop: AbortSignal): Promise<CpuWindow | undefined> {
    if (this.closing) throw new HttpError(503, 'nodeprof is shutting down');
    const signal = AbortSignal.any([this.shutdown.signal, stop]);
    const window = this.keeper
      .window(ms, signal, !this.transport.sameThread, (session, w) => this.withSourceMaps(att, session, w))
      .catch((err: unknown) => {
        if (err instanceof KeptSessionEndedError) throw new HttpError(502, `target ${this.transport.where} went away during the collection`);
        throw err;
      });
    const run = withTimeout(window, ms + answerTimeoutMs() + 5000, () => this.notAnswering(ms));
    return this.tracked(run, signal);
  }

  /** The window's profile as a .pb.gz, written straight from the builder's tables. */
  cpuPprof(w: CpuWindow): Buffer {
    return gzipPprof(
      cpuProfileToBuilder(w.profile, {
        intervalUs: w.intervalUs,
        startedAtMs: w.startedAtMs,
        addresses: this.book,
        comments: w.comments,
        mapFrame: w.mapFrame,
        cpuScale: w.cpuScale,
      }).encode(),
    );
  }

  /** The heap sampler's profile: a recent read, or (gc, fresh, or none recent) a read now. */
  async heap(gc: boolean, fresh = false): Promise<Profile> {
    const att = this.link.get();
    const answer = async () => {
      const sampling = await this.onMain(att, () => att.heap.read(att.session, gc, fresh));
      const ageMs = att.heap.ageMs();
      const mapFrame = await this.mapped(att, (cache) => sourceMapsForHeapProfile(att.session, sampling, { cache }));
      return heapAnswer(sampling, {
        mode: att.heap.mode,
        intervalBytes: att.heap.intervalBytes,
        startedAtMs: att.heap.startedAtMs,
        book: this.book,
        mapFrame,
        readAgoMs: ageMs,
        readIntervalMs: att.heap.maxAgeMs,
      });
    };
    return withTimeout(answer(), answerTimeoutMs(), () => this.notAnswering(0));
  }

  /** The 503 of a request whose target did not answer within answerTimeoutMs() of the end of its window (0: none). */
  private notAnswering(windowMs: number): HttpError {
    const within =
      windowMs > 0 ? `${formatDuration(answerTimeoutMs())} of the end of its ${formatDuration(windowMs)} window` : formatDuration(answerTimeoutMs());
    return new HttpError(
      503,
      `target ${this.transport.where} did not answer within ${within}: its main thread is probably inside a long native call (sync fs, crypto, zlib, an addon), where the inspector cannot run; try again when it returns`,
      { 'Retry-After': '5' },
    );
  }

  async stacks(): Promise<Array<ThreadStack<Frame>>> {
    const att = this.link.get();
    const workers = att.workers.list().map((w) =>
      stackWithoutPause(w.info.title, (params) => w.send('Runtime.evaluate', params, 2500)).catch((err: unknown): ThreadStack<Frame> => ({
        thread: w.info.title,
        frames: [],
        error: errorMessage(err),
      })),
    );
    return Promise.all([this.onMain(att, () => mainStackWithoutPause(att.session)), ...workers]);
  }

  /** Trace windows one at a time: the target has one tracing agent. */
  trace(res: ServerResponse, seconds: number, categories: string[] | undefined): Promise<object[]> {
    const run = this.traceQueue.then(() =>
      this.withSession(res, (session, signal) => collectTrace(session, seconds * 1000, categories ?? DEFAULT_TRACE_CATEGORIES, signal), seconds * 1000),
    );
    this.traceQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * Streams a heap snapshot to the response chunk by chunk; one at a time. `begin` (the headers)
   * comes with the first chunk, so a target that never starts the snapshot (blocked in a native
   * call: no build progress within streamHeapSnapshot's start bound, 30 s) gets a 503, and the
   * queue moves on, rather than a 200 with no body that waits for as long as the target does.
   */
  heapSnapshot(res: ServerResponse, begin: () => void): Promise<void> {
    const run = this.snapshotQueue.then(() =>
      this.withSession(res, async (session, signal) => {
        let begun = false;
        // The client gone (or a shutdown) while this request waited its turn: no snapshot for nobody.
        signal.throwIfAborted();
        const abort = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        abort.catch(() => undefined);
        try {
          await streamHeapSnapshot(session, {
            write: (chunk) => {
              if (!begun) begin();
              begun = true;
              res.write(chunk);
            },
            abort,
          });
        } catch (err) {
          if (begun || signal.aborted || session.isEnded) throw err;
          throw new HttpError(503, `target ${this.transport.where}: ${errorMessage(err)}`, { 'Retry-After': '5' });
        }
        if (!begun) begin();
      }),
    );
    this.snapshotQueue = run.catch(() => undefined);
    return run;
  }

  private async onMain<T>(att: Attachment, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // A dying target's socket can fail a command a moment before the session reports its end.
      await Promise.race([att.session.ended, after(500, undefined)]);
      if (att.session.isEnded)
        throw new HttpError(
          503,
          `target ${this.transport.where} is gone (it went away while answering); nodeprof keeps retrying and answers again when it is back`,
          { 'Retry-After': '1' },
        );
      throw new HttpError(500, `the target failed to answer: ${errorMessage(err)}`);
    }
  }

  /** Stops every collection in the target (each closes its session), the heap sampler, the link. */
  async close(): Promise<void> {
    this.shutdown.abort(new Error('shutdown'));
    // A target blocked in native code answers nothing, not even the stops: wait a bounded time,
    // then close the link anyway (closing a session stops what it started in V8; the collections'
    // own sessions end with the process).
    const settled = Promise.allSettled([...this.active]).then(() => true);
    if (!(await Promise.race([settled, after(CLOSE_WAIT_MS, false, { unref: true })])))
      this.log(`the target did not end its collections within ${CLOSE_WAIT_MS / 1000}s; closing the connection`);
    await Promise.race([this.keeper.close(), after(CLOSE_WAIT_MS, undefined, { unref: true })]);
    await this.link.close();
  }
}

/** How long shutdown waits for the target to stop each thing (collections, then the heap sampler). */
export const CLOSE_WAIT_MS = 3000;

/**
 * How long the target may take to answer what a request needs, beyond its ?seconds= window: a
 * target whose main thread is inside a long native call answers nothing until the call returns,
 * and the request then gets a 503 saying so rather than hanging. Under the 10 s that scrapers
 * (Grafana Alloy) give a request, so they log the reason, not their own timeout; long enough for
 * a forced GC of a large heap (?gc=1). NODEPROF_ANSWER_TIMEOUT_MS overrides it.
 */
export const ANSWER_TIMEOUT_MS = 8000;

function answerTimeoutMs(): number {
  return settings().answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
}

function closedSignal(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  // 'close' before the answer is complete means the client hung up.
  res.once('close', () => {
    if (!res.writableFinished) ac.abort(new Error('client closed'));
  });
  return ac.signal;
}

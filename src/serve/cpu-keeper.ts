// One V8 CPU profiler kept running in the target, so serve's windows neither start a profiler each
// (Profiler.start logs every code object of the heap to the new profiler, on the target's main
// thread: hundreds of ms on a big heap, bench P10) nor, on Node 22+, need the JIT reset each. A
// profiler started late does not see the on-stack-replaced code of hot loops compiled before it on
// V8 12+ (collect/jit-reset.ts), whenever that code was compiled: every fresh window needs the
// reset, and its re-warm costs the target most of its throughput under a scraper (bench P9); the
// keeper needs it once. A session's profiler agent keeps its v8::CpuProfiler while any profile of
// the session runs; a console profile (the inspector's own `profile()`, not the app's console)
// keeps one running between windows, and each window is Profiler.start/stop on that same
// session. The console profile is replaced after a window once it is ROTATE_MS old, so its samples
// never pile up; not after every window, because ending it makes V8 serialize the whole console
// profile (its call tree, as big as a window's) on the target's main thread a second time. The
// keeper stops when no window came for IDLE_MS, when serve closes, and when the target exits.
// Every session with the Profiler domain on sees its console-profile events (and starts a profile
// of its own for them), as it would for the app's console.profile().

import type { Protocol } from 'devtools-protocol';
import { CpuCollector } from '../collect/cpu.js';
import { resetOptimizedCode, type JitResetResult } from '../collect/jit-reset.js';
import { errorMessage } from '../errors.js';
import { recordingComments } from '../output/recording-notes.js';
import { ownScript } from '../pprof/frame.js';
import type { CdpSession } from '../target/session.js';
import { sleep, withTimeout } from '../time.js';
import type { CpuWindow } from './cpu-window.js';

/** No window for this long: the keeper stops (the next window starts it again, with a reset). */
export const KEEPER_IDLE_MS = 60_000;
/**
 * How old the console profile may get before it is replaced after a window. At 100 Hz it holds about
 * 30,000 samples (a few hundred KiB in the target, about as much JSON when it ends) after 5 minutes.
 */
export const KEEPER_ROTATE_MS = 300_000;
/** The longest the target may take to answer one of the keeper's own commands. */
const COMMAND_MS = 5000;
const TITLE = 'nodeprof-keeper';
type KeeperTitle = `${typeof TITLE}-${number}`;
const NOT_ANSWERING = `the target did not answer within ${COMMAND_MS / 1000}s`;

/** The kept profiler's session ended under a window or its start: the target went away. */
export class KeptSessionEndedError extends Error {
  constructor() {
    super('the target went away');
  }
}

/** True if the session ended, or ends within a moment (a failed command may come before the close). */
async function endedSoon(session: CdpSession): Promise<boolean> {
  if (session.isEnded) return true;
  return Promise.race([session.ended.then(() => true), sleep(200).then(() => false)]);
}

interface Kept {
  session: CdpSession;
  startedAtMs: number;
  reset: JitResetResult;
  /** The console profile keeping the profiler alive ('' before the first). */
  title: KeeperTitle | '';
  /** When that console profile started (epoch ms). */
  titleAtMs: number;
  /** Set when the console profile ended without us (the app's console.profileEnd()): not usable. */
  lost: boolean;
  /** True while a window runs on it (one Profiler.start per session). */
  busy: boolean;
  windows: number;
  idle?: NodeJS.Timeout;
}

export class CpuKeeper {
  private kept: Promise<Kept | undefined> | undefined;
  private serial = 0;
  private closed = false;
  private failedAtMs = 0;

  constructor(
    private readonly open: () => Promise<CdpSession>,
    readonly intervalUs: number,
    private readonly log: (line: string) => void,
    private readonly opts: { rotateMs?: number } = {},
  ) {}

  /**
   * A window cut from the kept profiler, or undefined when there is none to use (it could not be
   * kept, or another window runs on it): the caller then records a window of its own, with the reset.
   */
  async window(
    ms: number,
    signal: AbortSignal,
    canPause: boolean,
    finish: (session: CdpSession, w: CpuWindow) => Promise<CpuWindow>,
    opts: { probe?: boolean } = {},
    again = false,
  ): Promise<CpuWindow | undefined> {
    const k = await this.get();
    if (!k || k.busy || k.lost || k.session.isEnded || signal.aborted) return undefined;
    k.busy = true;
    // One round trip on the keeper's session first: the target sends its events before the answer,
    // so an end of the console profile it already made (the app's bare console.profileEnd()) is
    // heard here, and the window does not start a fresh, reset-less profiler on this session.
    try {
      await withTimeout(k.session.send('Profiler.enable'), COMMAND_MS, NOT_ANSWERING);
    } catch {
      k.lost = true;
    }
    if (k.lost) {
      k.busy = false;
      await this.stop(k);
      // Once with a new keeper; after that the caller records a window of its own.
      return again ? undefined : this.window(ms, signal, canPause, finish, opts, true);
    }
    clearTimeout(k.idle);
    // The session's profiler is running: enabling, setting the rate (V8 refuses while it profiles)
    // or disabling (which would end the console profile) is not the window's to do.
    const windowSession: CdpSession = {
      send: ((method: string, params?: unknown) =>
        method === 'Profiler.enable' || method === 'Profiler.disable' || method === 'Profiler.setSamplingInterval'
          ? Promise.resolve({})
          : k.session.send(method as 'Profiler.start', params as undefined)) as CdpSession['send'],
      on: (e, l) => k.session.on(e, l),
      get ended() {
        return k.session.ended;
      },
      get isEnded() {
        return k.session.isEnded;
      },
      get exiting() {
        return k.session.exiting;
      },
      close: () => Promise.resolve(),
    };
    // Only the first window checks the loop (and repairs a frame already running): the profiler has
    // run since, so every frame entered after its start is attributed right in later windows.
    const collector = new CpuCollector(this.intervalUs, { repair: canPause, jitReset: false, probe: opts.probe ?? k.windows === 0 });
    const endsAtMs = Date.now() + ms;
    try {
      await collector.start(windowSession);
      await Promise.race([sleep(Math.max(0, endsAtMs - Date.now()), { signal }), k.session.exiting]);
      const rec = await collector.stop(windowSession);
      const first = k.windows++ === 0;
      const comments = [
        ...(first && k.reset.done ? [`nodeprof: ${k.reset.note}`] : []),
        `nodeprof: this window was cut from a CPU profiler kept running since ${new Date(k.startedAtMs).toISOString()}${k.reset.done ? ' (optimized code reset once, when it started)' : ''}`,
        ...recordingComments(rec),
      ];
      return await finish(k.session, { profile: rec.profile, startedAtMs: rec.startedAtMs, intervalUs: rec.intervalUs, comments, cpuScale: rec.cpuScale });
    } catch (err) {
      throw (await endedSoon(k.session)) ? new KeptSessionEndedError() : err;
    } finally {
      await collector.cleanup(windowSession);
      k.busy = false;
      if (k.lost || this.closed) await this.stop(k);
      else await this.rotate(k);
      if (!k.lost) k.idle = setTimeout(() => void this.stop(k), KEEPER_IDLE_MS).unref();
    }
  }

  /** The kept profiler, started (with the reset) on first use or after the last one ended. */
  private get(): Promise<Kept | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const cur = this.kept;
    if (cur) {
      return cur.then((k) => {
        if (k && !k.session.isEnded && !k.lost) return k;
        // A busy one is stopped by its window; one that could not start is tried again later.
        if (k && !k.busy) void this.stop(k);
        if (k && k.busy) return undefined;
        if (!k && Date.now() - this.failedAtMs < KEEPER_IDLE_MS) return undefined;
        if (this.kept === cur) this.kept = undefined;
        return this.get();
      });
    }
    const kept: Promise<Kept | undefined> = this.start().catch((err: unknown) => {
      // The target went away: the window says so; the next one, after a reattach, starts another.
      if (err instanceof KeptSessionEndedError) {
        if (this.kept === kept) this.kept = undefined;
        throw err;
      }
      this.failedAtMs = Date.now();
      this.log(`cannot keep a CPU profiler running in the target (${errorMessage(err)}); CPU windows run a profiler of their own`);
      return undefined;
    });
    this.kept = kept;
    return this.kept;
  }

  private async start(): Promise<Kept> {
    const session = await this.open();
    try {
      const k: Kept = {
        session,
        startedAtMs: Date.now(),
        reset: { done: false, note: '', ms: 0 },
        title: '',
        titleAtMs: 0,
        lost: false,
        busy: false,
        windows: 0,
      };
      session.on('Profiler.consoleProfileFinished', (e) => {
        if (e.title === k.title) k.lost = true;
      });
      // The target waits for our sessions to go before it exits: at once, or after the running window.
      void session.exiting.then(() => {
        k.lost = true;
        if (!k.busy) return this.stop(k);
      });
      await withTimeout(session.send('Profiler.enable'), COMMAND_MS, NOT_ANSWERING);
      await withTimeout(session.send('Profiler.setSamplingInterval', { interval: this.intervalUs }), COMMAND_MS, NOT_ANSWERING);
      await this.consoleProfile(k);
      k.reset = await withTimeout(resetOptimizedCode(session), COMMAND_MS, NOT_ANSWERING);
      if (this.closed) throw new Error('serve is closing');
      return k;
    } catch (err) {
      const gone = await endedSoon(session);
      await session.close();
      throw gone ? new KeptSessionEndedError() : err;
    }
  }

  /** Starts a new console profile on the keeper's session, then ends the previous one. */
  private async consoleProfile(k: Kept): Promise<void> {
    const title: KeeperTitle = `${TITLE}-${++this.serial}`;
    let started = false;
    const off = k.session.on('Profiler.consoleProfileStarted', (e) => {
      if (e.title === title) started = true;
    });
    try {
      // The command line API's profile(): the inspector's console, whatever the app did to its own.
      await withTimeout(evaluate(k.session, 'profile', title), COMMAND_MS, NOT_ANSWERING);
    } finally {
      off();
    }
    // The event comes before the evaluation's answer; without it no profile keeps the profiler.
    if (!started) throw new Error('the target did not start a console profile');
    const prev = k.title;
    k.title = title;
    k.titleAtMs = Date.now();
    if (prev) await withTimeout(evaluate(k.session, 'profileEnd', prev), COMMAND_MS, NOT_ANSWERING);
  }

  private async rotate(k: Kept): Promise<void> {
    if (k.session.isEnded || k.lost || this.closed) return;
    if (Date.now() - k.titleAtMs < (this.opts.rotateMs ?? KEEPER_ROTATE_MS)) return;
    try {
      await this.consoleProfile(k);
    } catch {
      k.lost = true;
    }
    if (k.lost) await this.stop(k);
  }

  private async stop(k: Kept): Promise<void> {
    clearTimeout(k.idle);
    k.lost = true;
    // Closing the session disables its profiler agent, which stops every profile it runs.
    await k.session.close();
  }

  /** Stops the kept profiler (closing its session ends its profiles in V8). */
  async close(): Promise<void> {
    this.closed = true;
    const k = await this.kept?.catch(() => undefined);
    if (k) await this.stop(k);
  }
}

/** The inspector's console command on one of our titles: built from constants and a counter only. */
function evaluate(session: CdpSession, command: 'profile' | 'profileEnd', title: KeeperTitle): Promise<Protocol.Runtime.EvaluateResponse> {
  const EXPRESSION = ownScript(`${command}(${JSON.stringify(title)})`);
  return session.send('Runtime.evaluate', { expression: EXPRESSION, includeCommandLineAPI: true, silent: true, returnByValue: true });
}

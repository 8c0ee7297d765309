// A target whose event loop is already blocked when we attach: detect it (does the loop turn?) and
// repair what V8's CPU profiler gets wrong then (frames already running are blamed on their callers)
// by pausing once, stepping the running frame and resuming. Every wait is bounded, and whatever
// happens the target is left unpaused, with no pause or step pending and the Debugger domain off.
// What it found, in words for the user and the profile, is said by output/recording-notes.ts.

import type { Protocol } from 'devtools-protocol';
import { frameFromCallFrame, ownScript } from '../pprof/frame.js';
import type { CdpSession } from '../target/session.js';

export const PROBE_EXPRESSION = 'new Promise(r => setImmediate(() => r(1)))';
/**
 * A healthy or merely busy server answers the probe in a few ms, but a starved process on an
 * overloaded machine took several hundred (a false "blocked" in a test run; bench/RESULTS.md). A
 * loop that does not turn for a second is what users attach for; shorter stalls end by themselves.
 */
export const DEFAULT_PROBE_TIMEOUT_MS = 1000;

export interface LoopProbe {
  /** 'turning': the loop ran a setImmediate in time; 'blocked': it did not; 'unknown': the session failed. */
  state: 'turning' | 'blocked' | 'unknown';
  /** Epoch ms when the probe was sent. */
  sentAtMs: number;
  /** How long a turning loop took to answer. */
  answeredInMs?: number;
  timeoutMs: number;
  /**
   * For a blocked loop: settles with the epoch ms at which the loop turned again (the probe finally
   * answered), or undefined if the session ended first. Never rejects.
   */
  turned: Promise<number | undefined>;
  error?: string;
}

/** Evaluates a setImmediate round trip in the target: it only resolves once the event loop turns. */
export async function probeEventLoop(session: CdpSession, opts: { timeoutMs?: number } = {}): Promise<LoopProbe> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const sentAtMs = Date.now();
  // Runtime.evaluate is served on an interrupt even while JavaScript spins, but the promise needs a
  // loop turn; a native call that never reaches a stack check answers nothing at all, also "blocked".
  const answer = session.send('Runtime.evaluate', { expression: ownScript(PROBE_EXPRESSION), awaitPromise: true, returnByValue: true, silent: true }).then(
    (res) => (res.exceptionDetails ? { error: res.exceptionDetails.exception?.description ?? res.exceptionDetails.text } : { at: Date.now() }),
    (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
  );
  const turned = Promise.race([answer.then((a) => ('at' in a ? a.at : undefined)), session.ended.then(() => undefined)]);
  const first = await within(answer, timeoutMs);
  if (!first.ok) return { state: 'blocked', sentAtMs, timeoutMs, turned };
  if ('error' in first.value) return { state: 'unknown', sentAtMs, timeoutMs, turned, error: first.value.error };
  return { state: 'turning', sentAtMs, timeoutMs, answeredInMs: first.value.at - sentAtMs, turned };
}

export interface RunningFrame {
  functionName: string;
  /** Path for file:// scripts, the URL otherwise. */
  file: string;
  /** 1-based. */
  line: number;
  column: number;
}

export type RepairOutcome =
  /** Paused, stepped and resumed: frames running from now on are attributed to themselves. */
  | 'repaired'
  /** Debugger.enable did not answer in time (the main thread runs no JavaScript: a long native call). */
  | 'no-answer'
  /** The pause did not land in time (no JavaScript runs: inside a native call). */
  | 'pause-did-not-land'
  /** Paused, but the step did not finish (the running frame sits in a long native or builtin call). */
  | 'step-did-not-finish'
  /** The session ended or a command failed. */
  | 'failed'
  /** Stopped on request (Ctrl-C) before finishing. */
  | 'aborted'
  /** Another debugger holds the target paused: left paused for its owner, not stepped. */
  | 'paused-by-another-debugger';

export interface RepairReport {
  outcome: RepairOutcome;
  repaired: boolean;
  /** The JavaScript stack at the pause, innermost first; empty when the pause did not land. */
  stack: RunningFrame[];
  /** Time the target sat stopped at our pause (paused → step sent, stepped → resume answered), ms. */
  pausedMs: number;
  /** Debugger.enable round trip, ms: the target's main thread announces every script meanwhile. */
  enableMs: number;
  /** Debugger.pause sent → Debugger.paused, ms (the target runs meanwhile, until the pause lands). */
  landMs: number;
  /** Debugger.disable round trip, ms. */
  disableMs: number;
  /** Scripts Debugger.enable announced. */
  scripts: number;
  /** From Debugger.enable sent to Debugger.disable answered, ms: the whole intervention. */
  totalMs: number;
  /** Debugger.disable answered: the target is resumed with nothing pending. When false, the disable
   *  is still queued behind the native call (it is processed in order) or the session is gone, which
   *  also resumes the target and drops a pending pause. */
  disabled: boolean;
  reason?: string;
}

export interface RepairOptions {
  /** Bound on Debugger.enable (it announces every loaded script first). */
  enableTimeoutMs?: number;
  /** Bound on Debugger.pause → Debugger.paused. */
  pauseTimeoutMs?: number;
  /** Bound on Debugger.stepOver → Debugger.paused. */
  stepTimeoutMs?: number;
  /** Bound on every other command (resume, disable). */
  commandTimeoutMs?: number;
  /** Aborting stops waiting at once; the target is still resumed and the debugger disabled. */
  signal?: AbortSignal;
}

export const REPAIR_DEFAULTS = { enableTimeoutMs: 10_000, pauseTimeoutMs: 2_000, stepTimeoutMs: 1_000, commandTimeoutMs: 2_000 } as const;

/**
 * Debugger.enable, pause, stepOver, resume, disable: the step re-enters the running frame's code, so
 * the CPU profiler (started before this) attributes it from then on. Never throws.
 */
export async function repairRunningFrames(session: CdpSession, opts: RepairOptions = {}): Promise<RepairReport> {
  const o = { ...REPAIR_DEFAULTS, ...opts };
  const report: RepairReport = {
    outcome: 'failed',
    repaired: false,
    stack: [],
    pausedMs: 0,
    enableMs: 0,
    landMs: 0,
    disableMs: 0,
    scripts: 0,
    totalMs: 0,
    disabled: false,
  };
  const paused = new EventQueue<Protocol.Debugger.PausedEvent>();
  // Paused call frames may carry no url (ESM on Node 20); Debugger.enable announced each script's.
  const urls = new Map<string, string>();
  const unsubscribe = [
    session.on('Debugger.paused', (e) => paused.push(e)),
    session.on('Debugger.scriptParsed', (e) => {
      report.scripts++;
      urls.set(e.scriptId, e.url);
    }),
  ];
  const started = Date.now();
  let pausedSince: number | undefined;
  const holdEnds = () => {
    if (pausedSince !== undefined) report.pausedMs += Date.now() - pausedSince;
    pausedSince = undefined;
  };
  const bounded = <T>(p: Promise<T>, ms: number) => within(p, ms, session, o.signal);
  try {
    const enabled = await bounded(session.send('Debugger.enable', {}), o.enableTimeoutMs);
    report.enableMs = Date.now() - started;
    if (!enabled.ok) return fail(report, enabled, 'no-answer', `Debugger.enable did not answer within ${o.enableTimeoutMs} ms`);
    // A session enabled on a paused target is told at once (Debugger.paused before the enable
    // answer). Stepping would resume someone else's pause; our Debugger.disable does not.
    const already = paused.take();
    if (already) {
      report.stack = already.callFrames.map((cf) => runningFrame(cf, urls));
      report.outcome = 'paused-by-another-debugger';
      report.reason = 'another debugger holds the target paused; left paused for it';
      return report;
    }

    const pauseAt = Date.now();
    const pauseSent = bounded(session.send('Debugger.pause'), o.commandTimeoutMs);
    const first = await bounded(paused.next(), o.pauseTimeoutMs);
    report.landMs = Date.now() - pauseAt;
    if (!first.ok) {
      const ack = await pauseSent;
      return fail(report, first, ack.ok ? 'pause-did-not-land' : 'no-answer', `the pause did not land within ${o.pauseTimeoutMs} ms`);
    }
    pausedSince = Date.now();
    report.stack = first.value.callFrames.map((cf) => runningFrame(cf, urls));

    const stepAck = await bounded(session.send('Debugger.stepOver', {}), o.commandTimeoutMs);
    holdEnds();
    if (!stepAck.ok) return fail(report, stepAck, 'failed', 'Debugger.stepOver failed');
    const second = await bounded(paused.next(), o.stepTimeoutMs);
    if (!second.ok) return fail(report, second, 'step-did-not-finish', `the step did not finish within ${o.stepTimeoutMs} ms`);
    pausedSince = Date.now();
    const resumed = await bounded(session.send('Debugger.resume', {}), o.commandTimeoutMs);
    holdEnds();
    if (!resumed.ok) return fail(report, resumed, 'failed', 'Debugger.resume failed');
    report.outcome = 'repaired';
    report.repaired = true;
    return report;
  } finally {
    // Resumes a paused target and cancels a pending pause or step (checked on Node 20, 22, 24). Not
    // bounded by the abort signal: it is the one command that must go out.
    const disableAt = Date.now();
    const disabled = await within(session.send('Debugger.disable'), o.commandTimeoutMs, session);
    report.disableMs = Date.now() - disableAt;
    holdEnds();
    report.disabled = disabled.ok;
    for (const off of unsubscribe) off();
    report.totalMs = Date.now() - started;
  }
}

function fail(report: RepairReport, r: Failed, outcome: RepairOutcome, timeoutReason: string): RepairReport {
  report.outcome = r.why === 'aborted' ? 'aborted' : r.why === 'timeout' ? outcome : 'failed';
  report.reason = r.why === 'timeout' ? timeoutReason : r.why === 'aborted' ? 'stopped on request' : r.error;
  return report;
}

function runningFrame(cf: Protocol.Debugger.CallFrame, urls: Map<string, string>): RunningFrame {
  const url = cf.url || urls.get(cf.location.scriptId) || '';
  const f = frameFromCallFrame({ functionName: cf.functionName, url, lineNumber: cf.location.lineNumber, columnNumber: cf.location.columnNumber ?? -1 });
  return { functionName: f.name, file: f.file, line: f.line, column: f.column };
}

type Failed = { ok: false; why: 'timeout' | 'ended' | 'aborted' | 'error'; error?: string };
type Within<T> = { ok: true; value: T } | Failed;

/** Waits for p at most ms (and not past the session's end or an abort); never rejects. */
function within<T>(p: Promise<T>, ms: number, session?: CdpSession, signal?: AbortSignal): Promise<Within<T>> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Within<T>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, why: 'timeout' }), ms);
    const onAbort = () => finish({ ok: false, why: 'aborted' });
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort);
    session?.ended.then(() => finish({ ok: false, why: 'ended', error: 'the inspector session ended' }));
    p.then(
      (value) => finish({ ok: true, value }),
      (err: unknown) => finish({ ok: false, why: 'error', error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

/** Events in arrival order, so a pause that lands before we ask for it is not lost. */
class EventQueue<T> {
  private readonly items: T[] = [];
  private waiter: ((v: T) => void) | undefined;

  push(v: T): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(v);
    } else this.items.push(v);
  }

  /** An event that already arrived, if any. */
  take(): T | undefined {
    return this.items.shift();
  }

  next(): Promise<T> {
    if (this.items.length) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

/** What the event loop was doing when a profile started, and what was done about it. */
export interface LoopAtStart {
  probe: LoopProbe;
  /** Present when the loop was blocked and the repair ran. */
  repair?: RepairReport;
  /** The repair was turned off (--no-repair). */
  repairOff: boolean;
  /** Epoch ms when the loop turned again, if it did before the profile was stopped. */
  turnedAtMs?: number;
  /** Epoch ms when the profile was stopped. */
  stoppedAtMs?: number;
  /** Samples left out of the profile because they were taken before the repair took effect. */
  dropped?: { samples: number; ms: number };
}

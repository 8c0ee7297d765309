// `nodeprof top`: a live view of where a running process spends its CPU, like py-spy top. Each
// thread keeps one V8 profiler running for the whole session (serve/cpu-keeper.ts: a console
// profile on a session of its own, the JIT reset once on V8 12+), and every refresh is a window cut
// from it (Profiler.start/stop on that session), converted as attach converts, and summed per
// function. Quitting closes the sessions, which ends every profile they started in the target.

import { errorMessage } from '../errors.js';
import { SourceMapCache, sourceMapsForCpuProfile } from '../collect/source-map-loader.js';
import { cpuProfileToPprof } from '../pprof/cpu-profile.js';
import { CpuKeeper } from '../serve/cpu-keeper.js';
import { recordCpu, type CpuWindow } from '../serve/cpu-window.js';
import { openTarget, targetName, type Target } from '../target/connect.js';
import type { ResolveOptions } from '../target/pid.js';
import type { CdpSession } from '../target/session.js';
import type { TargetSpec } from '../target/target-spec.js';
import { MAIN_THREAD, WorkerWatcher, workerThreadLabel, type WorkerSession } from '../target/workers.js';
import { after, sleep } from '../time.js';
import { countWindow, SORT_KEYS, ThreadModel } from './model.js';
import { columnsHelp, renderScreen, type ScreenState, type ThreadView } from './screen.js';
import { LiveTerminal, type Key } from './terminal.js';

export interface TopOptions {
  spec: TargetSpec;
  resolve: ResolveOptions;
  workers: boolean;
  intervalUs: number;
  /** How long each refresh's window is, ms (1 s). */
  refreshMs: number;
  /** The shares shown are over this much of the latest time, ms. */
  recentMs: number;
  sourceMaps: boolean;
  /** Lines for the user's terminal before and after the live screen. */
  log(line: string): void;
  /** Ctrl-C or SIGTERM from outside (the terminal itself sends Ctrl-C as a key). */
  interrupted: Promise<void>;
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
}

/** How long quitting may wait for the target to stop its profiles before the sessions are closed anyway. */
const QUIT_WAIT_MS = 3000;

interface LiveThread extends ThreadView {
  keeper: CpuKeeper;
  /** The session windows fall back to when no profiler can be kept (the thread's own). */
  session: CdpSession;
  cache: SourceMapCache;
  windows: number;
  loop?: Promise<void>;
}

export async function runTop(opts: TopOptions): Promise<number> {
  const target = await openTarget(opts.spec, opts.resolve);
  const term = new LiveTerminal(opts.input, opts.output);
  const stop = new AbortController();
  const warnings = new Set<string>();
  const threads: LiveThread[] = [];
  let watcher: WorkerWatcher | undefined;
  const { pid, nodeVersion, argv } = target.info;
  const state: ScreenState = {
    title: `${targetName(target.where, pid, true)} node ${nodeVersion} ${argv.slice(1).join(' ')}`,
    threads,
    selected: 0,
    sort: 'own',
    lines: false,
    paused: false,
    intervalUs: opts.intervalUs,
  };
  const draw = () => term.draw(renderScreen(state, term.width, term.height));
  let ending = '';

  const follow = (label: string, open: () => Promise<CdpSession>, session: CdpSession): LiveThread => {
    const th: LiveThread = {
      label,
      model: new ThreadModel(opts.recentMs),
      keeper: new CpuKeeper(open, opts.intervalUs, (line) => (th.problem = line)),
      session,
      cache: new SourceMapCache(),
      windows: 0,
    };
    th.loop = followThread(th, target, opts, stop.signal, warnings, {
      changed: () => !state.paused && draw(),
      paused: () => state.paused,
    });
    threads.push(th);
    return th;
  };

  const onKey = (k: Key) => {
    switch (k) {
      case 'quit':
        ending ||= 'quit';
        stop.abort();
        return;
      case 'sort1':
      case 'sort2':
      case 'sort3':
      case 'sort4':
        state.sort = SORT_KEYS[Number(k.slice(4)) - 1]!;
        break;
      case 'lines':
        state.lines = !state.lines;
        break;
      case 'next-thread':
        state.selected = (state.selected + 1) % threads.length;
        break;
      case 'previous-thread':
        state.selected = (state.selected + threads.length - 1) % threads.length;
        break;
      case 'pause':
        state.paused = !state.paused;
        break;
      case 'reset':
        threads.forEach((t) => t.model.reset());
        break;
      case 'help':
        state.status = state.status ? undefined : columnsHelp(opts.recentMs);
        break;
    }
    draw();
  };

  try {
    term.enter(onKey, draw);
    draw();
    follow(MAIN_THREAD, () => target.open(), target.session);
    if (opts.workers) {
      watcher = new WorkerWatcher(target.session, (w: WorkerSession) => {
        let used = false;
        // The worker's one session: its keeper closes it when it stops, and cannot reopen it.
        const open = async () => {
          if (used) throw new Error('the worker session was closed');
          used = true;
          return w;
        };
        follow(workerThreadLabel(w.info), open, w);
        draw();
      });
      await watcher.start().catch((err: unknown) => (threads[0]!.problem = `cannot follow worker threads: ${errorMessage(err)}`));
    }
    void target.session.ended.then(() => {
      ending ||= 'exited';
      stop.abort();
    });
    void opts.interrupted.then(() => {
      ending ||= 'quit';
      stop.abort();
    });
    // A redraw each refresh even when no window ends (a target that stopped answering).
    const ticks = setInterval(() => !state.paused && draw(), opts.refreshMs);
    await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    clearInterval(ticks);
  } finally {
    stop.abort();
    // Each loop stops its window (Profiler.stop) on the abort; then the keepers' sessions close,
    // which ends their console profiles. Bounded: a target inside a long native call answers nothing.
    await Promise.race([Promise.allSettled(threads.map((t) => t.loop)), after(QUIT_WAIT_MS, undefined, { unref: true })]);
    await Promise.race([Promise.allSettled(threads.map((t) => t.keeper.close())), after(QUIT_WAIT_MS, undefined, { unref: true })]);
    await watcher?.stop().catch(() => undefined);
    await target.release();
    term.leave();
  }
  for (const w of [...warnings].slice(0, 5)) opts.log(w);
  if (warnings.size > 5) opts.log(`... and ${warnings.size - 5} more warning(s)`);
  if (ending === 'exited') opts.log(`nodeprof: ${targetName(target.where, pid)} exited`);
  return 0;
}

/** Windows one after another on one thread until `signal`, each summed into the thread's model. */
async function followThread(
  th: LiveThread,
  target: Target,
  opts: TopOptions,
  signal: AbortSignal,
  warnings: Set<string>,
  screen: { changed(): void; paused(): boolean },
): Promise<void> {
  const changed = () => screen.changed();
  const finish = async (session: CdpSession, w: CpuWindow): Promise<CpuWindow> => {
    if (!opts.sourceMaps) return w;
    const maps = await sourceMapsForCpuProfile(session, w.profile, { cache: th.cache });
    maps.warnings.forEach((line) => warnings.add(line));
    return { ...w, mapFrame: maps.mapFrame };
  };
  while (!signal.aborted && !th.session.isEnded) {
    const first = th.windows === 0;
    let w: CpuWindow | undefined;
    try {
      // The first window checks for a blocked event loop and repairs frames already running (as
      // attach does); the profiler keeps running after it, so later windows need neither.
      w = await th.keeper.window(opts.refreshMs, signal, first, finish, { probe: first });
      if (!w && !signal.aborted && !th.session.isEnded) {
        // No profiler could be kept: a window of its own (V8's profiler started each refresh).
        th.problem ??= 'cannot keep a CPU profiler running: each refresh starts one';
        w = await recordCpu(th.session, { ms: opts.refreshMs, intervalUs: opts.intervalUs, canPause: first, jitReset: first, signal }).then((rec) =>
          finish(th.session, rec),
        );
      }
    } catch (err) {
      if (signal.aborted || th.session.isEnded) break;
      th.problem = errorMessage(err);
      changed();
      await sleep(opts.refreshMs, { signal }).catch(() => undefined);
      continue;
    }
    if (!w) continue;
    th.windows++;
    // Paused: the screen stays as it was, and what happens meanwhile is not counted.
    if (screen.paused()) continue;
    const p = cpuProfileToPprof(w.profile, { intervalUs: w.intervalUs, startedAtMs: w.startedAtMs, mapFrame: w.mapFrame, cpuScale: w.cpuScale });
    th.model.add(countWindow(p, Math.max(0, (w.profile.endTime - w.profile.startTime) / 1000)));
    changed();
  }
  if (th.session.isEnded && !signal.aborted) {
    th.problem = th.label === MAIN_THREAD ? `${target.where}: the target exited` : 'this worker exited';
    changed();
  }
}

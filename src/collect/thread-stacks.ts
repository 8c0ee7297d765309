// `nodeprof stack`'s collection once connected: pause each thread (the main one, and with workers
// every worker) once for its stack, map it through source maps. Loaded by cli/stack.ts's handler only.

import { captureStack, type StackFrame, type ThreadStack } from './stack.js';
import { loadSourceMaps } from './source-map-loader.js';
import { errorMessage } from '../errors.js';
import { mapStackFrames } from '../output/stack.js';
import type { CdpSession } from '../target/session.js';
import { MAIN_THREAD, WorkerWatcher, workerThreadLabel, type WorkerSession } from '../target/workers.js';
import { sleep } from '../time.js';

/** How long to wait for workers to be announced after NodeWorker.enable (they come at once). */
const WORKER_ANNOUNCE_MS = 300;

export async function collectStacks(
  session: CdpSession,
  workers: boolean,
  timeoutMs: number,
  log: (l: string) => void,
  sourceMaps: boolean,
): Promise<Array<ThreadStack<StackFrame>>> {
  const found: WorkerSession[] = [];
  const watcher = workers ? new WorkerWatcher(session, (w) => found.push(w)) : undefined;
  try {
    if (watcher) {
      await watcher.start();
      await sleep(WORKER_ANNOUNCE_MS);
    }
    const one = async (thread: string, s: CdpSession): Promise<ThreadStack<StackFrame>> => {
      try {
        const c = await captureStack(s, timeoutMs);
        log(`${thread}: paused for ${c.pausedMs} ms`);
        if (!sourceMaps) return { thread, frames: c.frames };
        // After the resume: the target is not kept paused while maps load.
        const scripts = [...new Map(c.frames.filter((f) => f.url && f.scriptId).map((f) => [f.scriptId!, { scriptId: f.scriptId!, url: f.url }])).values()];
        const maps = await loadSourceMaps(s, scripts);
        maps.warnings.forEach(log);
        return { thread, frames: mapStackFrames(c.frames, maps.mapFrame) };
      } catch (err) {
        return { thread, frames: [], error: errorMessage(err) };
      }
    };
    return await Promise.all([one(MAIN_THREAD, session), ...found.map((w) => one(workerThreadLabel(w.info), w))]);
  } finally {
    await watcher?.stop();
  }
}

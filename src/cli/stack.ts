// `nodeprof stack <target>`: prints the current JavaScript stack of the main thread (and workers
// with --workers), like py-spy dump.

import type { Argv } from 'yargs';
import { captureStack } from '../collect/stack.js';
import { parseDuration } from '../duration.js';
import { EXIT_INTERRUPTED, NodeprofError, errorMessage } from '../errors.js';
import { loadSourceMaps } from '../collect/source-maps.js';
import { mapStackFrames, stackText, type ThreadStack } from '../output/stack.js';
import { openTarget } from '../target/connect.js';
import { MAIN_THREAD, WorkerWatcher, workerThreadLabel, type WorkerSession } from '../target/worker-session.js';
import { targetFromArgs } from './attach.js';
import type { CommandContext } from './context.js';

/** How long to wait for workers to be announced after NodeWorker.enable (they come at once). */
const WORKER_ANNOUNCE_MS = 300;

export function stackCommand(ctx: CommandContext) {
  return {
    command: 'stack [target]',
    describe: 'Print the current JavaScript stack of a running Node.js process (like py-spy dump)',
    builder: (y: Argv) =>
      y
        .positional('target', { type: 'string', describe: 'port (9229), host:port, ws://host:port/<id> or pid:<PID>' })
        .option('pid', { type: 'number', describe: 'a local Node process by pid (same as the target pid:<PID>)' })
        .option('workers', { type: 'boolean', default: false, describe: 'also each worker thread' })
        .option('timeout', { type: 'string', default: '5s', describe: 'how long to wait for a thread to pause' })
        .option('keep-inspector', { type: 'boolean', default: false, describe: 'pid targets: leave the inspector nodeprof opened open' })
        .option('source-maps', { type: 'boolean', default: true, describe: 'show original sources (TypeScript, bundles) through source maps; --no-source-maps for generated JavaScript' })
        .option('json', { type: 'boolean', default: false, describe: 'JSON instead of text' })
        .strict()
        .example('$0 stack pid:1234', 'where is it spending its time right now?')
        .example('$0 stack 9229 --workers', 'main thread and every worker'),
    handler: async (argv: Record<string, unknown>) => {
      const spec = targetFromArgs(argv);
      const timeoutMs = parseDuration(String(argv.timeout), '--timeout');
      const interrupts = ctx.interrupts();
      const target = await openTarget(spec, { keepInspector: Boolean(argv['keep-inspector']), log: ctx.log });
      interrupts.setAbortHook(() => target.release());
      let threads: ThreadStack[];
      try {
        const work = collect(target.session, Boolean(argv.workers), timeoutMs, ctx.log, argv.sourceMaps !== false);
        const stopped = interrupts.interrupted.then(() => {
          throw new NodeprofError('interrupted', EXIT_INTERRUPTED);
        });
        threads = await Promise.race([work, stopped]);
      } finally {
        await target.release();
        interrupts.dispose();
      }
      const main = threads[0]!;
      if (main.error && !argv.workers) throw new NodeprofError(`${target.where}: ${main.error}`);
      if (argv.json) {
        process.stdout.write(JSON.stringify({ pid: target.info.pid, nodeVersion: target.info.nodeVersion, argv: target.info.argv, threads }, null, 2) + '\n');
      } else {
        process.stdout.write(stackText(target.info, threads));
      }
      if (threads.some((t) => t.error)) ctx.setExitCode(1);
    },
  };
}

async function collect(
  session: import('../target/session.js').CdpSession,
  workers: boolean,
  timeoutMs: number,
  log: (l: string) => void,
  sourceMaps: boolean,
): Promise<ThreadStack[]> {
  const found: WorkerSession[] = [];
  const watcher = workers ? new WorkerWatcher(session, (w) => found.push(w)) : undefined;
  try {
    if (watcher) {
      await watcher.start();
      await new Promise((r) => setTimeout(r, WORKER_ANNOUNCE_MS));
    }
    const one = async (thread: string, s: import('../target/session.js').CdpSession): Promise<ThreadStack> => {
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
        return { thread, error: errorMessage(err) };
      }
    };
    return await Promise.all([one(MAIN_THREAD, session), ...found.map((w) => one(workerThreadLabel(w.info), w))]);
  } finally {
    await watcher?.stop();
  }
}

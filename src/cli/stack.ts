// `nodeprof stack <target>`: prints the current JavaScript stack of the main thread (and workers
// with --workers), like py-spy dump.

import type { Argv } from 'yargs';
import { parseDuration } from '../duration.js';
import { EXIT_INTERRUPTED, NodeprofError } from '../errors.js';
import type { StackFrame, ThreadStack } from '../collect/stack.js';
import { sourceMapsOption, targetFromArgs, targetOptions } from './target-options.js';
import type { CommandContext } from './context.js';

export function stackCommand(ctx: CommandContext) {
  return {
    command: 'stack [target]',
    describe: 'Print the current JavaScript stack of a running Node.js process (like py-spy dump)',
    builder: (y: Argv) =>
      sourceMapsOption(targetOptions(y), 'show original sources (TypeScript, bundles)')
        .option('workers', { type: 'boolean', default: false, describe: 'also each worker thread' })
        .option('timeout', { type: 'string', default: '5s', describe: 'how long to wait for a thread to pause' })
        .option('json', { type: 'boolean', default: false, describe: 'JSON instead of text' })
        .strict()
        .example('$0 stack pid:1234', 'where is it spending its time right now?')
        .example('$0 stack 9229 --workers', 'main thread and every worker'),
    handler: async (argv: Record<string, unknown>) => {
      const spec = await targetFromArgs(argv);
      const timeoutMs = parseDuration(String(argv.timeout), '--timeout');
      // Loaded by the handler: the other commands start faster without them.
      const [{ openTarget }, { stackText }, { collectStacks }, { terminalJson }] = await Promise.all([
        import('../target/connect.js'),
        import('../output/stack.js'),
        import('../collect/thread-stacks.js'),
        import('../output/terminal-text.js'),
      ]);
      const interrupts = ctx.interrupts();
      const target = await openTarget(spec, { keepInspector: Boolean(argv['keep-inspector']), log: ctx.log });
      interrupts.setAbortHook(() => target.release());
      let threads: Array<ThreadStack<StackFrame>>;
      try {
        const work = collectStacks(target.session, Boolean(argv.workers), timeoutMs, ctx.log, argv.sourceMaps !== false);
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
        process.stdout.write(terminalJson({ pid: target.info.pid, nodeVersion: target.info.nodeVersion, argv: target.info.argv, threads }, 2) + '\n');
      } else {
        process.stdout.write(stackText(target.info, threads));
      }
      if (threads.some((t) => t.error)) ctx.setExitCode(1);
    },
  };
}

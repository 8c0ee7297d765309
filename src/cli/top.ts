// `nodeprof top <target>`: where a running process spends its CPU, live, like py-spy top.

import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { parseCpuInterval } from '../serve/cpu-rate.js';
import { sourceMapsOption, targetFromArgs, targetOptions } from './target-options.js';
import type { CommandContext } from './context.js';

/** Each refresh is one window of this long. */
const REFRESH_MS = 1000;
/** The shares shown are over the last few refreshes. */
const RECENT_MS = 3000;

export function topCommand(ctx: CommandContext) {
  return {
    command: 'top [target]',
    describe: 'Show live which functions use the CPU of a running Node.js process (like py-spy top)',
    builder: (y: Argv) =>
      sourceMapsOption(targetOptions(y), 'show original sources (TypeScript, bundles)')
        .option('workers', { type: 'boolean', default: false, describe: 'also each worker thread (Tab switches between them)' })
        .option('cpu-interval', { type: 'string', default: '10ms', describe: 'CPU sampling interval, 100us to 1s (10ms: 100 Hz, as py-spy)' })
        .strict()
        .example('$0 top pid:1234', 'which functions are busy right now?')
        .example('$0 top 9229 --workers', 'the main thread and every worker (Tab switches)'),
    handler: async (argv: Record<string, unknown>) => {
      const spec = await targetFromArgs(argv);
      const intervalUs = parseCpuInterval(String(argv['cpu-interval']));
      // A live screen needs a terminal to draw on and keys to read; a pipe or a file gets neither.
      if (!process.stdout.isTTY || !process.stdin.isTTY) {
        throw new UsageError('top needs a terminal (stdin and stdout); without one, use `nodeprof attach <target> --cpu 10s --top`');
      }
      const { runTop } = await import('../top/live.js');
      const interrupts = ctx.interrupts();
      try {
        ctx.setExitCode(
          await runTop({
            spec,
            resolve: { keepInspector: Boolean(argv['keep-inspector']), log: ctx.log },
            workers: Boolean(argv.workers),
            intervalUs,
            refreshMs: REFRESH_MS,
            recentMs: RECENT_MS,
            sourceMaps: argv.sourceMaps !== false,
            log: ctx.log,
            interrupted: interrupts.interrupted,
            input: process.stdin,
            output: process.stdout,
          }),
        );
      } finally {
        interrupts.dispose();
      }
    },
  };
}

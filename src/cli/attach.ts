// `nodeprof attach <target> ...`: parses flags into an AttachPlan and hands it to runAttach.

import type { Argv } from 'yargs';
import { runAttach, type AttachPlan } from '../attach.js';
import type { Format } from '../collect/job.js';
import { parseDuration, parseDurationMicros } from '../duration.js';
import { UsageError } from '../errors.js';
import { parseTarget } from '../target/target-spec.js';
import { openInPprof } from './open.js';
import { createProgress } from './progress.js';
import type { CommandContext } from './context.js';

const FORMATS: Format[] = ['pprof', 'cpuprofile', 'heapprofile', 'collapsed'];

export function attachCommand(ctx: CommandContext) {
  return {
    command: 'attach <target>',
    describe: 'Attach to a running Node.js process and collect profiles',
    builder: (y: Argv) =>
      y
        .positional('target', { type: 'string', describe: 'port (9229), host:port, [::1]:9229 or ws://host:port/<id>', demandOption: true })
        .option('cpu', { type: 'string', describe: 'CPU profile for this long (30s, 500ms, 2m, 1m30s)' })
        .option('interval', { type: 'string', default: '1ms', describe: 'CPU sampling interval' })
        .option('output', { alias: 'o', type: 'string', describe: "output file ('-' for stdout; a directory for several kinds)" })
        .option('format', { type: 'string', choices: FORMATS, describe: 'output format (default pprof)' })
        .option('top', { type: 'boolean', default: false, describe: 'also print the top functions in the terminal' })
        .option('open', { type: 'boolean', default: false, describe: 'open the result with go tool pprof -http' })
        .option('repair', {
          type: 'boolean',
          default: true,
          describe: 'if the event loop is blocked at attach, pause the target once, briefly, so functions already running are profiled under their own names (--no-repair never pauses)',
        })
        .strict()
        .example('$0 attach 9229 --cpu 30s', 'CPU profile for 30s, written to a file')
        .example('$0 attach 9229 --cpu 10s > cpu.pb.gz && go tool pprof -top cpu.pb.gz', 'to stdout'),
    handler: async (argv: Record<string, unknown>) => {
      const plan: AttachPlan = {
        target: parseTarget(String(argv.target)),
        cpu: argv.cpu !== undefined ? { durationMs: parseDuration(String(argv.cpu), '--cpu duration') } : undefined,
        intervalUs: parseDurationMicros(String(argv.interval), '--interval'),
        format: argv.format as Format | undefined,
        output: argv.output as string | undefined,
        top: Boolean(argv.top),
        open: Boolean(argv.open),
        repair: argv.repair !== false,
      };
      if (!plan.cpu) throw new UsageError('nothing to collect: give --cpu <duration> (e.g. --cpu 30s)');
      const interrupts = ctx.interrupts();
      try {
        ctx.setExitCode(
          await runAttach(plan, {
            stdoutIsTTY: Boolean(process.stdout.isTTY),
            progress: createProgress(Boolean(process.stderr.isTTY) && !ctx.quiet()),
            log: ctx.log,
            printTop: (text, profileOnStdout) => (profileOnStdout ? process.stderr : process.stdout).write(text),
            interrupted: interrupts.interrupted,
            setAbortHook: interrupts.setAbortHook,
            openInPprof: (file) => openInPprof(file, ctx.log),
          }),
        );
      } finally {
        interrupts.dispose();
      }
    },
  };
}

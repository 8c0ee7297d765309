// `nodeprof attach <target> ...`: parses flags into an AttachPlan and hands it to runAttach.

import type { Argv } from 'yargs';
import type { AttachPlan } from '../attach/plan.js';
import { DEFAULT_TRACE_CATEGORIES } from '../collect/trace.js';
import { parseSize } from '../size.js';
import type { Format } from '../jobs/job.js';
import { FORMATS } from '../output/writers/index.js';
import { parseDuration, parseDurationMicros } from '../duration.js';
import { UsageError } from '../errors.js';
import { parseTarget } from '../target/target-spec.js';
import { sourceMapsOption, targetFromArgs, targetOptions } from './target-options.js';
import { createProgress } from './progress.js';
import { terminalText } from '../output/terminal-text.js';
import type { CommandContext } from './context.js';

export function attachCommand(ctx: CommandContext) {
  return {
    command: 'attach [target]',
    describe: 'Attach to a running Node.js process and collect profiles',
    builder: (y: Argv) =>
      sourceMapsOption(targetOptions(y), 'map frames to original sources (TypeScript, bundles)')
        .option('workers', { type: 'boolean', default: false, describe: 'also profile worker threads; samples get a thread label' })
        .option('cpu', { type: 'string', describe: 'CPU profile for this long (30s, 500ms, 2m, 1m30s)' })
        .option('interval', { type: 'string', default: '1ms', describe: 'CPU sampling interval' })
        .option('heap', { type: 'boolean', describe: 'in-use heap: sampled allocations made during the window and still live at its end' })
        .option('heap-window', { type: 'string', describe: '--heap window (default: the longest other duration given, else 10s)' })
        .option('allocs', { type: 'string', describe: 'every sampled allocation over this long, freed ones included' })
        .option('heap-interval', { type: 'string', default: '512KiB', describe: 'heap sampling interval: about one sample per this many bytes allocated' })
        .option('heap-snapshot', { type: 'boolean', describe: 'full V8 heap snapshot (.heapsnapshot), streamed to disk, at the end of the window' })
        .option('trace', { type: 'string', describe: 'Node trace events over this long (Chrome trace JSON)' })
        .option('categories', { type: 'string', default: DEFAULT_TRACE_CATEGORIES.join(','), describe: 'trace categories, comma-separated' })
        .option('list-categories', { type: 'boolean', describe: 'print the trace categories the target offers, and exit' })
        .option('output', {
          alias: 'o',
          type: 'string',
          describe: "output file ('-' for stdout; a directory for several kinds); an existing file is replaced, a symlink or FIFO of another user refused",
        })
        .option('format', { type: 'string', choices: FORMATS, describe: 'output format (default pprof)' })
        .option('jit-reset', {
          type: 'boolean',
          default: true,
          describe: 'on Node 22+, deoptimize once at start so hot loops compiled before attach are attributed (--no-jit-reset to skip)',
        })
        .option('top', { type: 'boolean', default: false, describe: 'also print the top functions in the terminal' })
        .option('open', {
          type: 'boolean',
          default: false,
          describe: 'open the result: go tool pprof -http, else (no Go, or --format html) the HTML flame graph in the browser',
        })
        .option('repair', {
          type: 'boolean',
          default: true,
          describe:
            'if the event loop is blocked at attach, pause the target once, briefly, so functions already running are profiled under their own names (--no-repair never pauses)',
        })
        .strict()
        .example('$0 attach 9229 --cpu 30s', 'CPU profile for 30s, written to a file')
        .example('$0 attach pid:1234 --cpu 30s', 'a process started without --inspect (opened with SIGUSR1, closed after)')
        .example('$0 attach 9229 --cpu 10s > cpu.pb.gz && go tool pprof -top cpu.pb.gz', 'to stdout')
        .example('$0 attach 9229 --heap --heap-window 30s', 'what the next 30s allocate and keep')
        .example('$0 attach 9229 --cpu 10s --format html', 'an offline HTML flame graph')
        .example('$0 attach 9229 --cpu 10s --allocs 10s', 'two files from one window')
        .example('$0 attach 9229 --heap-snapshot -o app.heapsnapshot', 'full snapshot for Chrome DevTools')
        .example('$0 attach 9229 --trace 5s --categories node.fs.sync,v8', 'trace events for Perfetto'),
    handler: async (argv: Record<string, unknown>) => {
      // Loaded by the handler, not at start-up: `nodeprof --help`, ps and serve do not need them.
      const { listTraceCategories, planJobs, runAttach } = await import('../attach/index.js');
      if (argv['list-categories']) {
        const cats = await listTraceCategories(parseTarget(String(argv.target)));
        process.stdout.write(cats.map((c) => `${terminalText(c)}\n`).join(''));
        return;
      }
      const str = (name: string) => (argv[name] === undefined ? undefined : String(argv[name]));
      const categories = String(argv.categories)
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c.length > 0);
      if (categories.length === 0) throw new UsageError('--categories is empty: give trace categories such as node,v8 (see --list-categories)');
      const heapWindow = str('heap-window');
      if (heapWindow !== undefined && !argv.heap) throw new UsageError('--heap-window applies to --heap only');
      const plan: AttachPlan = {
        target: await targetFromArgs(argv),
        cpu: argv.cpu !== undefined ? { durationMs: parseDuration(String(argv.cpu), '--cpu duration') } : undefined,
        intervalUs: parseDurationMicros(String(argv.interval), '--interval'),
        jitReset: argv.jitReset !== false,
        heap: argv.heap ? { windowMs: heapWindow !== undefined ? parseDuration(heapWindow, '--heap-window') : undefined } : undefined,
        allocs: str('allocs') !== undefined ? { durationMs: parseDuration(str('allocs')!, '--allocs duration') } : undefined,
        heapIntervalBytes: parseSize(String(argv['heap-interval']), '--heap-interval'),
        heapSnapshot: Boolean(argv['heap-snapshot']),
        trace: str('trace') !== undefined ? { durationMs: parseDuration(str('trace')!, '--trace duration'), categories } : undefined,
        format: argv.format as Format | undefined,
        output: argv.output as string | undefined,
        top: Boolean(argv.top),
        open: Boolean(argv.open),
        sourceMaps: argv.sourceMaps !== false,
        keepInspector: Boolean(argv['keep-inspector']),
        workers: Boolean(argv.workers),
        repair: argv.repair !== false,
      };
      planJobs(plan); // usage errors (nothing to collect, clashing kinds, formats) before connecting
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
            openInPprof: async (file) => (await import('./open.js')).openInPprof(file, ctx.log),
          }),
        );
      } finally {
        interrupts.dispose();
      }
    },
  };
}

// `nodeprof serve --target <spec>`: parses flags into a ServePlan and hands it to runServe.

import type { Argv } from 'yargs';
import { parseDuration } from '../duration.js';
import { parseSize } from '../size.js';
import { UsageError } from '../errors.js';
import type { HeapMode } from '../pprof/heap-profile.js';
import { parseListen } from '../serve/listen.js';
import { parseCpuInterval } from '../serve/cpu-rate.js';
import type { ServePlan } from '../serve/serve.js';
import type { CommandContext } from './context.js';
import { terminalText } from '../output/terminal-text.js';

export function serveCommand(ctx: CommandContext) {
  return {
    command: 'serve',
    describe: "Serve a running Node.js process's profiles as Go's /debug/pprof/ (for go tool pprof, Pyroscope, Parca)",
    builder: (y: Argv) =>
      y
        .option('target', { type: 'string', describe: 'port (9229), host:port, [::1]:9229, ws://host:port/<id>, pid:<PID>, auto or cmd:<regex>' })
        .option('all', {
          type: 'boolean',
          default: false,
          describe: 'every local Node.js process, each under /pid/<PID>/debug/pprof/; GET /targets for scrapers',
        })
        .option('match', { type: 'string', describe: '--all: only processes whose command line matches this regular expression' })
        .option('exclude', { type: 'string', describe: '--all: not the processes whose command line matches this regular expression' })
        .option('open-inspectors', {
          type: 'boolean',
          default: false,
          describe:
            '--all: open the inspector of every selected process that has it closed (SIGUSR1, moved off 9229, closed when serve stops): an intervention on each of them; without it only processes started with --inspect are served',
        })
        .option('listen', { type: 'string', default: '127.0.0.1:6060', describe: 'address to serve on (port 0: any free port)' })
        .option('token', {
          type: 'string',
          describe:
            'require this token (Authorization: Bearer or ?token=), at least 16 characters; needed off loopback, and lets requests from web pages through. Also NODEPROF_TOKEN',
        })
        .option('heap-mode', {
          type: 'string',
          choices: ['inuse', 'alloc'],
          default: 'inuse',
          describe: 'what the one heap sampler records: live objects or all allocations',
        })
        .option('heap-interval', {
          type: 'string',
          default: '512KiB',
          describe:
            'heap sampling interval: about one sample per this many bytes allocated (512KiB, as Go and dd-trace; larger: fewer samples, a coarser heap profile)',
        })
        .option('heap-read-interval', {
          type: 'string',
          default: '60s',
          describe:
            'read the heap sampler from the target at most this often (each read is a full GC there; heap and allocs answer from the last read meanwhile); 0 for every request',
        })
        .option('max-seconds', { type: 'number', default: 300, describe: 'longest ?seconds= accepted' })
        .option('cpu-interval', {
          type: 'string',
          default: '10ms',
          describe: 'CPU sampling interval, 100us to 1s (10ms: 100 Hz, as Go; a request may ask for another with ?hz=)',
        })
        .option('jit-reset', {
          type: 'boolean',
          default: true,
          describe:
            'on Node 22+, deoptimize once at the start of each CPU window so hot loops compiled before it are attributed (--no-jit-reset: cheaper, such loops may be blamed on their caller)',
        })
        .strict()
        .example('$0 serve --target 9229', 'then: go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30')
        .example('$0 serve --all --open-inspectors', 'every Node process on this host; Alloy discovery.http reads http://127.0.0.1:6060/targets')
        .epilogue(
          'Security: an inspector runs any code sent to it, and nothing authenticates a connection to it. With --target pid:<PID> of a process ' +
            'whose inspector is closed, serve opens it (SIGUSR1), moves it from 127.0.0.1:9229 to a port the OS picks, and closes it when serve ' +
            'stops (Ctrl-C, SIGTERM, SIGHUP, a crash); meanwhile any local user who finds that port (it shows in /proc/net/tcp) can run code as ' +
            "the target's user. After a kill -9 of serve it stays open until the process exits. An inspector that was already open is left as it is. " +
            'serve --all opens inspectors only with --open-inspectors, and then the same way for every selected process (serialized per network namespace); ' +
            'processes in other network namespaces (containers) are reached through a relay process in their namespace (root only).',
        ),
    handler: async (argv: Record<string, unknown>) => {
      const maxSeconds = Number(argv['max-seconds']);
      if (!Number.isFinite(maxSeconds) || maxSeconds <= 0)
        throw new UsageError(`invalid --max-seconds '${String(argv['max-seconds'])}': use a positive number of seconds`);
      const heapReadIntervalMs = /^0+(\.0+)?(us|ms|s|m|h)?$/.test(String(argv['heap-read-interval']).trim())
        ? 0
        : parseDuration(String(argv['heap-read-interval']), '--heap-read-interval');
      const heapIntervalBytes = parseSize(String(argv['heap-interval']), '--heap-interval');
      const cpuIntervalUs = parseCpuInterval(String(argv['cpu-interval']));
      const jitReset = argv.jitReset !== false;
      const fleetOnly = ['match', 'exclude', 'open-inspectors'].filter((o) => argv[o] !== undefined && argv[o] !== false);
      if (argv.all) {
        if (argv.target !== undefined) throw new UsageError('give either --all or --target, not both');
        const { parseRegex } = await import('../target/target-spec.js');
        const fleetPlan = {
          listen: parseListen(String(argv.listen)),
          token: (argv.token as string | undefined) ?? (process.env.NODEPROF_TOKEN || undefined),
          heapMode: argv['heap-mode'] as HeapMode,
          heapIntervalBytes,
          heapReadIntervalMs,
          maxSeconds,
          cpuIntervalUs,
          jitReset,
          quiet: ctx.quiet(),
          match: argv.match !== undefined ? parseRegex(String(argv.match), '--match') : undefined,
          exclude: argv.exclude !== undefined ? parseRegex(String(argv.exclude), '--exclude') : undefined,
          openInspectors: Boolean(argv['open-inspectors']),
        };
        const { runFleet } = await import('../serve/fleet.js');
        const interrupts = ctx.interrupts();
        try {
          ctx.setExitCode(
            await runFleet(fleetPlan, {
              say: (line) => process.stderr.write(`${terminalText(line)}\n`),
              interrupted: interrupts.interrupted,
              setAbortHook: interrupts.setAbortHook,
            }),
          );
        } finally {
          interrupts.dispose();
        }
        return;
      }
      if (fleetOnly.length > 0) throw new UsageError(`--${fleetOnly[0]} applies to serve --all only`);
      if (argv.target === undefined) throw new UsageError('give --target <port|host:port|pid:<PID>|auto|cmd:<regex>>, or --all');
      const { resolveTarget } = await import('../target/pick.js');
      const plan: ServePlan = {
        target: await resolveTarget(String(argv.target)),
        listen: parseListen(String(argv.listen)),
        token: (argv.token as string | undefined) ?? (process.env.NODEPROF_TOKEN || undefined),
        heapMode: argv['heap-mode'] as HeapMode,
        heapIntervalBytes,
        heapReadIntervalMs,
        maxSeconds,
        cpuIntervalUs,
        jitReset,
        quiet: ctx.quiet(),
      };
      // Loaded only when serving: other commands start faster without the facade's modules.
      const { runServe } = await import('../serve/serve.js');
      const interrupts = ctx.interrupts();
      try {
        ctx.setExitCode(
          await runServe(plan, {
            say: (line) => process.stderr.write(`${terminalText(line)}\n`),
            interrupted: interrupts.interrupted,
            setAbortHook: interrupts.setAbortHook,
          }),
        );
      } finally {
        interrupts.dispose();
      }
    },
  };
}

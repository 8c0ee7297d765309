// `nodeprof serve --target <spec>`: parses flags into a ServePlan and hands it to runServe.

import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { HeapMode } from '../pprof/heap-profile.js';
import { parseListen } from '../serve/listen.js';
import { parseCpuInterval } from '../serve/cpu-rate.js';
import type { ServePlan } from '../serve/serve.js';
import { parseTarget } from '../target/target-spec.js';
import type { CommandContext } from './context.js';
import { terminalText } from '../output/terminal-text.js';

export function serveCommand(ctx: CommandContext) {
  return {
    command: 'serve',
    describe: "Serve a running Node.js process's profiles as Go's /debug/pprof/ (for go tool pprof, Pyroscope, Parca)",
    builder: (y: Argv) =>
      y
        .option('target', { type: 'string', demandOption: true, describe: 'port (9229), host:port, [::1]:9229, ws://host:port/<id> or pid:<PID>' })
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
        .epilogue(
          'Security: an inspector runs any code sent to it, and nothing authenticates a connection to it. With --target pid:<PID> of a process ' +
            'whose inspector is closed, serve opens it (SIGUSR1), moves it from 127.0.0.1:9229 to a port the OS picks, and closes it when serve ' +
            'stops (Ctrl-C, SIGTERM, SIGHUP, a crash); meanwhile any local user who finds that port (it shows in /proc/net/tcp) can run code as ' +
            "the target's user. After a kill -9 of serve it stays open until the process exits. An inspector that was already open is left as it is.",
        ),
    handler: async (argv: Record<string, unknown>) => {
      const maxSeconds = Number(argv['max-seconds']);
      if (!Number.isFinite(maxSeconds) || maxSeconds <= 0)
        throw new UsageError(`invalid --max-seconds '${String(argv['max-seconds'])}': use a positive number of seconds`);
      const plan: ServePlan = {
        target: parseTarget(String(argv.target)),
        listen: parseListen(String(argv.listen)),
        token: (argv.token as string | undefined) ?? (process.env.NODEPROF_TOKEN || undefined),
        heapMode: argv['heap-mode'] as HeapMode,
        maxSeconds,
        cpuIntervalUs: parseCpuInterval(String(argv['cpu-interval'])),
        jitReset: argv.jitReset !== false,
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

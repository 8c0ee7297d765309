// `nodeprof ps`: lists local Node.js processes (a table, or JSON with --json).

import type { Argv } from 'yargs';
import type { CommandContext } from './context.js';

export function psCommand(ctx: CommandContext) {
  return {
    command: 'ps',
    describe: 'List local Node.js processes: pid, Node version, inspector address if open, command line',
    builder: (y: Argv) =>
      y
        .option('json', { type: 'boolean', default: false, describe: 'one JSON array, for scripts' })
        .strict()
        .example('$0 ps', 'then: nodeprof attach pid:<PID> --cpu 30s'),
    handler: async (argv: Record<string, unknown>) => {
      // Loaded by the handler: the other commands start faster without them.
      const [{ processTable }, { listNodeProcesses }, { terminalJson }] = await Promise.all([
        import('../output/processes.js'),
        import('../target/processes.js'),
        import('../output/terminal-text.js'),
      ]);
      const list = await listNodeProcesses();
      if (argv.json) process.stdout.write(terminalJson(list, 2) + '\n');
      else if (list.length === 0) ctx.log("no Node.js processes found (other users' processes show only when run as root)");
      else process.stdout.write(processTable(list, process.stdout.isTTY ? process.stdout.columns || 160 : Infinity));
    },
  };
}

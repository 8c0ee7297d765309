// The command line: parse once, run one command, turn every error into one line and an exit code.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT_RUNTIME, NodeprofError, UsageError, errorMessage } from '../errors.js';
import { attachCommand } from './attach.js';
import { psCommand } from './ps.js';
import { stackCommand } from './stack.js';
import { serveCommand } from './serve.js';
import { viewCommand } from './view.js';
import { topCommand } from './top.js';
import type { CommandContext } from './context.js';
import { installInterrupts } from './signals.js';
import { terminalLines, terminalText } from '../output/terminal-text.js';
import { settingsFromEnv, useSettings } from '../settings.js';
import { setMaxMessageBytes } from '../target/message-bound.js';

/**
 * `--cpu -5s` would otherwise reach yargs as the flags -5 and -s; glue a negative-looking value to
 * its option so the duration parser can say what is wrong with it.
 */
function glueNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (/^--[a-z][a-z-]*$/.test(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * yargs renders the whole help of a command (cliui wrapping every option and example: a noticeable
 * part of start-up, bench/RESULTS.md) as soon as the command's handler has started, to have it
 * ready should the handler fail. Our
 * .fail() never prints help, so that text is never used: skip it. --help itself still renders it.
 * This reaches into yargs' internals; if they change, the guard leaves yargs as it is (only slower).
 */
function skipHelpCache(parser: object): void {
  const internal = parser as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

export async function main(rawArgs: string[] = hideBin(process.argv)): Promise<number> {
  const args = glueNegativeValues(rawArgs);
  let exitCode = 0;
  const verbose = args.includes('--verbose');
  const quiet = args.includes('--quiet') || args.includes('-q');
  // Every line to stderr is escaped here: warnings and errors quote the target's names and paths.
  const log = (line: string) => {
    process.stderr.write(`${terminalText(line)}\n`);
  };
  const ctx: CommandContext = {
    log: (line) => {
      if (!quiet || /^(error|warning)/.test(line)) log(line);
    },
    quiet: () => quiet,
    interrupts: () => installInterrupts(log),
    setExitCode: (c) => {
      exitCode = c;
    },
  };
  const parser = yargs(args)
    .scriptName('nodeprof')
    .usage('$0 <command> [options]\n\nProfile a running Node.js process through its inspector; write pprof for go tool pprof.')
    .command(attachCommand(ctx))
    .command(psCommand(ctx))
    .command(stackCommand(ctx))
    .command(serveCommand(ctx))
    .command(viewCommand(ctx))
    .command(topCommand(ctx))
    .option('quiet', { alias: 'q', type: 'boolean', global: true, describe: 'no progress or notes on stderr, errors only' })
    .option('verbose', { type: 'boolean', global: true, describe: 'stack traces for errors' })
    .middleware(rejectRepeatedOptions, true)
    .demandCommand(1, 'give a command: attach, serve, top, view, ps or stack')
    .strict()
    .help()
    .version()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // Throwing here is what stops yargs from running the handler after a usage error.
      if (err) throw err;
      throw new UsageError(`${usageLine(msg)} (see nodeprof --help)`);
    });
  skipHelpCache(parser);
  try {
    // NODEPROF_* read once, here; a bad NODEPROF_SOURCE_MAP_MAX_SIZE is a usage error now, not a
    // surprise after the profile.
    useSettings(settingsFromEnv(process.env, true));
    setMaxMessageBytes(process.env.NODEPROF_MAX_MESSAGE);
    await parser.parseAsync();
    return exitCode;
  } catch (err) {
    if (err instanceof NodeprofError) {
      log(`nodeprof: ${err.message}`);
      if (verbose && err.cause) process.stderr.write(`${terminalLines(String((err.cause as Error).stack ?? err.cause))}\n`);
      return err.exitCode;
    }
    log(`nodeprof: unexpected error: ${errorMessage(err)}${verbose ? '' : ' (run with --verbose for details)'}`);
    if (verbose) process.stderr.write(`${terminalLines(String((err as Error).stack))}\n`);
    return EXIT_RUNTIME;
  }
}

/**
 * yargs's own messages as one readable line. A refused choice comes as "Invalid values:" and a line
 * per option ("  Argument: format, Given: \"nope\", Choices: \"pprof\", ..."), which the one-line
 * rule would print with literal \n: say instead which option, which value, and the choices.
 */
export function usageLine(msg: string): string {
  const lines = msg
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const choices = lines.map((l) => /^Argument: (.+?), Given: (.*), Choices: (.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  if (lines[0] === 'Invalid values:' && choices.length === lines.length - 1) {
    return choices.map((m) => `--${m[1]} ${m[2]} is not a choice: use one of ${m[3]!.replace(/"/g, '')}`).join('; ');
  }
  return lines.join(' ');
}

/**
 * An option given twice reaches the handlers as an array (`--listen a --listen b` as ['a', 'b']),
 * whose text ('a,b') they would then reject as a value nobody typed. No nodeprof option takes
 * several values, so say which option was repeated instead (as clap-based tools like py-spy do;
 * Go's flag package keeps the last one silently).
 */
function rejectRepeatedOptions(argv: Record<string, unknown>): void {
  // yargs sets every alias and camelCase spelling of an option: name it by its longest
  // dashed spelling, as the help does.
  const repeated = Object.keys(argv)
    .filter((k) => k !== '_' && Array.isArray(argv[k]))
    .sort((a, b) => Number(b.includes('-')) - Number(a.includes('-')) || b.length - a.length);
  const name = repeated[0];
  if (name === undefined) return;
  const values = (argv[name] as unknown[]).map((v) => `'${String(v)}'`).join(', ');
  throw new UsageError(`--${name} given more than once (${values}): give it once`);
}

// What every command that profiles one process takes the same way: the target (positional or
// --pid), --keep-inspector and --source-maps.

import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { parsePick, parseTarget, type TargetSpec } from '../target/target-spec.js';

/** Declares the target positional, --pid and --keep-inspector. */
export function targetOptions<T>(y: Argv<T>) {
  return y
    .positional('target', { type: 'string', describe: 'port (9229), host:port, [::1]:9229, ws://host:port/<id>, pid:<PID>, auto or cmd:<regex>' })
    .option('pid', { type: 'string', describe: 'a local Node process by pid (same as the target pid:<PID>)' })
    .option('keep-inspector', { type: 'boolean', default: false, describe: 'pid targets: leave the inspector nodeprof opened open' });
}

/** Declares --source-maps (on by default); `what` says what they do for this command. */
export function sourceMapsOption<T>(y: Argv<T>, what: string) {
  return y.option('source-maps', { type: 'boolean', default: true, describe: `${what} through source maps; --no-source-maps for generated JavaScript` });
}

/** The positional target or --pid (exactly one of them). */
export async function targetFromArgs(argv: Record<string, unknown>): Promise<TargetSpec> {
  const hasPid = argv.pid !== undefined;
  if (hasPid && argv.target !== undefined) throw new UsageError('give either a target or --pid, not both');
  if (hasPid) return parseTarget(`pid:${String(argv.pid)}`);
  if (argv.target === undefined) throw new UsageError('give a target: a port (9229), host:port, ws://..., pid:<PID> or --pid <PID>');
  // auto and cmd:<regex> name the one process they match (pick.ts), loaded only for them.
  if (parsePick(String(argv.target))) return (await import('../target/pick.js')).resolveTarget(String(argv.target));
  return parseTarget(String(argv.target));
}

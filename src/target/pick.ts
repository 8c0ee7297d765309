// --target auto and --target cmd:<regex>: the one local Node process (besides nodeprof) the
// spelling names, as a pid: target. The sidecar case (Kubernetes shareProcessNamespace, one app).

import { UsageError } from '../errors.js';
import { commandLine, discoverNodeProcesses, type FleetProcess } from './fleet-discovery.js';
import { parsePick, parseTarget, type PickSpec, type TargetSpec } from './target-spec.js';

/** Candidates shown in an error, each "pid (command line)", shortened. */
function listed(ps: FleetProcess[]): string {
  const shown = ps.slice(0, 8).map((p) => {
    const cmd = commandLine(p);
    return `${p.pid} (${cmd.length > 60 ? `${cmd.slice(0, 57)}...` : cmd})`;
  });
  return shown.join(', ') + (ps.length > 8 ? `, and ${ps.length - 8} more` : '');
}

/** The pid the pick names; a UsageError (exit 2) listing the candidates when none or several do. */
export async function pickProcess(pick: PickSpec, discover = discoverNodeProcesses): Promise<number> {
  const all = await discover();
  const chosen = pick.kind === 'auto' ? all : all.filter((p) => pick.re.test(commandLine(p)));
  if (chosen.length === 1) return chosen[0]!.pid;
  const what = pick.kind === 'auto' ? 'Node.js process besides nodeprof' : `Node.js process whose command line matches ${pick.re.source}`;
  if (chosen.length === 0) {
    throw new UsageError(
      `--target ${pick.text}: no ${what} is visible to this user` +
        (pick.kind === 'cmd' && all.length > 0 ? `; candidates: ${listed(all)}` : '') +
        ' (nodeprof ps lists them; as another user, run as that user or root)',
    );
  }
  throw new UsageError(`--target ${pick.text}: ${chosen.length} candidates, pick one with pid:<PID> or cmd:<regex>: ${listed(chosen)}`);
}

/** Any --target spelling: auto and cmd:<regex> become the pid: target of the process they name. */
export async function resolveTarget(input: string): Promise<TargetSpec> {
  const pick = parsePick(input);
  if (!pick) return parseTarget(input);
  return parseTarget(`pid:${await pickProcess(pick)}`);
}

// Local Node.js processes for `nodeprof ps`: pid, Node version, inspector address if open, command line.
// Nothing of the target's is run: its version comes from its inspector or from reading its binary.

import { openInspectorOf } from './pid.js';
import { inspectNodeBinary } from './node-binary.js';
import { allPids, looksLikeNode, netNamespace, readCmdline } from './proc.js';
import { formatHostPort } from './target-spec.js';
import { inspectorVersion } from './discover.js';

export interface NodeProcess {
  pid: number;
  /** e.g. v20.20.2; null when it could not be learned. */
  nodeVersion: string | null;
  /** host:port of the open inspector, null when closed (or not visible to this user). */
  inspector: string | null;
  argv: string[];
}

export async function listNodeProcesses(): Promise<NodeProcess[]> {
  const ourNet = await netNamespace('self');
  const found = await Promise.all(
    (await allPids()).map(async (pid): Promise<NodeProcess | undefined> => {
      if (pid === process.pid) return undefined;
      try {
        if (!(await looksLikeNode(pid))) return undefined;
        const argv = await readCmdline(pid);
        if (argv.length === 0) return undefined; // a kernel thread or a zombie
        // In another network namespace (a container) its ports are not ours to probe: 127.0.0.1:9229
        // here may be someone else's inspector.
        const sameNet = (await netNamespace(pid).catch(() => ourNet)) === ourNet;
        const open = sameNet ? await openInspectorOf(pid).catch(() => undefined) : undefined;
        const version = open
          ? await inspectorVersion(open.host, open.port)
          : // Never by running its binary (`node --version` as root would run whatever a user named node):
            // read from the file it runs, cached per file.
            (await inspectNodeBinary(pid).catch(() => undefined))?.version;
        return { pid, nodeVersion: version ?? null, inspector: open ? formatHostPort(open.host, open.port) : null, argv };
      } catch {
        return undefined; // gone meanwhile, or not ours to read
      }
    }),
  );
  return found.filter((p): p is NodeProcess => p !== undefined).sort((a, b) => a.pid - b.pid);
}

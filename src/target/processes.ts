// Local Node.js processes for `nodeprof ps`: pid, Node version, inspector address if open, command line.

import { execFile } from 'node:child_process';
import { openInspectorOf } from './pid.js';
import { allPids, looksLikeNode, netNamespace, readCmdline, readExe } from './proc.js';
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

/** `<node binary> --version`, once per binary: the only way to learn a closed process's version without touching it. */
function binaryVersion(exe: string, cache: Map<string, Promise<string | null>>): Promise<string | null> {
  let v = cache.get(exe);
  if (!v) {
    v = new Promise((resolve) => {
      execFile(exe, ['--version'], { timeout: 2000, env: {} }, (err, stdout) => {
        const m = /^v\d+\.\d+\.\d+\S*/.exec(stdout.trim());
        resolve(!err && m ? m[0] : null);
      });
    });
    cache.set(exe, v);
  }
  return v;
}

export async function listNodeProcesses(): Promise<NodeProcess[]> {
  const versions = new Map<string, Promise<string | null>>();
  const ourNet = await netNamespace('self');
  const found = await Promise.all(
    (await allPids()).map(async (pid): Promise<NodeProcess | undefined> => {
      if (pid === process.pid) return undefined;
      try {
        if (!(await looksLikeNode(pid))) return undefined;
        const argv = await readCmdline(pid);
        if (argv.length === 0) return undefined; // a kernel thread or a zombie
        const exe = await readExe(pid);
        // In another network namespace (a container) its ports are not ours to probe: 127.0.0.1:9229
        // here may be someone else's inspector.
        const sameNet = (await netNamespace(pid).catch(() => ourNet)) === ourNet;
        const open = sameNet ? await openInspectorOf(pid).catch(() => undefined) : undefined;
        const version = open
          ? await inspectorVersion(open.host, open.port)
          : // the binary may have been replaced or deleted since the process started: /proc/<pid>/exe is the one it runs
            await binaryVersion(exe.endsWith(' (deleted)') ? `/proc/${pid}/exe` : exe, versions);
        return { pid, nodeVersion: version ?? null, inspector: open ? formatHostPort(open.host, open.port) : null, argv };
      } catch {
        return undefined; // gone meanwhile, or not ours to read
      }
    }),
  );
  return found.filter((p): p is NodeProcess => p !== undefined).sort((a, b) => a.pid - b.pid);
}

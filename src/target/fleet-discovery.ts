// Every Node.js process this user may profile, with the labels a fleet scraper wants: service name,
// pid, Node version, container id, hostname (the process's UTS namespace), network namespace and the
// inspector it already has open. Nothing of a target's is run or trusted: its version is read from
// its binary (node-binary.ts), its service name from a package.json read as a bounded regular file,
// its hostname by entering its UTS namespace with nsenter (which runs our `cat`, not theirs).

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openRegularFile, readAt } from '../collect/file-read.js';
import { inspectNodeBinary, processIdentity, readProcText, sameIdentity, type ProcessIdentity } from './node-binary.js';
import { openInspectorOf, type Reach } from './pid.js';
import { allPids, looksLikeNode, readCmdline } from './proc.js';

export interface FleetProcess {
  pid: number;
  argv: string[];
  /** The nearest package.json `name` of the entry script, else the script's basename, else "node". */
  serviceName: string;
  /** e.g. v20.20.2, read from the binary; null when unknown. */
  nodeVersion: string | null;
  /** From /proc/<pid>/cgroup (docker, containerd, cri-o, podman); null outside a container. */
  containerId: string | null;
  /** The hostname of the process's UTS namespace (a pod's name); null when it cannot be learned. */
  hostname: string | null;
  /** The network namespace, as /proc/<pid>/ns/net names it (net:[inode]). */
  netns: string;
  /** True when the process shares nodeprof's network namespace (its 127.0.0.1 is ours). */
  sameNet: boolean;
  /** Who the process is (start time, executable): a reused pid is another process. */
  identity: ProcessIdentity;
}

export interface DiscoverOptions {
  /** Pids never listed besides nodeprof's own (and its children, e.g. its relays). */
  exclude?: (p: FleetProcess) => boolean;
  /** Keeps what was learned about each process between scans (labels do not change while it runs). */
  cache?: DiscoveryCache;
}

/** What scans remember: each process's labels, keyed by pid and checked against its identity; non-Node pids. */
export class DiscoveryCache {
  readonly known = new Map<number, FleetProcess>();
  readonly notNode = new Map<number, ProcessIdentity>();
  readonly hostnames = new Map<string, string | null>();
}

/** The most of a package.json nodeprof reads, and how many directories up it looks. */
const PACKAGE_JSON_MAX = 1 << 20;
const MAX_DEPTH = 40;
/** Longest label value taken from a target (npm names are at most 214 characters). */
const MAX_LABEL = 256;
const HOSTNAME_TIMEOUT_MS = 2000;

/** Options of node that take the next argument as their value. */
const NODE_OPTIONS_WITH_VALUE = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '--title',
  '--env-file',
  '--input-type',
  '--inspect-port',
  '--debug-port',
  '--stack-size',
  '--max-old-space-size',
  '--max-semi-space-size',
  '--openssl-config',
  '--icu-data-dir',
  '--redirect-warnings',
  '--diagnostic-dir',
  '--report-dir',
  '--report-directory',
  '--report-filename',
  '--cpu-prof-dir',
  '--heap-prof-dir',
  '--watch-path',
  '--experimental-policy',
  '--policy-integrity',
  '--unhandled-rejections',
  '--dns-result-order',
  '--secure-heap',
  '--secure-heap-min',
  '--disable-warning',
]);

/** The script node was started with (as written on its command line), or undefined for -e, -p, a REPL. */
export function entryScript(argv: readonly string[]): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '-i' || a === '--interactive' || a === '-') return undefined;
    if (/^-[ep]./.test(a)) return undefined; // -pe, -ep
    if (!a.startsWith('-')) return a;
    if (!a.includes('=') && NODE_OPTIONS_WITH_VALUE.has(a)) i++;
  }
  return undefined;
}

/** A target's string as a label value: one line, no control characters, bounded. */
export function labelValue(text: string): string {
  return [...text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '')].slice(0, MAX_LABEL).join('');
}

/** The container id in a /proc/<pid>/cgroup text: the 64-hex id docker, containerd, cri-o and podman put in the path. */
export function containerIdFromCgroup(text: string): string | null {
  for (const line of text.split('\n')) {
    const m = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?:$|\/)/.exec(line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1));
    if (m) return m[1]!;
  }
  return null;
}

/** Directories nodeprof never reads a package.json from: their files are made by the kernel, not users. */
const SPECIAL = /^\/(proc|sys|dev)(\/|$)/;

/**
 * The `name` of the nearest package.json above the entry script. Only in nodeprof's own mount
 * namespace (a container's paths mean nothing here; nodeprof does not read through /proc/<pid>/root,
 * where the target's symlinks would resolve against our root); only a regular file of at most 1
 * MiB, owned by the process's user or root (so a process cannot make a root nodeprof disclose the
 * name of a package.json it could not read itself); never below /proc, /sys or /dev.
 */
export async function serviceNameOf(pid: number, argv: readonly string[]): Promise<string> {
  const script = entryScript(argv);
  if (!script) return 'node';
  const base = labelValue(path.basename(script)) || 'node';
  try {
    const [theirs, ours] = await Promise.all([fs.readlink(`/proc/${pid}/ns/mnt`), fs.readlink('/proc/self/ns/mnt')]);
    if (theirs !== ours) return base;
    const cwd = await fs.readlink(`/proc/${pid}/cwd`);
    if (!path.isAbsolute(cwd) || cwd.endsWith(' (deleted)')) return base;
    const { uid } = await fs.stat(`/proc/${pid}`);
    let dir = path.dirname(path.resolve(cwd, script));
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      if (SPECIAL.test(dir)) return base;
      const name = await packageName(path.join(dir, 'package.json'), uid);
      if (name) return name;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  } catch {
    // gone, or not ours to read: the script's name will do
  }
  return base;
}

async function packageName(file: string, uid: number): Promise<string | undefined> {
  let f;
  try {
    f = await openRegularFile(file);
  } catch {
    return undefined;
  }
  try {
    if (SPECIAL.test(f.realPath) || f.size > PACKAGE_JSON_MAX) return undefined;
    const st = await f.fh.stat();
    if (st.uid !== uid && st.uid !== 0) return undefined;
    const json = JSON.parse((await readAt(f.fh, 0, f.size)).toString('utf8')) as unknown;
    const name = json && typeof json === 'object' ? (json as { name?: unknown }).name : undefined;
    return typeof name === 'string' && labelValue(name) !== '' ? labelValue(name) : undefined;
  } catch {
    return undefined;
  } finally {
    await f.fh.close();
  }
}

/** Whether this process may enter other processes' namespaces (setns needs CAP_SYS_ADMIN). */
export function canEnterNamespaces(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    const caps = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'))?.[1];
    return caps !== undefined && (BigInt(`0x${caps}`) & (1n << 21n)) !== 0n; // CAP_SYS_ADMIN
  } catch {
    return false;
  }
}

/**
 * The hostname in the process's UTS namespace. Reading /proc/<pid>/root/etc/hostname would give
 * the file its image ships, not the name the kernel holds (Kubernetes sets the pod's name with
 * sethostname); so nodeprof enters the namespace (nsenter --uts, root only) and reads
 * /proc/sys/kernel/hostname there with our own cat. One child per namespace, cached.
 */
export async function hostnameOf(pid: number, cache?: Map<string, string | null>): Promise<string | null> {
  const [theirs, ours] = await Promise.all([fs.readlink(`/proc/${pid}/ns/uts`).catch(() => undefined), fs.readlink('/proc/self/ns/uts')]);
  if (theirs === undefined) return null;
  if (theirs === ours) return labelValue(os.hostname());
  if (cache?.has(theirs)) return cache.get(theirs)!;
  if (!canEnterNamespaces()) return null;
  const name = await new Promise<string | null>((resolve) => {
    execFile(
      'nsenter',
      [`--target=${pid}`, '--uts', '--', 'cat', '/proc/sys/kernel/hostname'],
      { timeout: HOSTNAME_TIMEOUT_MS, maxBuffer: 4096, encoding: 'utf8' },
      (err, stdout) => resolve(err ? null : labelValue(stdout.trim()) || null),
    );
  });
  // Check the namespace is still the one asked about (the pid may have exited and been reused).
  if ((await fs.readlink(`/proc/${pid}/ns/uts`).catch(() => undefined)) !== theirs) return null;
  cache?.set(theirs, name);
  return name;
}

/** The parent pid, from /proc/<pid>/stat. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** What nodeprof learns about one process, or undefined when it is not a Node process (or not visible). */
async function describeProcess(pid: number, cache: DiscoveryCache, ourNet: string): Promise<FleetProcess | undefined> {
  const identity = processIdentity(pid);
  if (!identity) return undefined;
  const known = cache.known.get(pid);
  if (known && sameIdentity(known.identity, identity)) return known;
  const negative = cache.notNode.get(pid);
  if (negative && sameIdentity(negative, identity)) return undefined;
  if (!(await looksLikeNode(pid).catch(() => false))) {
    cache.notNode.set(pid, identity);
    return undefined;
  }
  const argv = await readCmdline(pid);
  if (argv.length === 0) return undefined; // a zombie or a kernel thread
  const netns = await fs.readlink(`/proc/${pid}/ns/net`);
  const [serviceName, binary, cgroup, hostname] = await Promise.all([
    serviceNameOf(pid, argv),
    inspectNodeBinary(pid).catch(() => undefined),
    readProcText(`/proc/${pid}/cgroup`, 64 << 10).catch(() => ''),
    hostnameOf(pid, cache.hostnames).catch(() => null),
  ]);
  // Learned over several reads: still the same process?
  if (!sameIdentity(identity, processIdentity(pid))) return undefined;
  const found: FleetProcess = {
    pid,
    argv,
    serviceName,
    nodeVersion: binary?.version ?? null,
    containerId: containerIdFromCgroup(cgroup),
    hostname,
    netns,
    sameNet: netns === ourNet,
    identity,
  };
  cache.known.set(pid, found);
  return found;
}

/** Every Node.js process visible to this user, by pid; never nodeprof itself nor its children. */
export async function discoverNodeProcesses(opts: DiscoverOptions = {}): Promise<FleetProcess[]> {
  const cache = opts.cache ?? new DiscoveryCache();
  const ourNet = await fs.readlink('/proc/self/ns/net');
  const pids = (await allPids()).filter((pid) => pid !== process.pid && parentPid(pid) !== process.pid);
  const found = await Promise.all(pids.map((pid) => describeProcess(pid, cache, ourNet).catch(() => undefined)));
  // Forget what left: a pid seen again later is looked at afresh.
  const live = new Set(pids);
  for (const map of [cache.known, cache.notNode]) for (const pid of map.keys()) if (!live.has(pid)) map.delete(pid);
  return found.filter((p): p is FleetProcess => p !== undefined && !(opts.exclude?.(p) ?? false)).sort((a, b) => a.pid - b.pid);
}

/** The inspector a discovered process has open, if any (probed with GET /json/version through `reach` in another namespace). */
export async function openInspectorOfProcess(p: FleetProcess, reach?: Reach): Promise<{ host: string; port: number } | undefined> {
  if (!p.sameNet && !reach) return undefined;
  return openInspectorOf(p.pid, p.sameNet ? undefined : reach);
}

/** The command line as one string, for --match / --exclude and messages. */
export function commandLine(p: { argv: readonly string[] }): string {
  // npm and others rewrite their title in place, padding it with spaces.
  return p.argv.join(' ').trimEnd();
}

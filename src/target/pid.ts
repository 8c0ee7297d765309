// pid:<PID> targets: find a local Node process's inspector, opening it with SIGUSR1 when it is
// closed, and hand back a release() that closes what we opened, so the process is left as found.
// attach, serve and stack all go through resolvePid.

import { NodeprofError, errorMessage } from '../errors.js';
import { findInspectorTarget, inspectorVersion } from './discover.js';
import { inspectNodeBinary, processIdentity, sameIdentity, type ProcessIdentity } from './node-binary.js';
import {
  bindCovers,
  connectHost,
  listenersOf,
  listeningSockets,
  looksLikeNode,
  netNamespace,
  processState,
  readCmdline,
  readEnvironVar,
  readExe,
  socketInodes,
  socketOwner,
  type Listener,
} from './proc.js';
import { connectWebSocket } from './remote.js';
import { formatHostPort } from './target-spec.js';

export interface ResolvedPid {
  pid: number;
  host: string;
  port: number;
  /** True when nodeprof opened the inspector (SIGUSR1) and release() will close it again. */
  opened: boolean;
  /**
   * Undoes what resolvePid did: closes an inspector it opened (unless keepInspector). Call it after
   * closing your own sessions on it. Never throws; problems are reported through `log`.
   */
  release(): Promise<void>;
}

export interface ResolveOptions {
  /** Leave an inspector that nodeprof opened open (and say where). */
  keepInspector?: boolean;
  /** How long to wait for the inspector after SIGUSR1. */
  waitMs?: number;
  /** One line to the user (stderr). */
  log?: (line: string) => void;
}

const DEFAULT_WAIT_MS = 10_000;
const POLL_MS = 50;

/** The inspector address a process is configured for (--inspect[-brk|-wait|-port], NODE_OPTIONS); 9229 by default. */
export function configuredInspector(args: readonly string[]): { host: string; port: number } {
  let host = '127.0.0.1';
  let port = 9229;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    const m = /^--(?:inspect|inspect-brk|inspect-wait|inspect-port|debug-port)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    let value = m[1];
    if (value === undefined && /^--(inspect-port|debug-port)$/.test(a) && args[i + 1] && !args[i + 1]!.startsWith('-')) value = args[++i];
    if (!value) continue;
    const hp = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
    if (hp) {
      host = hp[1] ?? (hp[2] || host);
      port = Number(hp[3]);
    } else if (/^\d+$/.test(value)) {
      port = Number(value);
    } else {
      host = value;
    }
  }
  return { host, port };
}

/**
 * SIGUSR1 to the process checkNodeProcess identified, and to no other: Node has no pidfd API, so
 * the identity (start time, executable) is read again, synchronously, right before the signal. A
 * pid reused by another process, or an exec into another program, is refused.
 */
function signalNode(pid: number, identity: ProcessIdentity): void {
  if (!sameIdentity(identity, processIdentity(pid))) {
    throw new NodeprofError(
      processState(pid) === 'gone'
        ? `pid ${pid} exited before its inspector could be opened`
        : `pid ${pid} is no longer the Node.js process nodeprof checked (it exited and the pid was reused, or it ran another program): nothing was sent to it`,
    );
  }
  process.kill(pid, 'SIGUSR1');
}

/** Node's own options: before the script on the command line, then NODE_OPTIONS (which Node applies too). */
async function nodeOptions(pid: number): Promise<string[]> {
  const argv = await readCmdline(pid).catch(() => [] as string[]);
  const options: string[] = [];
  for (const a of argv.slice(1)) {
    if (!a.startsWith('-')) break;
    options.push(a);
  }
  const env = await readEnvironVar(pid, 'NODE_OPTIONS').catch(() => undefined);
  // NODE_OPTIONS is parsed before the command line, which therefore wins.
  return [...(env ? env.split(/\s+/).filter(Boolean) : []), ...options];
}

function describe(pid: number, argv: string[]): string {
  const cmd = argv.join(' ');
  return `pid ${pid}${cmd ? ` (${cmd.length > 60 ? `${cmd.slice(0, 57)}...` : cmd})` : ''}`;
}

function permissionDenied(pid: number): NodeprofError {
  return new NodeprofError(`permission denied for pid ${pid}: it belongs to another user; run nodeprof as that user (or as root)`);
}

function isEacces(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

/**
 * Before SIGUSR1, a name is not enough (a copy of bash named node dies of it): the executable, or
 * the libnode it maps, must carry Node's inspector. Read from the file, never run.
 */
async function checkNodeBinary(pid: number): Promise<void> {
  const exe = await readExe(pid).catch(() => `pid ${pid}'s executable`);
  const binary = await inspectNodeBinary(pid).catch((err: unknown) => {
    if (isEacces(err)) throw permissionDenied(pid);
    if (processState(pid) === 'gone') throw notRunning(pid);
    return { version: null, unreadable: `nodeprof could not read it: ${errorMessage(err)}` };
  });
  if (!binary.version) {
    throw new NodeprofError(
      `pid ${pid} is not a Node.js process nodeprof can open (it runs ${exe}, ${binary.unreadable ?? 'which is named like node but carries no Node.js inspector'}): nothing was sent to it; give the pid of a node process (nodeprof ps lists them), or start it with --inspect and give its address`,
    );
  }
}

function notRunning(pid: number): NodeprofError {
  return new NodeprofError(`no process with pid ${pid}: it is not running (list Node processes with: nodeprof ps)`);
}

/**
 * Checks the pid is a live Node process (by name) we may signal and can reach; throws the
 * user-facing error otherwise. Returns who the process is, for signalNode, which checks more.
 */
export async function checkNodeProcess(pid: number): Promise<ProcessIdentity> {
  const state = processState(pid);
  if (state === 'gone') throw notRunning(pid);
  if (state === 'denied') throw permissionDenied(pid);
  let exe: string;
  try {
    exe = await readExe(pid);
  } catch (err) {
    if (isEacces(err)) throw permissionDenied(pid);
    throw notRunning(pid);
  }
  const identity = processIdentity(pid);
  if (!identity) throw notRunning(pid);
  if (!(await looksLikeNode(pid).catch(() => false))) {
    throw new NodeprofError(`pid ${pid} is not a Node.js process (it runs ${exe}): give the pid of a node process (nodeprof ps lists them)`);
  }
  const [theirs, ours] = await Promise.all([netNamespace(pid).catch(() => undefined), netNamespace('self')]);
  if (theirs && theirs !== ours) {
    throw new NodeprofError(
      `pid ${pid} is in another network namespace (a container?): an inspector it opens is not reachable from here; run nodeprof inside it (e.g. docker exec <container> npx nodeprof attach pid:<PID in the container> ...), or start it with --inspect and publish the port`,
    );
  }
  return identity;
}

/**
 * Of a process's listening sockets, the one that is its Node inspector, probed with GET
 * /json/version. Only sockets on the configured inspector port are probed (unless `anyPort`):
 * probing every port would send stray requests to the app's own servers.
 */
export async function findOpenInspector(listeners: Listener[], port: number, anyPort = false): Promise<{ host: string; port: number } | undefined> {
  const candidates = listeners.filter((l) => anyPort || l.port === port).sort((a, b) => Number(b.port === port) - Number(a.port === port));
  for (const l of candidates.slice(0, 16)) {
    const host = connectHost(l.host);
    if (await inspectorVersion(host, l.port, 1500)) return { host, port: l.port };
  }
  return undefined;
}

/** The inspector a process already has open, if any: on its configured port, or anywhere when that is 0 (random). */
export async function openInspectorOf(pid: number): Promise<{ host: string; port: number } | undefined> {
  const wanted = configuredInspector(await nodeOptions(pid));
  return findOpenInspector(await listenersOf(pid), wanted.port, wanted.port === 0);
}

export async function resolvePid(pid: number, opts: ResolveOptions = {}): Promise<ResolvedPid> {
  const log = opts.log ?? (() => undefined);
  const identity = await checkNodeProcess(pid);
  const options = await nodeOptions(pid);
  const wanted = configuredInspector(options);

  let before: Listener[];
  try {
    before = await listenersOf(pid);
  } catch (err) {
    if (isEacces(err)) throw permissionDenied(pid);
    throw new NodeprofError(`cannot read the sockets of pid ${pid}: ${errorMessage(err)}`);
  }
  const open = await findOpenInspector(before, wanted.port, wanted.port === 0);
  if (open) return { pid, ...open, opened: false, release: async () => undefined };

  await checkNodeBinary(pid);
  // Closed: SIGUSR1 would open it on the configured address. Off loopback that is a door into the
  // process (the inspector runs any code) for every machine that can reach it: not ours to open.
  if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(wanted.host)) {
    throw new NodeprofError(
      `pid ${pid} is configured to open its inspector on ${formatHostPort(wanted.host, wanted.port)}, reachable from other machines: nodeprof will not open it there (SIGUSR1 not sent); start the process with --inspect-port=127.0.0.1:<port>, or open the inspector yourself and give nodeprof its address`,
    );
  }
  // Closed: SIGUSR1 opens it on the configured address, unless another process holds that port.
  // Node would then report "address already in use" only on the target's own stderr, so look first.
  await checkPortFree(pid, wanted);
  const known = new Set(before.map((l) => l.inode));
  try {
    signalNode(pid, identity);
  } catch (err) {
    if (err instanceof NodeprofError) throw err;
    if (isEacces(err)) throw permissionDenied(pid);
    throw new NodeprofError(`pid ${pid} exited before its inspector could be opened`);
  }
  const waitMs = opts.waitMs ?? DEFAULT_WAIT_MS;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const state = processState(pid);
    if (state !== 'alive') throw new NodeprofError(`pid ${pid} exited while nodeprof waited for its inspector to open (after SIGUSR1)`);
    const fresh = (await listenersOf(pid).catch(() => [] as Listener[])).filter((l) => !known.has(l.inode));
    if (fresh.length > 0) {
      const found = await findOpenInspector(fresh, wanted.port, true);
      if (found) {
        const where = formatHostPort(found.host, found.port);
        return {
          pid,
          ...found,
          opened: true,
          release: async () => {
            if (opts.keepInspector) {
              log(`the inspector of pid ${pid} stays open on ${where} (--keep-inspector): later runs on pid:${pid} reuse it and leave it open; it closes when the process exits`);
              return;
            }
            await closeInspector(pid, found.host, found.port, log);
          },
        };
      }
      fresh.forEach((l) => known.add(l.inode));
    }
    if (Date.now() > deadline) {
      await checkPortFree(pid, wanted);
      // An inspector opened from code (inspector.open(port)) ignores SIGUSR1 and may sit on any port.
      const elsewhere = await findOpenInspector(before, wanted.port, true);
      if (elsewhere) return { pid, ...elsewhere, opened: false, release: async () => undefined };
      throw new NodeprofError(
        `pid ${pid} did not open its inspector within ${waitMs / 1000}s of SIGUSR1: it may handle SIGUSR1 itself or run with --disable-sigusr1; start it with --inspect instead`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function checkPortFree(pid: number, wanted: { host: string; port: number }): Promise<void> {
  if (wanted.port === 0) return;
  const holders = (await listeningSockets(pid)).filter((l) => l.port === wanted.port && bindCovers(l.host, wanted.host));
  if (holders.length === 0) return;
  const own = await socketInodes(pid).catch(() => new Set<number>());
  for (const l of holders) {
    const addr = formatHostPort(wanted.host, wanted.port);
    if (own.has(l.inode)) {
      throw new NodeprofError(`cannot open the inspector of pid ${pid}: it listens on ${addr} itself with something that is not an inspector; start it with --inspect-port=<free port>`);
    }
    const owner = await socketOwner(l.inode, pid);
    if (owner === undefined) {
      throw new NodeprofError(
        `cannot open the inspector of pid ${pid}: ${addr} is already held by another process (not visible to this user); free the port, or start the target with --inspect-port=<free port>`,
      );
    }
    const argv = await readCmdline(owner).catch(() => [] as string[]);
    throw new NodeprofError(
      `cannot open the inspector of pid ${pid}: ${addr} is already held by ${describe(owner, argv)}; stop it or close its inspector first (a nodeprof --keep-inspector?), or start the target with --inspect-port=<free port>`,
    );
  }
}

/**
 * Closes an inspector from inside the target. `require` comes from the inspector's command-line API
 * (Node 18-22, CJS and ESM apps alike); the call ends our connection, which is the success case.
 */
export async function closeInspector(pid: number, host: string, port: number, log: (line: string) => void): Promise<void> {
  const where = formatHostPort(host, port);
  if (processState(pid) !== 'alive') return;
  try {
    const target = await findInspectorTarget(host, port);
    const session = await connectWebSocket(target.webSocketDebuggerUrl, where);
    try {
      await Promise.race([
        session
          .send('Runtime.evaluate', { expression: "require('inspector').close()", includeCommandLineAPI: true, silent: true })
          .catch((err: unknown) => {
            if (!/WebSocket connection closed|WebSocket is not open/.test(errorMessage(err))) throw err;
          }),
        session.ended,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3s')), 3000).unref()),
      ]);
    } finally {
      await session.close();
    }
  } catch (err) {
    if (processState(pid) !== 'alive') return;
    // Closed meanwhile: a target that finished its work stops listening, then exits.
    if (!(await listenersOf(pid).catch(() => [] as Listener[])).some((l) => l.port === port)) return;
    log(`warning: could not close the inspector that nodeprof opened in pid ${pid} on ${where}: ${errorMessage(err)}`);
    return;
  }
  // The port is free at once on the Node versions we checked; make sure before saying we are done.
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    const still = await listenersOf(pid).catch(() => [] as Listener[]);
    if (!still.some((l) => l.port === port)) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  log(`warning: the inspector of pid ${pid} still listens on ${where} after nodeprof asked it to close`);
}

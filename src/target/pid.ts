// pid:<PID> targets: find a local Node process's inspector, opening it with SIGUSR1 when it is
// closed, and hand back a release() that closes what we opened, so the process is left as found.
// attach, serve and stack all go through resolvePid.

import fs from 'node:fs/promises';
import { NodeprofError, errorMessage, oneLine } from '../errors.js';
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
import { after, sleep } from '../time.js';

export interface ResolvedPid {
  pid: number;
  host: string;
  port: number;
  /** True when nodeprof opened the inspector (SIGUSR1) and release() will close it again. */
  opened: boolean;
  /** Where SIGUSR1 opened it, when nodeprof then moved it to host:port (moveInspector). */
  movedFrom?: { host: string; port: number };
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
  /**
   * Once SIGUSR1 opened the inspector on its well-known port (9229), move it to a port the OS picks
   * (serve, which keeps it open for its whole life): 9229 is free again at once, and nothing that
   * only tries 9229 finds it. A local user can still find the new port (/proc/net/tcp).
   */
  moveInspector?: boolean;
  /**
   * For a process in another network namespace (serve --all, as root): where, from here, to reach
   * host:port of that namespace (a relay). Without it such a process is refused.
   */
  reach?: Reach;
}

/** Maps an address in a target's network namespace to one this process can connect to. */
export type Reach = (host: string, port: number) => Promise<{ host: string; port: number }>;

const direct: Reach = async (host, port) => ({ host, port });

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
export async function checkNodeProcess(pid: number, otherNetOk = false): Promise<ProcessIdentity> {
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
  if (theirs && theirs !== ours && !otherNetOk) {
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
export async function findOpenInspector(
  listeners: Listener[],
  port: number,
  anyPort = false,
  reach: Reach = direct,
): Promise<{ host: string; port: number } | undefined> {
  const candidates = listeners.filter((l) => anyPort || l.port === port).sort((a, b) => Number(b.port === port) - Number(a.port === port));
  for (const l of candidates.slice(0, 16)) {
    const host = connectHost(l.host);
    const via = await reach(host, l.port);
    if (await inspectorVersion(via.host, via.port, 1500)) return { host, port: l.port };
  }
  return undefined;
}

/** The inspector a process already has open, if any: on its configured port, or anywhere when that is 0 (random). */
export async function openInspectorOf(pid: number, reach?: Reach): Promise<{ host: string; port: number } | undefined> {
  const wanted = configuredInspector(await nodeOptions(pid));
  return findOpenInspector(await listenersOf(pid), wanted.port, wanted.port === 0, reach);
}

export async function resolvePid(pid: number, opts: ResolveOptions = {}): Promise<ResolvedPid> {
  const log = opts.log ?? (() => undefined);
  const identity = await checkNodeProcess(pid, opts.reach !== undefined);
  const reach = opts.reach ?? direct;
  const options = await nodeOptions(pid);
  const wanted = configuredInspector(options);

  let before: Listener[];
  try {
    before = await listenersOf(pid);
  } catch (err) {
    if (isEacces(err)) throw permissionDenied(pid);
    throw new NodeprofError(`cannot read the sockets of pid ${pid}: ${errorMessage(err)}`);
  }
  const open = await findOpenInspector(before, wanted.port, wanted.port === 0, reach);
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
      const opened = await findOpenInspector(fresh, wanted.port, true, reach);
      if (opened) {
        // A configured port of 0 already is one the OS picked.
        const found = opts.moveInspector && opened.port !== 0 ? await moveInspector(pid, opened, log, reach) : opened;
        const where = formatHostPort(found.host, found.port);
        return {
          pid,
          ...found,
          opened: true,
          ...(found.port !== opened.port ? { movedFrom: opened } : {}),
          release: async () => {
            if (opts.keepInspector) {
              log(
                `the inspector of pid ${pid} stays open on ${where} (--keep-inspector): later runs on pid:${pid} reuse it and leave it open; it closes when the process exits`,
              );
              return;
            }
            await closeInspector(pid, found.host, found.port, log, reach);
          },
        };
      }
      fresh.forEach((l) => known.add(l.inode));
    }
    if (Date.now() > deadline) {
      await checkPortFree(pid, wanted);
      // An inspector opened from code (inspector.open(port)) ignores SIGUSR1 and may sit on any port.
      const elsewhere = await findOpenInspector(before, wanted.port, true, reach);
      if (elsewhere) return { pid, ...elsewhere, opened: false, release: async () => undefined };
      throw new NodeprofError(
        `pid ${pid} did not open its inspector within ${waitMs / 1000}s of SIGUSR1: it may handle SIGUSR1 itself or run with --disable-sigusr1; start it with --inspect instead`,
      );
    }
    await sleep(POLL_MS);
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
      throw new NodeprofError(
        `cannot open the inspector of pid ${pid}: it listens on ${addr} itself with something that is not an inspector; start it with --inspect-port=<free port>`,
      );
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
export async function closeInspector(pid: number, host: string, port: number, log: (line: string) => void, reach: Reach = direct): Promise<void> {
  const where = formatHostPort(host, port);
  if (processState(pid) !== 'alive') return;
  try {
    const via = await reach(host, port);
    const target = await findInspectorTarget(via.host, via.port);
    const session = await connectWebSocket(target.webSocketDebuggerUrl, where);
    try {
      await Promise.race([
        session.send('Runtime.evaluate', { expression: "require('inspector').close()", includeCommandLineAPI: true, silent: true }).catch((err: unknown) => {
          if (!/WebSocket connection closed|WebSocket is not open/.test(errorMessage(err))) throw err;
        }),
        session.ended,
        after(3000, undefined, { unref: true }).then(() => Promise.reject(new Error('no answer within 3s'))),
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
    await sleep(POLL_MS);
  }
  log(`warning: the inspector of pid ${pid} still listens on ${where} after nodeprof asked it to close`);
}

/** How long the target has to run the move once asked; after that the move does nothing. */
const MOVE_BUDGET_MS = 2000;
/** How much longer nodeprof looks for the moved inspector than the target may take to move it. */
const MOVE_MARGIN_MS = 1000;

/**
 * The move, run in the target inside our Runtime.evaluate: close() then open(0) at once. Run in the
 * evaluate, close() drops our session and returns (no answer comes); the notes' way, scheduling
 * both in setImmediate and disconnecting, crashed Node 20 and 22 with SIGSEGV in 4 of 40 runs (a
 * close() racing the session's teardown), none in 75 this way. `require` comes from the
 * command-line API. process.debugPort is put back: open(0) made the port SIGUSR1 opens the random
 * one, and the process is to be left as found. An evaluate served late (the target was inside a
 * native call) does nothing: nodeprof may be connected to the old port by then.
 */
export function moveExpression(host: string, untilNs: bigint): string {
  return `(() => {
  if (process.hrtime.bigint() > ${untilNs}n) return 'late';
  const inspector = require('inspector');
  const was = process.debugPort;
  inspector.close();
  try {
    inspector.open(0, ${JSON.stringify(host)});
  } finally {
    process.debugPort = was;
  }
  return 'moved';
})()`;
}

/**
 * Moves an inspector nodeprof just opened off its well-known port to one the OS picks; returns
 * where it is now (where it was, with a warning, when the target did not move it in time). Throws
 * only when the target exited or closed its inspector without reopening it.
 */
async function moveInspector(
  pid: number,
  at: { host: string; port: number },
  log: (line: string) => void,
  reach: Reach,
): Promise<{ host: string; port: number }> {
  const where = formatHostPort(at.host, at.port);
  const stays = (why: string) => {
    log(`warning: could not move the inspector of pid ${pid} off ${where} (${why}): it stays there while nodeprof runs`);
    return at;
  };
  const before = await listenersOf(pid).catch(() => [] as Listener[]);
  const oldInodes = new Set(before.filter((l) => l.port === at.port).map((l) => l.inode));
  // Only sockets that appear after the move are probed: the app's own servers get no stray request.
  const known = new Set(before.map((l) => l.inode));
  let lookUntil = Date.now() + MOVE_BUDGET_MS + MOVE_MARGIN_MS;
  try {
    const via = await reach(at.host, at.port);
    const target = await findInspectorTarget(via.host, via.port);
    const session = await connectWebSocket(target.webSocketDebuggerUrl, where);
    try {
      // The monotonic clock nodeprof and the target share (unless the target is in another time namespace).
      const until = process.hrtime.bigint() + BigInt(MOVE_BUDGET_MS) * 1_000_000n;
      lookUntil = Date.now() + MOVE_BUDGET_MS + MOVE_MARGIN_MS;
      const answer = await Promise.race([
        session
          .send('Runtime.evaluate', { expression: moveExpression(at.host, until), includeCommandLineAPI: true, returnByValue: true, silent: true })
          .catch((err: unknown) => {
            // The success case: close() ended our session before the answer.
            if (/WebSocket connection closed|WebSocket is not open/.test(errorMessage(err))) return undefined;
            throw err;
          }),
        after(MOVE_BUDGET_MS, undefined, { unref: true }).then(() => Promise.reject(new Error(`no answer within ${MOVE_BUDGET_MS / 1000}s`))),
      ]);
      if (answer?.result?.value === 'late') return stays(`the target ran the move too late: busy in a native call?`);
      if (answer?.exceptionDetails) {
        return stays(`the target refused: ${oneLine(String(answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text).split('\n')[0]!)}`);
      }
    } finally {
      await session.close();
    }
  } catch (err) {
    // The move may still run (an answer lost or late): look for it all the same.
    if (processState(pid) !== 'alive') throw new NodeprofError(`pid ${pid} exited while nodeprof moved its inspector`);
    log(`warning: asking pid ${pid} to move its inspector: ${errorMessage(err)}`);
  }
  for (;;) {
    if (processState(pid) !== 'alive') throw new NodeprofError(`pid ${pid} exited while nodeprof moved its inspector`);
    const now = await listenersOf(pid).catch(() => [] as Listener[]);
    const oldOpen = now.some((l) => oldInodes.has(l.inode));
    const fresh = now.filter((l) => !known.has(l.inode));
    if (!oldOpen && fresh.length > 0) {
      const moved = await findOpenInspector(fresh, 0, true, reach);
      if (moved) return moved;
      fresh.forEach((l) => known.add(l.inode));
    }
    if (Date.now() > lookUntil) {
      if (oldOpen) return stays(`it did not run the move within ${MOVE_BUDGET_MS / 1000}s: its main thread is inside a native call?`);
      throw new NodeprofError(`pid ${pid} closed its inspector on ${where} but did not reopen it when nodeprof moved it; nothing is left open: try again`);
    }
    await sleep(POLL_MS);
  }
}

/** "alice (uid 1000)": whom an open inspector runs code as. Names from /etc/passwd, when it has one. */
async function ownerOf(pid: number): Promise<string> {
  const { uid } = await fs.stat(`/proc/${pid}`);
  const passwd = await fs.readFile('/etc/passwd', 'utf8').catch(() => '');
  const name = passwd
    .slice(0, 1 << 20)
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[2] === String(uid))?.[0];
  return name ? `${oneLine(name)} (uid ${uid})` : `uid ${uid}`;
}

/**
 * The line serve prints when it opened a process's inspector itself: what is open, where, to whom
 * and until when. Nothing authenticates an inspector connection: whoever reaches the port runs code.
 */
export async function exposureNotice(resolved: ResolvedPid): Promise<string> {
  const { pid } = resolved;
  const where = formatHostPort(resolved.host, resolved.port);
  const owner = await ownerOf(pid).catch(() => "the target's user");
  const what = resolved.movedFrom
    ? `opened the inspector of pid ${pid} (SIGUSR1) and moved it from ${formatHostPort(resolved.movedFrom.host, resolved.movedFrom.port)} to ${where}`
    : `opened the inspector of pid ${pid} (SIGUSR1) on ${where}`;
  return `nodeprof: ${what}: until serve stops, any local user who connects to it can run code in pid ${pid} as ${owner}; after a kill -9 of nodeprof it stays open until pid ${pid} exits`;
}

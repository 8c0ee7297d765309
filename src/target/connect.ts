// Opens a target from its spelling: finds the websocket, connects, and learns who the process is.

import { NodeprofError } from '../errors.js';
import { findInspectorTarget } from './discover.js';
import { resolvePid, type ResolveOptions } from './pid.js';
import { connectWebSocket } from './remote.js';
import type { CdpSession } from './session.js';
import { formatHostPort, type TargetSpec } from './target-spec.js';
import { withTimeout } from '../time.js';

export interface ProcessInfo {
  pid: number;
  nodeVersion: string;
  argv: string[];
  execArgv: string[];
}

export interface Target {
  session: CdpSession;
  /** How to name the target in messages: what the user typed, resolved. */
  where: string;
  info: ProcessInfo;
  /** Another session to the same inspector (release() does not close it: its user does, first). */
  open(): Promise<CdpSession>;
  /** Undoes what opening the target did (closes the session; for pid targets, the inspector it opened). */
  release(): Promise<void>;
}

/**
 * "pid N (where)" (or "where (pid N)" with pidLast), or `where` alone when it already starts with
 * the pid: pid:N targets are "pid N (host:port)", and said it twice.
 */
export function targetName(where: string, pid: number, pidLast = false): string {
  if (where.startsWith(`pid ${pid} `) || where === `pid ${pid}`) return where;
  return pidLast ? `${where} (pid ${pid})` : `pid ${pid} (${where})`;
}

export async function describeProcess(session: CdpSession): Promise<ProcessInfo> {
  const res = await session.send('Runtime.evaluate', {
    expression: 'JSON.stringify({pid: process.pid, nodeVersion: process.version, argv: process.argv, execArgv: process.execArgv})',
    returnByValue: true,
    silent: true,
  });
  if (res.exceptionDetails || typeof res.result.value !== 'string') {
    throw new NodeprofError('the inspector target is not a Node.js process (process is not defined)');
  }
  return JSON.parse(res.result.value) as ProcessInfo;
}

/** describeProcess, bounded: a target inside a long native call answers nothing until it returns. */
export function describeWithin(session: CdpSession, where: string, ms = 5000): Promise<ProcessInfo> {
  return withTimeout(
    describeProcess(session),
    ms,
    `${where} connected but did not answer Runtime.evaluate within ${ms / 1000}s: its main thread is probably inside a long native call (sync crypto, fs, zlib, an addon), where the inspector cannot run; try again when it returns`,
  );
}

export async function openTarget(spec: TargetSpec, opts: ResolveOptions = {}): Promise<Target> {
  let url: string;
  let where: string;
  let undo: () => Promise<void> = async () => undefined;
  switch (spec.kind) {
    case 'address':
      where = formatHostPort(spec.host, spec.port);
      url = (await findInspectorTarget(spec.host, spec.port)).webSocketDebuggerUrl;
      break;
    case 'websocket':
      where = spec.url;
      url = spec.url;
      break;
    case 'pid': {
      const resolved = await resolvePid(spec.pid, opts);
      undo = resolved.release;
      where = `pid ${spec.pid} (${formatHostPort(resolved.host, resolved.port)})`;
      try {
        url = (await findInspectorTarget(resolved.host, resolved.port)).webSocketDebuggerUrl;
      } catch (err) {
        await undo();
        throw err;
      }
      break;
    }
  }
  let session: CdpSession;
  let info: ProcessInfo;
  try {
    session = await connectWebSocket(url, where);
  } catch (err) {
    await undo();
    throw err;
  }
  try {
    info = await describeWithin(session, where);
  } catch (err) {
    await session.close();
    await undo();
    throw err;
  }
  // Our session first: the inspector closes cleanly once no session of ours is attached.
  let released: Promise<void> | undefined;
  const release = () => (released ??= session.close().then(undo));
  return { session, where, info, open: () => connectWebSocket(url, where), release };
}

// Finds the websocket of a Node inspector from host:port through its HTTP endpoints (/json/list).

import http from 'node:http';
import { NodeprofError } from '../errors.js';
import { formatHostPort } from './target-spec.js';

export interface InspectorTarget {
  webSocketDebuggerUrl: string;
  url: string;
  title: string;
  type: string;
}

const TIMEOUT_MS = 4000;
/** The most nodeprof reads of an answer to /json/list or /json/version (Node's is under 1 KiB). */
const MAX_ANSWER = 1 << 20;

/**
 * Makes text JSON.parse can read when its strings hold raw control characters: Node writes the
 * script path into "title" and "url" of /json/list as it is (it only replaces " and \ by _), so
 * a path with ESC or a newline made the whole answer invalid. Outside strings nothing changes.
 */
export function escapeControlsInStrings(text: string): string {
  let out = '';
  let inString = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) {
        i++; // backslash: the next character is escaped already
      } else if (c === 0x22) inString = false;
      else if (c < 0x20) {
        out += text.slice(from, i) + `\\u${c.toString(16).padStart(4, '0')}`;
        from = i + 1;
      }
    } else if (c === 0x22) {
      inString = true;
    }
  }
  return out + text.slice(from);
}

/** JSON.parse, leniently: raw control characters inside strings are taken as their escapes. */
export function parseLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(escapeControlsInStrings(text));
  }
}

function getJson(host: string, port: number, path: string, timeoutMs = TIMEOUT_MS): Promise<unknown> {
  const where = formatHostPort(host, port);
  return new Promise((resolve, reject) => {
    let settled = false;
    // http.get's timeout is per socket inactivity; this bounds the whole exchange (an answer dripped a byte at a time)
    const deadline = setTimeout(() => {
      const err = timedOut();
      req.destroy(err);
      finish(() => reject(err));
    }, timeoutMs);
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      fn();
    };
    const timedOut = () => new NodeprofError(`${where} did not answer within ${timeoutMs / 1000}s: is it a Node.js inspector port (node --inspect)?`);
    const req = http.get({ host, port, path, timeout: timeoutMs, headers: { host: formatHostPort(host, port) } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER) req.destroy(notInspector(where));
        else chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        try {
          if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
          const value = parseLenient(body);
          finish(() => resolve(value));
        } catch {
          finish(() => reject(notInspector(where)));
        }
      });
      res.on('error', (err) => finish(() => reject(err instanceof NodeprofError ? err : notInspector(where))));
    });
    req.on('timeout', () => req.destroy(timedOut()));
    req.on('error', (err: NodeJS.ErrnoException) => finish(() => reject(connectError(err, where))));
  });
}

function notInspector(where: string): NodeprofError {
  return new NodeprofError(`${where} is not a Node.js inspector (it does not answer GET /json/list like one): point nodeprof at the port given by --inspect`);
}

export function connectError(err: NodeJS.ErrnoException, where: string): NodeprofError {
  if (err instanceof NodeprofError) return err;
  switch (err.code) {
    case 'ECONNREFUSED':
      return new NodeprofError(
        `nothing is listening on ${where}: start the process with --inspect (or --inspect=0 and read the port it prints), or use pid:<PID>`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new NodeprofError(`cannot resolve the host of ${where}: check the target spelling`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new NodeprofError(`${where} closed the connection: is it a Node.js inspector port?`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return new NodeprofError(`${where} is unreachable (${err.code})`);
    default:
      return new NodeprofError(`cannot connect to ${where}: ${err.message}`);
  }
}

/** The inspector's one Node target at host:port. */
export async function findInspectorTarget(host: string, port: number): Promise<InspectorTarget> {
  const list = await getJson(host, port, '/json/list');
  const where = formatHostPort(host, port);
  if (!Array.isArray(list)) throw notInspector(where);
  const targets = list.filter(
    (t): t is InspectorTarget => typeof t === 'object' && t !== null && typeof (t as InspectorTarget).webSocketDebuggerUrl === 'string',
  );
  const target = targets.find((t) => t.type === 'node') ?? targets[0];
  if (!target) {
    throw new NodeprofError(`${where} has no debuggable target: another debugger may hold it, or the process is shutting down`);
  }
  // Node advertises the address it bound; connect to the address the user gave (it may be a forwarded port).
  const ws = new URL(target.webSocketDebuggerUrl);
  ws.hostname = host.includes(':') ? `[${host}]` : host;
  ws.port = String(port);
  return { ...target, webSocketDebuggerUrl: ws.toString() };
}

/** The Node version an inspector reports (GET /json/version), or undefined if host:port is not a Node inspector. */
export async function inspectorVersion(host: string, port: number, timeoutMs = 1500): Promise<string | undefined> {
  const v = (await getJson(host, port, '/json/version', timeoutMs).catch(() => undefined)) as { Browser?: unknown } | undefined;
  const m = typeof v?.Browser === 'string' ? /^node\.js\/(v\d+\.\d+\.\d+[0-9A-Za-z.+-]{0,40})$/.exec(v.Browser) : null;
  return m ? m[1] : undefined;
}

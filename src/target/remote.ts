// A CdpSession over a websocket to a remote inspector, through chrome-remote-interface.

import CDP from 'chrome-remote-interface';
import type { EventEmitter } from 'node:events';
import { NodeprofError } from '../errors.js';
import { formatBytes } from '../size.js';
import { connectError } from './discover.js';
import { MAX_MESSAGE_DEPTH, maxMessageBytes } from './message-bound.js';
import type { CdpSession } from './session.js';

/**
 * Why a message would cost too much to parse, or undefined. JSON.parse costs memory and time per
 * value, not per byte: a real profile holds a container ({ or [) every ~64 bytes and a comma every
 * ~14, but `[{},{},...]` holds one every 3, and 64 MB of it took 62 s and 1.4 GB of heap (256 MB
 * of it: an out-of-memory abort). So a linear scan estimates the heap it will take (64 bytes per
 * container, 16 per comma, the bytes themselves; 354 MB estimated for the bench's 111 MB profile,
 * 270 MB measured) and refuses above four times the size bound, and refuses nesting deeper than
 * MAX_MESSAGE_DEPTH (code that walks a tree recursively would overflow the stack).
 */
export function messageCost(data: string | Uint8Array, maxBytes: number): string | undefined {
  const c = typeof data === 'string' ? countString(data) : countBytes(data);
  if (c.depth > MAX_MESSAGE_DEPTH) return `sent a message nested deeper than ${MAX_MESSAGE_DEPTH} levels`;
  const estimate = data.length + c.containers * 64 + c.commas * 16;
  if (estimate > 4 * maxBytes) {
    return `sent a message of ${formatBytes(data.length)} holding ${c.containers} objects and ${c.commas} values, which would take about ${formatBytes(estimate)} of memory to parse (more than four times NODEPROF_MAX_MESSAGE=${formatBytes(maxBytes)})`;
  }
  return undefined;
}

interface Counts {
  containers: number;
  commas: number;
  /** The deepest nesting seen, up to one past MAX_MESSAGE_DEPTH (the scan stops there). */
  depth: number;
}

// Two copies of one loop (a text frame arrives as a string, a binary one as bytes): each stays
// monomorphic. Strings are skipped with indexOf (memchr), the scan's main saving: a profile is
// mostly names and URLs.
function countString(s: string): Counts {
  let containers = 0;
  let commas = 0;
  let depth = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      // To the closing quote: one not preceded by an odd number of backslashes.
      for (;;) {
        const q = s.indexOf('"', i + 1);
        if (q < 0) return { containers, commas, depth };
        let b = q - 1;
        while (s.charCodeAt(b) === 0x5c) b--;
        i = q;
        if ((q - 1 - b) % 2 === 0) break;
      }
    } else if (c === 0x2c) commas++;
    else if (c === 0x7b || c === 0x5b) {
      containers++;
      if (++depth > MAX_MESSAGE_DEPTH) return { containers, commas, depth };
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { containers, commas, depth: 0 };
}

function countBytes(s: Uint8Array): Counts {
  let containers = 0;
  let commas = 0;
  let depth = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s[i]!;
    if (c === 0x22) {
      for (;;) {
        const q = s.indexOf(0x22, i + 1);
        if (q < 0) return { containers, commas, depth };
        let b = q - 1;
        while (s[b] === 0x5c) b--;
        i = q;
        if ((q - 1 - b) % 2 === 0) break;
      }
    } else if (c === 0x2c) commas++;
    else if (c === 0x7b || c === 0x5b) {
      containers++;
      if (++depth > MAX_MESSAGE_DEPTH) return { containers, commas, depth };
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { containers, commas, depth: 0 };
}

const CONNECT_TIMEOUT_MS = 5000;
const NO_DOMAINS: CDP.Protocol = { version: { major: '1', minor: '3' }, domains: [] };

export async function connectWebSocket(url: string, where: string): Promise<CdpSession> {
  let timer: NodeJS.Timeout | undefined;
  let client: CDP.Client;
  try {
    client = await Promise.race([
      // An empty protocol description: commands go through send() by name, and events are emitted by
      // name either way. `local: true` would parse chrome-remote-interface's 1.2 MB protocol.json
      // and build an object per command (~200 ms of CPU before the first command can be sent).
      CDP({ target: url, protocol: NO_DOMAINS }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new NodeprofError(`${where} accepted the connection but the inspector websocket did not open within ${CONNECT_TIMEOUT_MS / 1000}s`)),
          CONNECT_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (/Unexpected server response: 400|Unexpected server response: 404/.test(e.message ?? '')) {
      throw new NodeprofError(`${where} refused the websocket: the inspector id in the URL is wrong or stale (list it with GET /json/list)`);
    }
    throw connectError(e, where);
  } finally {
    clearTimeout(timer);
  }
  return new RemoteSession(client, where, maxMessageBytes());
}

/** chrome-remote-interface's websocket (the `ws` package), reached to bound what it reads. */
type Socket = EventEmitter & { _receiver?: { _maxPayload?: number }; terminate?: () => void };

class RemoteSession implements CdpSession {
  // Typed loosely inside; the CdpSession interface gives callers the protocol's types.
  readonly ended: Promise<void>;
  isEnded = false;
  /** Set when the target sent what nodeprof does not read: every pending and later command fails with it. */
  private failure: NodeprofError | undefined;

  constructor(
    private readonly client: CDP.Client,
    private readonly where: string,
    maxBytes: number,
  ) {
    this.ended = new Promise((resolve) => {
      (client as unknown as NodeJS.EventEmitter).once('disconnect', () => {
        this.isEnded = true;
        resolve();
      });
    });
    this.bound(maxBytes);
  }

  /**
   * Bounds what the target can make nodeprof read. chrome-remote-interface gives `ws` a fixed
   * maxPayload (256 MiB; ws checks a frame's announced length before reading it) and parses each
   * message in ws's 'message' listener, where a message that is not JSON threw out of the socket's
   * data handler: an uncaught exception with a stack trace. Its listener now runs inside ours,
   * after the cost check, and what it throws ends the session with one line.
   */
  private bound(maxBytes: number): void {
    const ws = (this.client as unknown as { _ws?: Socket })._ws;
    if (!ws || typeof ws.listeners !== 'function') return; // another chrome-remote-interface: its own bounds
    if (ws._receiver && typeof ws._receiver._maxPayload === 'number') ws._receiver._maxPayload = maxBytes;
    const theirs = ws.listeners('message') as Array<(data: unknown) => void>;
    ws.removeAllListeners('message');
    ws.on('message', (data: string | Uint8Array) => {
      if (this.failure) return;
      const tooCostly = messageCost(data, maxBytes);
      if (tooCostly) return this.fail(tooCostly);
      try {
        for (const listener of theirs) listener.call(ws, data);
      } catch (err) {
        // Never the error's message: a SyntaxError quotes the target's bytes.
        this.fail(err instanceof SyntaxError ? 'sent a message that is not JSON' : `sent a message nodeprof cannot read (${(err as Error)?.name ?? 'error'})`);
      }
    });
    ws.on('error', (err: Error) => {
      if (/max payload/i.test(err.message)) {
        this.fail(`sent a message larger than ${formatBytes(maxBytes)} (the bound NODEPROF_MAX_MESSAGE sets)`);
      } else this.fail(`sent an invalid websocket frame (${err.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 80)})`);
    });
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new NodeprofError(`${this.where} ${reason}; nodeprof closed the connection`);
    const ws = (this.client as unknown as { _ws?: Socket })._ws;
    // At once, without the closing handshake: the rest of the message is not read.
    if (ws?.terminate) ws.terminate();
    else void this.client.close().catch(() => undefined);
  }

  send(method: string, params?: unknown): Promise<any> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.isEnded) return Promise.reject(new Error('WebSocket connection closed'));
    return (this.client.send as (m: string, p?: unknown) => Promise<unknown>)(method, params).catch((err: unknown) => {
      if (this.failure) throw this.failure;
      // chrome-remote-interface rejects with a ProtocolError carrying the response; keep its message.
      const e = err as { response?: { message?: string } } & Error;
      throw new Error(e.response?.message ?? e.message, { cause: err });
    });
  }

  on(event: string, listener: (params: any) => void): () => void {
    const wrapped = (params: unknown) => listener(params);
    const emitter = this.client as unknown as NodeJS.EventEmitter;
    emitter.on(event, wrapped);
    return () => {
      emitter.removeListener(event, wrapped);
    };
  }

  async close(): Promise<void> {
    if (this.isEnded) return;
    this.isEnded = true;
    await this.client.close().catch(() => undefined);
  }
}

// A CdpSession over a websocket to a remote inspector, through chrome-remote-interface.

import CDP from 'chrome-remote-interface';
import type { EventEmitter } from 'node:events';
import { NodeprofError } from '../errors.js';
import { formatBytes } from '../size.js';
import { connectError } from './discover.js';
import { maxMessageBytes, messageCost } from './message-bound.js';
import type { CdpSession } from './session.js';
import { withTimeout } from '../time.js';

const CONNECT_TIMEOUT_MS = 5000;
/**
 * How long a session stays open once its target said it waits for us to disconnect before it can
 * exit: enough to stop a profiler and take its profile (a few ms on Node 18-22), short enough that a
 * profiler never keeps an application from exiting.
 */
export const EXIT_GRACE_MS = 500;
const NO_DOMAINS: CDP.Protocol = { version: { major: '1', minor: '3' }, domains: [] };

export async function connectWebSocket(url: string, where: string): Promise<CdpSession> {
  let client: CDP.Client;
  try {
    client = await withTimeout(
      // An empty protocol description: commands go through send() by name, and events are emitted by
      // name either way. `local: true` would parse chrome-remote-interface's protocol.json and
      // build an object per command before the first command can be sent (bench/RESULTS.md).
      CDP({ target: url, protocol: NO_DOMAINS }),
      CONNECT_TIMEOUT_MS,
      `${where} accepted the connection but the inspector websocket did not open within ${CONNECT_TIMEOUT_MS / 1000}s`,
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (/Unexpected server response: 400|Unexpected server response: 404/.test(e.message ?? '')) {
      throw new NodeprofError(`${where} refused the websocket: the inspector id in the URL is wrong or stale (list it with GET /json/list)`);
    }
    throw connectError(e, where);
  }
  const session = new RemoteSession(client, where, maxMessageBytes());
  // Without it Node waits, after the app's last line, until every session has gone ("Waiting for the
  // debugger to disconnect..."), which a lasting session (serve) never does. Not awaited: commands are
  // handled in order, and a target blocked in native code must not hold up the connect.
  session.send('NodeRuntime.notifyWhenWaitingForDisconnect', { enabled: true }).catch(() => undefined);
  return session;
}

/** chrome-remote-interface's websocket (the `ws` package), reached to bound what it reads. */
type Socket = EventEmitter & { _receiver?: { _maxPayload?: number }; terminate?: () => void };

class RemoteSession implements CdpSession {
  // Typed loosely inside; the CdpSession interface gives callers the protocol's types.
  readonly ended: Promise<void>;
  readonly exiting: Promise<void>;
  isEnded = false;
  private endNow!: () => void;
  /** Set when the target sent what nodeprof does not read: every pending and later command fails with it. */
  private failure: NodeprofError | undefined;

  constructor(
    private readonly client: CDP.Client,
    private readonly where: string,
    maxBytes: number,
  ) {
    const emitter = client as unknown as NodeJS.EventEmitter;
    this.ended = new Promise((resolve) => {
      this.endNow = () => {
        this.isEnded = true;
        resolve();
      };
      emitter.once('disconnect', this.endNow);
    });
    this.exiting = new Promise((resolve) => {
      emitter.once('NodeRuntime.waitingForDisconnect', () => {
        resolve();
        setTimeout(() => void this.close(), EXIT_GRACE_MS);
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
    // chrome-remote-interface says 'disconnect' only when the other side went away.
    this.endNow();
  }
}

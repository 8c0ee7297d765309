// A CdpSession over a websocket to a remote inspector, through chrome-remote-interface.

import CDP from 'chrome-remote-interface';
import { NodeprofError } from '../errors.js';
import { connectError } from './discover.js';
import type { CdpSession } from './session.js';

const CONNECT_TIMEOUT_MS = 5000;
/**
 * How long a session stays open once its target said it waits for us to disconnect before it can
 * exit: enough to stop a profiler and take its profile (a few ms on Node 18-22), short enough that a
 * profiler never keeps an application from exiting.
 */
export const EXIT_GRACE_MS = 500;
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
  const session = new RemoteSession(client);
  // Without it Node waits, after the app's last line, until every session has gone ("Waiting for the
  // debugger to disconnect..."), which a lasting session (serve) never does. Not awaited: commands are
  // handled in order, and a target blocked in native code must not hold up the connect.
  session.send('NodeRuntime.notifyWhenWaitingForDisconnect', { enabled: true }).catch(() => undefined);
  return session;
}

class RemoteSession implements CdpSession {
  // Typed loosely inside; the CdpSession interface gives callers the protocol's types.
  readonly ended: Promise<void>;
  readonly exiting: Promise<void>;
  isEnded = false;
  private endNow!: () => void;

  constructor(private readonly client: CDP.Client) {
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
  }

  send(method: string, params?: unknown): Promise<any> {
    if (this.isEnded) return Promise.reject(new Error('WebSocket connection closed'));
    return (this.client.send as (m: string, p?: unknown) => Promise<unknown>)(method, params).catch((err: unknown) => {
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

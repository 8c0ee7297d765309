// A CdpSession over a websocket to a remote inspector, through chrome-remote-interface.

import CDP from 'chrome-remote-interface';
import { NodeprofError } from '../errors.js';
import { connectError } from './discover.js';
import type { CdpSession } from './session.js';

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
  return new RemoteSession(client);
}

class RemoteSession implements CdpSession {
  // Typed loosely inside; the CdpSession interface gives callers the protocol's types.
  readonly ended: Promise<void>;
  isEnded = false;

  constructor(private readonly client: CDP.Client) {
    this.ended = new Promise((resolve) => {
      (client as unknown as NodeJS.EventEmitter).once('disconnect', () => {
        this.isEnded = true;
        resolve();
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
  }
}

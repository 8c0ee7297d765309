// A CdpSession over node:inspector, for the in-process facade: from a worker thread it drives the
// main thread (connectToMainThread), which answers even while the main event loop is blocked; on
// the main thread itself (a handler mounted on the app's server) it connects to its own isolate.

import inspector from 'node:inspector';
import type { CdpSession } from './session.js';

export type InProcessMode = 'main-thread-from-worker' | 'same-thread';

export class InspectorSession implements CdpSession {
  private readonly session = new inspector.Session();
  private endNow!: () => void;
  readonly ended: Promise<void>;
  /** An in-process session does not hold the app's exit (Node waits only for inspector-server sessions). */
  readonly exiting = new Promise<void>(() => undefined);
  isEnded = false;
  private pending = 0;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(readonly mode: InProcessMode) {
    this.ended = new Promise((resolve) => (this.endNow = resolve));
    if (mode === 'same-thread') this.session.connect();
    else this.session.connectToMainThread();
  }

  send(method: string, params?: unknown): Promise<any> {
    if (this.isEnded) return Promise.reject(new Error('inspector session closed'));
    // A pending post's callback does not keep a thread alive (docs/cdp-notes.md): seen as a register worker
    // that exited silently while waiting for its first answer. Hold a timer while any is pending.
    if (this.pending++ === 0) this.keepAlive = setInterval(() => undefined, 1 << 30);
    return new Promise((resolve, reject) => {
      // post's overloads are typed per method; this wrapper is typed through CdpSession instead.
      (this.session.post as (m: string, p: unknown, cb: (err: Error | null, res: unknown) => void) => void)(method, params ?? {}, (err, res) => {
        if (--this.pending === 0) clearInterval(this.keepAlive);
        if (err) reject(new Error(err.message));
        else resolve(res);
      });
    });
  }

  on(event: string, listener: (params: any) => void): () => void {
    const wrapped = (message: { params?: unknown }) => listener(message.params);
    const emitter = this.session as unknown as NodeJS.EventEmitter;
    emitter.on(event, wrapped);
    return () => {
      emitter.removeListener(event, wrapped);
    };
  }

  async close(): Promise<void> {
    if (this.isEnded) return;
    this.isEnded = true;
    this.session.disconnect();
    clearInterval(this.keepAlive);
    this.endNow();
  }
}

// The target's worker threads, followed through NodeWorker on the main session for the life of an
// attachment, so goroutine can read each worker's stack (Runtime.evaluate inside the worker).

import type { CdpSession } from '../target/session.js';

export interface WorkerThread {
  sessionId: string;
  workerId: string;
  /** "[worker 1] name" as Node titles it. */
  title: string;
  url: string;
}

export class WorkerTracker {
  private readonly workers = new Map<string, WorkerThread>();
  private readonly pending = new Map<number, (message: { result?: any; error?: { message: string } }) => void>();
  private nextId = 1;
  private readonly offs: Array<() => void> = [];

  constructor(
    private readonly session: CdpSession,
    /** Workers not to follow (the in-process facade's own worker). */
    private readonly ignore: (url: string) => boolean = () => false,
  ) {}

  async start(): Promise<void> {
    this.offs.push(
      this.session.on('NodeWorker.attachedToWorker', (p) => {
        if (this.ignore(p.workerInfo.url)) return;
        this.workers.set(p.sessionId, { sessionId: p.sessionId, workerId: p.workerInfo.workerId, title: p.workerInfo.title, url: p.workerInfo.url });
      }),
      this.session.on('NodeWorker.detachedFromWorker', (p) => {
        this.workers.delete(p.sessionId);
      }),
      this.session.on('NodeWorker.receivedMessageFromWorker', (p) => {
        let msg: { id?: number; result?: unknown; error?: { message: string } };
        try {
          msg = JSON.parse(p.message);
        } catch {
          return;
        }
        if (msg.id !== undefined) {
          const resolve = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          resolve?.(msg);
        }
      }),
    );
    await this.session.send('NodeWorker.enable', { waitForDebuggerOnStart: false });
  }

  list(): WorkerThread[] {
    return [...this.workers.values()];
  }

  /** Sends one CDP command to a worker; rejects on its error or after timeoutMs. */
  send(w: WorkerThread, method: string, params: unknown, timeoutMs: number): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('timeout'));
      }, timeoutMs);
      this.pending.set(id, (msg) => {
        clearTimeout(timer);
        if (msg.error) reject(new Error(msg.error.message));
        else resolve(msg.result);
      });
      this.session.send('NodeWorker.sendMessageToWorker', { sessionId: w.sessionId, message: JSON.stringify({ id, method, params }) }).catch((err: Error) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    if (!this.session.isEnded) await this.session.send('NodeWorker.disable').catch(() => undefined);
  }
}

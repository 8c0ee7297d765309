// Worker threads through the NodeWorker domain: a CdpSession over one worker's sessionId (messages
// wrapped in NodeWorker.sendMessageToWorker / receivedMessageFromWorker), and a watcher that hands
// out one such session per worker, including workers started later.

import { EventEmitter } from 'node:events';
import { NodeprofError } from '../errors.js';
import { maxMessageBytes, messageCost } from './message-bound.js';
import type { AnyEvent, CdpSession, NodeEvents } from './session.js';

export interface WorkerInfo {
  workerId: string;
  title: string;
  url: string;
}

/**
 * The `thread` label of a worker: `worker <threadId> <name>`. Node titles workers "[worker
 * <threadId>] <name>"; the id is the app's `worker.threadId`. NodeWorker's own workerId is only the
 * order in which this session heard of them, so it is the fallback.
 */
export function workerThreadLabel(info: WorkerInfo): string {
  const m = /^\[worker (\d+)\]\s*(.*)$/.exec(info.title);
  const id = m ? m[1] : info.workerId;
  const name = (m ? m[2]! : info.title).trim();
  return name ? `worker ${id} ${name}` : `worker ${id}`;
}

export const MAIN_THREAD = 'main';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class WorkerSession implements CdpSession {
  readonly ended: Promise<void>;
  /**
   * The process's exit, heard on the main session. A worker's own end is not announced: notifying
   * would make the worker wait for us too, and NodeWorker reports its detach anyway.
   */
  readonly exiting: Promise<void>;
  isEnded = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly events = new EventEmitter();
  private readonly unsubscribe: Array<() => void> = [];
  private endNow!: () => void;

  constructor(
    private readonly parent: CdpSession,
    readonly sessionId: string,
    readonly info: WorkerInfo,
  ) {
    this.exiting = parent.exiting;
    this.ended = new Promise((resolve) => {
      this.endNow = () => {
        if (this.isEnded) return;
        this.isEnded = true;
        for (const u of this.unsubscribe) u();
        for (const p of this.pending.values()) p.reject(new Error(`worker ${info.workerId} went away`));
        this.pending.clear();
        resolve();
      };
    });
    this.unsubscribe.push(
      parent.on('NodeWorker.receivedMessageFromWorker', (m) => {
        if (m.sessionId === sessionId) this.receive(m.message);
      }),
      parent.on('NodeWorker.detachedFromWorker', (m) => {
        if (m.sessionId === sessionId) this.endNow();
      }),
    );
    void parent.ended.then(() => this.endNow());
  }

  private receive(text: string): void {
    // A worker's answer arrives as a string inside its parent's message: bounded by the same rules.
    const tooCostly = messageCost(text, maxMessageBytes());
    if (tooCostly) {
      for (const p of this.pending.values()) p.reject(new NodeprofError(`a worker thread ${tooCostly}`));
      this.pending.clear();
      return;
    }
    let msg: { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message?: string } };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg.id === 'number') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message ?? 'protocol error'));
      else p.resolve(msg.result);
    } else if (msg.method) {
      this.events.emit(msg.method, msg.params);
    }
  }

  send(method: string, params?: unknown): Promise<any> {
    if (this.isEnded) return Promise.reject(new Error(`worker ${this.info.workerId} went away`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.parent
        .send('NodeWorker.sendMessageToWorker', { sessionId: this.sessionId, message: JSON.stringify({ id, method, params: params ?? {} }) })
        .catch((err: Error) => {
          this.pending.delete(id);
          reject(err);
        });
    });
  }

  on(event: string, listener: (params: any) => void): () => void {
    this.events.on(event, listener);
    return () => {
      this.events.off(event, listener);
    };
  }

  async close(): Promise<void> {
    if (this.isEnded) return;
    const detach = this.parent.send('NodeWorker.detach', { sessionId: this.sessionId }).catch(() => undefined);
    this.endNow();
    await detach;
  }
}

/**
 * Enables NodeWorker on the main thread's session and calls `onWorker` for each worker thread,
 * those running now and those started later, until stop(). Workers are not held at start
 * (waitForDebuggerOnStart: false): a crash of nodeprof must never leave a worker waiting.
 */
export class WorkerWatcher {
  private readonly sessions = new Map<string, WorkerSession>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly session: CdpSession,
    private readonly onWorker: (worker: WorkerSession) => void,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.session.on('NodeWorker.attachedToWorker', (e: AnyEvent<'NodeWorker.attachedToWorker'>) => this.attached(e));
    await this.session.send('NodeWorker.enable', { waitForDebuggerOnStart: false });
  }

  private attached(e: NodeEvents['NodeWorker.attachedToWorker']): void {
    if (this.sessions.has(e.sessionId)) return;
    const w = new WorkerSession(this.session, e.sessionId, e.workerInfo);
    this.sessions.set(e.sessionId, w);
    this.onWorker(w);
  }

  get workers(): WorkerSession[] {
    return [...this.sessions.values()];
  }

  /** Stops watching; detaches every worker session (which also stops anything left running in them). */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.session.isEnded) return;
    await this.session.send('NodeWorker.disable').catch(() => undefined);
    for (const w of this.sessions.values()) await w.close();
  }
}

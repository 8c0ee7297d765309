// Worker threads through the NodeWorker domain: a CdpSession over one worker's sessionId (messages
// wrapped in NodeWorker.sendMessageToWorker / receivedMessageFromWorker), and a watcher that hands
// out one such session per worker, including workers started later. Used by attach --workers and
// stack --workers for a window, and by serve for the life of an attachment (goroutine).

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
  timer?: NodeJS.Timeout;
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
        this.rejectAll(new Error(`worker ${info.workerId} went away`));
        resolve();
      };
    });
    void parent.ended.then(() => this.endNow());
  }

  /** NodeWorker reported this worker detached (it exited, or was detached). Called by its watcher. */
  detached(): void {
    this.endNow();
  }

  /** One message of this worker, from NodeWorker.receivedMessageFromWorker. Called by its watcher. */
  receive(text: string): void {
    // A worker's answer arrives as a string inside its parent's message: bounded by the same rules.
    const tooCostly = messageCost(text, maxMessageBytes());
    if (tooCostly) {
      this.rejectAll(new NodeprofError(`a worker thread ${tooCostly}`));
      return;
    }
    let msg: { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message?: string } };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg.id === 'number') {
      const p = this.settle(msg.id);
      if (!p) return;
      if (msg.error) p.reject(new Error(msg.error.message ?? 'protocol error'));
      else p.resolve(msg.result);
    } else if (msg.method) {
      this.events.emit(msg.method, msg.params);
    }
  }

  /** The pending command `id`, taken out of the map with its timer stopped. */
  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    clearTimeout(p.timer);
    return p;
  }

  private rejectAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id)!.reject(err);
  }

  /**
   * Sends one command to the worker. With `timeoutMs`, an unanswered command rejects with
   * Error('timeout') after that long and is forgotten (serve's long-lived sessions must not collect
   * the ids of commands a busy worker never answered).
   */
  send(method: string, params?: unknown, timeoutMs?: number): Promise<any> {
    if (this.isEnded) return Promise.reject(new Error(`worker ${this.info.workerId} went away`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (timeoutMs !== undefined) p.timer = setTimeout(() => this.settle(id)?.reject(new Error('timeout')), timeoutMs);
      this.pending.set(id, p);
      this.parent
        .send('NodeWorker.sendMessageToWorker', { sessionId: this.sessionId, message: JSON.stringify({ id, method, params: params ?? {} }) })
        .catch((err: Error) => this.settle(id)?.reject(err));
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
 * Enables NodeWorker on the main thread's session and follows each worker thread, those running
 * now and those started later, until stop(). Workers are not held at start
 * (waitForDebuggerOnStart: false): a crash of nodeprof must never leave a worker waiting.
 * NodeWorker's events are heard here once and handed to the worker they name, so a target with
 * many workers does not put a listener per worker on the main session.
 */
export class WorkerWatcher {
  private readonly sessions = new Map<string, WorkerSession>();
  private unsubscribeAttach: (() => void) | undefined;
  private unsubscribeMessages: Array<() => void> = [];

  constructor(
    private readonly session: CdpSession,
    /** Called once for each worker thread followed. */
    private readonly onWorker: (worker: WorkerSession) => void = () => undefined,
    /** Workers not to follow (the in-process facade's own worker). */
    private readonly ignore: (info: WorkerInfo) => boolean = () => false,
  ) {}

  async start(): Promise<void> {
    this.unsubscribeMessages = [
      this.session.on('NodeWorker.receivedMessageFromWorker', (m) => this.sessions.get(m.sessionId)?.receive(m.message)),
      this.session.on('NodeWorker.detachedFromWorker', (m) => this.sessions.get(m.sessionId)?.detached()),
    ];
    this.unsubscribeAttach = this.session.on('NodeWorker.attachedToWorker', (e: AnyEvent<'NodeWorker.attachedToWorker'>) => this.attached(e));
    await this.session.send('NodeWorker.enable', { waitForDebuggerOnStart: false });
  }

  private attached(e: NodeEvents['NodeWorker.attachedToWorker']): void {
    if (this.sessions.has(e.sessionId) || this.ignore(e.workerInfo)) return;
    const w = new WorkerSession(this.session, e.sessionId, e.workerInfo);
    this.sessions.set(e.sessionId, w);
    void w.ended.then(() => {
      if (this.sessions.get(e.sessionId) === w) this.sessions.delete(e.sessionId);
    });
    this.onWorker(w);
  }

  /** The workers followed now (a worker that exited or was detached is dropped). */
  list(): WorkerSession[] {
    return [...this.sessions.values()];
  }

  /** Stops watching; detaches every worker session (which also stops anything left running in them). */
  async stop(): Promise<void> {
    this.unsubscribeAttach?.();
    this.unsubscribeAttach = undefined;
    if (!this.session.isEnded) {
      await this.session.send('NodeWorker.disable').catch(() => undefined);
      for (const w of this.list()) await w.close();
    }
    for (const u of this.unsubscribeMessages.splice(0)) u();
  }
}

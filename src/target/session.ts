// The CDP session every collector talks to: a thin interface over chrome-remote-interface (remote
// targets) that node:inspector sessions and worker sessions can implement too.

import type { ProtocolMapping } from 'devtools-protocol/types/protocol-mapping.js';

export type Commands = ProtocolMapping.Commands;
export type Events = ProtocolMapping.Events;
export type Params<M extends keyof Commands> = Commands[M]['paramsType'] extends [] ? undefined : Commands[M]['paramsType'][0];
export type Result<M extends keyof Commands> = Commands[M]['returnType'];
export type EventParams<E extends keyof Events> = Events[E] extends [infer P] ? P : undefined;

/** Node's own domains, which devtools-protocol (Chrome's) does not describe. */
export interface NodeCommands {
  'NodeTracing.getCategories': { params: undefined; result: { categories: string[] } };
  'NodeTracing.start': { params: { traceConfig: { recordMode?: string; includedCategories: string[] } }; result: Record<string, never> };
  'NodeTracing.stop': { params: undefined; result: Record<string, never> };
  'NodeWorker.enable': { params: { waitForDebuggerOnStart: boolean }; result: Record<string, never> };
  'NodeWorker.disable': { params: undefined; result: Record<string, never> };
  'NodeWorker.sendMessageToWorker': { params: { message: string; sessionId: string }; result: Record<string, never> };
  'NodeWorker.detach': { params: { sessionId: string }; result: Record<string, never> };
  'NodeRuntime.notifyWhenWaitingForDisconnect': { params: { enabled: boolean }; result: Record<string, never> };
}

export interface NodeEvents {
  'NodeTracing.dataCollected': { value: object[] };
  'NodeTracing.tracingComplete': undefined;
  'NodeWorker.attachedToWorker': {
    sessionId: string;
    workerInfo: { workerId: string; type: string; title: string; url: string };
    waitingForDebugger: boolean;
  };
  'NodeWorker.detachedFromWorker': { sessionId: string };
  'NodeWorker.receivedMessageFromWorker': { sessionId: string; message: string };
  'NodeRuntime.waitingForDisconnect': undefined;
}

export type AnyParams<M extends string> = M extends keyof Commands ? Params<M> : M extends keyof NodeCommands ? NodeCommands[M]['params'] : never;
export type AnyResult<M extends string> = M extends keyof Commands ? Result<M> : M extends keyof NodeCommands ? NodeCommands[M]['result'] : never;
export type AnyEvent<E extends string> = E extends keyof Events ? EventParams<E> : E extends keyof NodeEvents ? NodeEvents[E] : never;

export interface CdpSession {
  send<M extends (keyof Commands | keyof NodeCommands) & string>(method: M, params?: AnyParams<M>): Promise<AnyResult<M>>;
  /** Subscribes to a protocol event; returns the function that unsubscribes. */
  on<E extends (keyof Events | keyof NodeEvents) & string>(event: E, listener: (params: AnyEvent<E>) => void): () => void;
  /** Settles (never rejects) when the session ends for any reason: target exit, network, close(). */
  readonly ended: Promise<void>;
  readonly isEnded: boolean;
  /**
   * Settles when the target's work is over and it waits for our session to go before it can exit
   * (NodeRuntime.waitingForDisconnect): finish what can be finished at once (a CPU window may be
   * stopped and kept) and close. A session that hears it closes itself soon after whatever its user
   * does; one that cannot hear it (in-process, worker threads) never settles this.
   */
  readonly exiting: Promise<void>;
  close(): Promise<void>;
}

// How the facade reaches its target: a remote inspector (nodeprof serve) or this very process
// (nodeprof/register, pprofHandler). Each open() is a new session, so concurrent collections (two
// CPU windows at once) each get their own.

import { findInspectorTarget } from '../target/discover.js';
import { InspectorSession, type InProcessMode } from '../target/inprocess.js';
import { connectWebSocket } from '../target/remote.js';
import type { CdpSession } from '../target/session.js';
import { formatHostPort, type TargetSpec } from '../target/target-spec.js';

export interface Transport {
  /** The target as messages name it. */
  readonly where: string;
  /** Debugger.pause from this transport would deadlock (the facade runs on the paused thread). */
  readonly sameThread: boolean;
  /** The facade runs in the target itself (nodeprof/register, pprofHandler). */
  readonly inProcess?: boolean;
  open(): Promise<CdpSession>;
}

/**
 * A target at an inspector address. A pid target comes here as the address of the inspector
 * serve found or opened for it (serve.ts, resolvePid), so it has no case of its own.
 */
export function remoteTransport(spec: Exclude<TargetSpec, { kind: 'pid' }>): Transport {
  switch (spec.kind) {
    case 'address': {
      const where = formatHostPort(spec.host, spec.port);
      return {
        where,
        sameThread: false,
        // Discovered each time: a restarted target on the same port has a new websocket id.
        open: async () => connectWebSocket((await findInspectorTarget(spec.host, spec.port)).webSocketDebuggerUrl, where),
      };
    }
    case 'websocket':
      return { where: spec.url, sameThread: false, open: () => connectWebSocket(spec.url, spec.url) };
  }
}

export function inProcessTransport(mode: InProcessMode): Transport {
  return { where: `this process (pid ${process.pid})`, sameThread: mode === 'same-thread', inProcess: true, open: async () => new InspectorSession(mode) };
}

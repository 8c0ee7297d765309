// The facade inside the profiled process: the options both in-process entries share, read from
// NODEPROF_* variables for nodeprof/register and from arguments for pprofHandler.

import type { HeapMode } from '../pprof/heap-profile.js';
import { settingsFromEnv, type Settings } from '../settings.js';

export interface InProcessOptions {
  /** NODEPROF_LISTEN, default 127.0.0.1:6060 (register only). */
  listen?: string;
  /** NODEPROF_TOKEN: required off loopback. */
  token?: string;
  /** NODEPROF_HEAP_MODE: inuse (default) or alloc. */
  heapMode?: HeapMode;
  /** NODEPROF_HEAP_INTERVAL: the heap sampler's interval as a size (512KiB, 1MiB), default 512KiB. */
  heapInterval?: string;
  /** NODEPROF_CPU_INTERVAL: CPU sampling interval as a duration, 100us to 1s, default 10ms (100 Hz). */
  cpuInterval?: string;
  /** NODEPROF_MAX_SECONDS, default 300. */
  maxSeconds?: number;
  /** Host names accepted besides loopback names, IP literals and this machine's name; '*' for any. */
  hosts?: string[] | '*';
  /** One line per request to stderr (NODEPROF_LOG=1). */
  logRequests?: boolean;
  /** No startup line (NODEPROF_QUIET=1). */
  quiet?: boolean;
  /** NODEPROF_ANSWER_TIMEOUT_MS and the other bounds (register only: its worker has its own settings()). */
  settings?: Settings;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv): InProcessOptions {
  const mode = env.NODEPROF_HEAP_MODE;
  return {
    listen: env.NODEPROF_LISTEN || '127.0.0.1:6060',
    token: env.NODEPROF_TOKEN || undefined,
    heapMode: mode === 'alloc' ? 'alloc' : 'inuse',
    heapInterval: env.NODEPROF_HEAP_INTERVAL || undefined,
    cpuInterval: env.NODEPROF_CPU_INTERVAL || undefined,
    maxSeconds: Number(env.NODEPROF_MAX_SECONDS) > 0 ? Number(env.NODEPROF_MAX_SECONDS) : 300,
    hosts: env.NODEPROF_HOSTS === '*' ? '*' : env.NODEPROF_HOSTS?.split(',').filter(Boolean),
    logRequests: env.NODEPROF_LOG === '1',
    quiet: env.NODEPROF_QUIET === '1',
    settings: settingsFromEnv(env, false),
  };
}

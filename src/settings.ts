// The NODEPROF_* environment variables that tune the library (bounds and timeouts), read once where
// nodeprof starts: cli/main.ts, and nodeprof/register (which hands them to its worker thread). The
// rest of the code asks settings() and never reads process.env. Process-wide, as the CDP message
// bound is (target/message-bound.ts, set by the CLI from NODEPROF_MAX_MESSAGE).

import { sourceMapMaxBytes } from './collect/file-read.js';

export interface Settings {
  /** NODEPROF_STOP_TIMEOUT_MS: how long attach waits for a stop, and a heap snapshot for its start. */
  stopTimeoutMs?: number;
  /** NODEPROF_ANSWER_TIMEOUT_MS: how long serve waits for the target's answer beyond a window. */
  answerTimeoutMs?: number;
  /** NODEPROF_SOURCE_MAP_MAX_SIZE: the largest source map read. */
  sourceMapMaxBytes?: number;
}

let current: Settings = {};

/**
 * The settings in `env`. A source-map bound that is not a size is a UsageError with `strict` (the
 * CLI refuses it at start-up), else the default (nodeprof/register must not take the app down).
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv, strict: boolean): Settings {
  let maxMap: number | undefined;
  try {
    maxMap = sourceMapMaxBytes(env);
  } catch (err) {
    if (strict) throw err;
  }
  return {
    stopTimeoutMs: Number(env.NODEPROF_STOP_TIMEOUT_MS) || undefined,
    answerTimeoutMs: Number(env.NODEPROF_ANSWER_TIMEOUT_MS) || undefined,
    sourceMapMaxBytes: maxMap,
  };
}

/** Sets what settings() answers; entry points call it once, before anything runs. */
export function useSettings(s: Settings): void {
  current = { ...s };
}

export function settings(): Readonly<Settings> {
  return current;
}

// The bound on what one CDP message from a target may make nodeprof read (see remote.ts), set once
// by the CLI from NODEPROF_MAX_MESSAGE. A module of its own: the CLI sets it without loading the
// websocket client.

import { UsageError } from '../errors.js';
import { formatBytes, parseSize } from '../size.js';

/**
 * The largest CDP message nodeprof reads (NODEPROF_MAX_MESSAGE): chrome-remote-interface's own
 * bound, above the largest real answers (a Profiler.stop of 1.1M nodes is about 250 MB; the bench's
 * 100 MB profile parses into 270 MB of heap). At most V8's longest string, which the message becomes.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 2 ** 20;
const LONGEST_STRING = 2 ** 29 - 24;
/** Deepest nesting of a message: V8's sampling heap profile, the deepest answer, stops at 128 frames (two levels each). */
export const MAX_MESSAGE_DEPTH = 1000;
let bound = DEFAULT_MAX_MESSAGE_BYTES;

export function maxMessageBytes(): number {
  return bound;
}

/** Sets the message bound from NODEPROF_MAX_MESSAGE (a size: 512MiB, 1g, bytes), read by the CLI. */
export function setMaxMessageBytes(env: string | undefined): void {
  if (env === undefined || env.trim() === '') return;
  const bytes = parseSize(env, 'NODEPROF_MAX_MESSAGE');
  if (bytes > LONGEST_STRING) throw new UsageError(`NODEPROF_MAX_MESSAGE ${env} is above ${formatBytes(LONGEST_STRING)}, the longest string V8 can parse`);
  bound = bytes;
}


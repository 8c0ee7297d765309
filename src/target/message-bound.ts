// The bound on what one CDP message from a target may make nodeprof read (see remote.ts), set once
// by the CLI from NODEPROF_MAX_MESSAGE. A module of its own: the CLI sets it without loading the
// websocket client. messageCost is here too: worker sessions, whose answers arrive as strings
// inside their parent's messages, check them with it.

import { UsageError } from '../errors.js';
import { formatBytes, parseSize } from '../size.js';

/**
 * The largest CDP message nodeprof reads (NODEPROF_MAX_MESSAGE): chrome-remote-interface's own
 * bound, above the largest real answers (bench/RESULTS.md). At most V8's longest string, which the
 * message becomes.
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

/**
 * Why a message would cost too much to parse, or undefined. JSON.parse costs memory and time per
 * value, not per byte: a real profile holds a container ({ or [) every ~64 bytes and a comma every
 * ~14, but `[{},{},...]` holds one every 3, and parsing that takes minutes and gigabytes of heap
 * well under the size bound (bench/RESULTS.md). So a linear scan estimates the heap it will take
 * (64 bytes per container, 16 per comma, the bytes themselves; close to what a real profile
 * takes) and refuses above four times the size bound, and refuses nesting deeper than
 * MAX_MESSAGE_DEPTH (code that walks a tree recursively would overflow the stack).
 */
export function messageCost(data: string | Uint8Array, maxBytes: number): string | undefined {
  const c = typeof data === 'string' ? countString(data) : countBytes(data);
  if (c.depth > MAX_MESSAGE_DEPTH) return `sent a message nested deeper than ${MAX_MESSAGE_DEPTH} levels`;
  const estimate = data.length + c.containers * 64 + c.commas * 16;
  if (estimate > 4 * maxBytes) {
    return `sent a message of ${formatBytes(data.length)} holding ${c.containers} objects and ${c.commas} values, which would take about ${formatBytes(estimate)} of memory to parse (more than four times NODEPROF_MAX_MESSAGE=${formatBytes(maxBytes)})`;
  }
  return undefined;
}

interface Counts {
  containers: number;
  commas: number;
  /** The deepest nesting seen, up to one past MAX_MESSAGE_DEPTH (the scan stops there). */
  depth: number;
}

// Two copies of one loop (a text frame arrives as a string, a binary one as bytes): each stays
// monomorphic. Strings are skipped with indexOf (memchr), the scan's main saving: a profile is
// mostly names and URLs.
function countString(s: string): Counts {
  let containers = 0;
  let commas = 0;
  let depth = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      // To the closing quote: one not preceded by an odd number of backslashes.
      for (;;) {
        const q = s.indexOf('"', i + 1);
        if (q < 0) return { containers, commas, depth };
        let b = q - 1;
        while (s.charCodeAt(b) === 0x5c) b--;
        i = q;
        if ((q - 1 - b) % 2 === 0) break;
      }
    } else if (c === 0x2c) commas++;
    else if (c === 0x7b || c === 0x5b) {
      containers++;
      if (++depth > MAX_MESSAGE_DEPTH) return { containers, commas, depth };
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { containers, commas, depth: 0 };
}

function countBytes(s: Uint8Array): Counts {
  let containers = 0;
  let commas = 0;
  let depth = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s[i]!;
    if (c === 0x22) {
      for (;;) {
        const q = s.indexOf(0x22, i + 1);
        if (q < 0) return { containers, commas, depth };
        let b = q - 1;
        while (s[b] === 0x5c) b--;
        i = q;
        if ((q - 1 - b) % 2 === 0) break;
      }
    } else if (c === 0x2c) commas++;
    else if (c === 0x7b || c === 0x5b) {
      containers++;
      if (++depth > MAX_MESSAGE_DEPTH) return { containers, commas, depth };
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { containers, commas, depth: 0 };
}

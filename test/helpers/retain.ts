// Facts about fixtures/retain.js that heap tests check against.

/**
 * What retainMemory keeps on 64-bit V8 (Node's default, no pointer compression): each
 * `new Array(126).fill(i)` is a JSArray (32 B) plus a FixedArray of 126 slots (16 + 126 × 8 B):
 * 1,056 B, × 65,536 = 69,206,016 B (66 MiB). The `kept` array's own backing store adds < 1 %.
 */
export const RETAINED_BYTES = 65_536 * 1056;

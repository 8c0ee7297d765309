// A sampling heap profile whose tree is deeper than the JS stack (a hostile target chooses its
// shape): the walk was recursive ("Maximum call stack size exceeded") and copied the stack array
// for every node (nodes × depth). Now a loop, each node's stack interned on its parent's.
import { describe, expect, test } from '@jest/globals';
import type { Protocol } from 'devtools-protocol';
import { heapProfileToPprof } from '../../src/pprof/heap-profile.js';
import { stacks } from '../../src/pprof/query.js';

describe('heap profile tree depth', () => {
  test('a chain 100k deep, its last node sampled: one sample with the whole stack', () => {
    const depth = 100_000;
    const head: Protocol.HeapProfiler.SamplingHeapProfileNode = {
      id: 1,
      callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 },
      selfSize: 0,
      children: [],
    };
    let at = head;
    for (let id = 2; id <= depth + 1; id++) {
      const node = {
        id,
        callFrame: { functionName: `f${id % 7}`, scriptId: '1', url: 'file:///r.js', lineNumber: id % 7, columnNumber: 1 },
        selfSize: 0,
        children: [],
      };
      at.children.push(node);
      at = node;
    }
    const p = heapProfileToPprof({ head, samples: [{ nodeId: depth + 1, size: 4096, ordinal: 1 }] }, { mode: 'inuse', intervalBytes: 512 * 1024 });
    const all = stacks(p);
    expect(all).toHaveLength(1);
    expect(all[0]!.frames).toHaveLength(depth);
    expect(all[0]!.values[1]).toBe(4096);
  });
});

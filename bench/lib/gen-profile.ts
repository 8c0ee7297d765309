// Synthetic V8 CPU profiles of a chosen size with the shape of real ones: a call tree built from
// random stacks that share prefixes (few top-level frames, thousands of distinct deep paths), a
// function pool spread over many files with a skewed popularity, self time concentrated on a hot
// minority of nodes, runs of repeated samples, jittered timeDeltas (some zero or slightly
// negative, as V8 emits), positionTicks on every node with self samples, and (program), (idle)
// and (garbage collector) nodes. The proportions were taken from a recorded profile of
// bench/fixtures/cpu-work.js (about 210 bytes of JSON per node). Deterministic for a given size.

import type { Protocol } from 'devtools-protocol';

type Node = Protocol.Profiler.ProfileNode;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'handle',
  'request',
  'parse',
  'render',
  'query',
  'resolve',
  'emit',
  'next',
  'dispatch',
  'serialize',
  'validate',
  'compile',
  'visit',
  'transform',
  'load',
  'read',
  'write',
  'flush',
  'process',
  'run',
];
const NOUNS = ['User', 'Order', 'Route', 'Token', 'Node', 'Buffer', 'Stream', 'Schema', 'Template', 'Session', 'Header', 'Body', 'Row', 'Plan', 'Cache'];

export const GENERATOR_VERSION = 1;

/** A profile of roughly `bytes` bytes of JSON (the actual size is what JSON.stringify gives). */
export function generateCpuProfile(bytes: number, seed = 42): Protocol.Profiler.Profile {
  const r = rng(seed);
  const nodeTarget = Math.max(50, Math.round((bytes * 0.78) / 210));
  const sampleTarget = Math.max(100, Math.round((bytes * 0.22) / 11));

  const fnCount = Math.max(300, Math.round(nodeTarget / 6));
  const fileCount = Math.max(20, Math.round(fnCount / 25));
  const files = Array.from({ length: fileCount }, (_, i) =>
    i % 10 === 9
      ? { url: `node:internal/${['streams/readable', 'timers', 'http/server', 'process/task_queues', 'fs/promises'][i % 5]}${i}`, scriptId: String(i + 10) }
      : { url: `file:///srv/app/${i % 3 ? `node_modules/pkg-${i % 97}/lib` : 'src'}/module-${i}.js`, scriptId: String(i + 10) },
  );
  const fns = Array.from({ length: fnCount }, (_, i) => {
    const file = files[Math.floor(i / (fnCount / fileCount)) % fileCount]!;
    const anonymous = r() < 0.06;
    return {
      functionName: anonymous ? '' : `${WORDS[Math.floor(r() * WORDS.length)]}${NOUNS[Math.floor(r() * NOUNS.length)]}${i}`,
      scriptId: file.scriptId,
      url: file.url,
      lineNumber: Math.floor(r() * 2000),
      columnNumber: Math.floor(r() * 60),
    };
  });
  const special = (functionName: string): Protocol.Runtime.CallFrame => ({ functionName, scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 });

  const nodes: Node[] = [];
  const fnOf: number[] = []; // function index per node (-1 for special)
  const add = (callFrame: Protocol.Runtime.CallFrame, parent: Node | undefined, fn: number): Node => {
    const n: Node = { id: nodes.length + 1, callFrame, hitCount: 0 };
    nodes.push(n);
    fnOf.push(fn);
    if (parent) (parent.children ??= []).push(n.id);
    return n;
  };
  const root = add(special('(root)'), undefined, -1);
  const program = add(special('(program)'), root, -1);
  const idle = add(special('(idle)'), root, -1);
  const gc = add(special('(garbage collector)'), root, -1);
  // A few entry points (the event loop's callers) at the top, as in a real service.
  const entries = [0, 1, 2, 3, 4].map((i) => add(fns[i]!, root, i));

  while (nodes.length < nodeTarget) {
    let at = entries[Math.floor(r() * r() * entries.length)]!;
    const depth = 4 + Math.floor((r() + r() + r()) * 18);
    for (let d = 1; d < depth && nodes.length < nodeTarget; d++) {
      const reuse = d < 3 ? 0.97 : d < 8 ? 0.85 : 0.6;
      const kids = at.children;
      if (kids && kids.length > 0 && r() < reuse) {
        at = nodes[kids[Math.floor(r() * r() * kids.length)]! - 1]!;
        continue;
      }
      const parentFn = fnOf[at.id - 1]!;
      // Callees are often near their caller (same file or package), sometimes a popular utility.
      const fn = r() < 0.65 ? (parentFn + 1 + Math.floor(r() * 40)) % fnCount : Math.floor(fnCount * r() * r() * r());
      at = add(fns[fn]!, at, fn);
    }
  }

  // Self time: a heavy-tailed weight per node; idle and program carry a large share, as in a service.
  const weights = nodes.map((n) => (n === root ? 0 : Math.pow(r(), 6)));
  const total = weights.reduce((a, b) => a + b, 0);
  weights[idle.id - 1] = total * 0.25;
  weights[program.id - 1] = total * 0.05;
  weights[gc.id - 1] = total * 0.03;
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) cumulative.push((acc += w));
  const pick = () => {
    const x = r() * acc;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };

  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let prev = pick();
  for (let i = 0; i < sampleTarget; i++) {
    const id = r() < 0.55 ? prev : pick();
    samples.push(id);
    const u = r();
    timeDeltas.push(i === 0 ? 2345 : u < 0.01 ? -Math.floor(r() * 20) : u < 0.02 ? 0 : Math.round(1000 + (r() - 0.3) * 400 + (u > 0.995 ? r() * 20000 : 0)));
    prev = id;
  }
  const lines = new Map<number, Map<number, number>>();
  for (const id of samples) {
    const n = nodes[id - 1]!;
    n.hitCount! += 1;
    if (n.callFrame.lineNumber < 0) continue;
    let byLine = lines.get(id);
    if (!byLine) lines.set(id, (byLine = new Map()));
    // Self time falls on a few lines of the function body (positionTicks lines are 1-based).
    const line = n.callFrame.lineNumber + 1 + Math.floor(Math.pow(r(), 2) * 4) * (1 + (id % 7));
    byLine.set(line, (byLine.get(line) ?? 0) + 1);
  }
  for (const [id, byLine] of lines) nodes[id - 1]!.positionTicks = [...byLine].map(([line, ticks]) => ({ line, ticks }));

  // V8's key order: id, callFrame, hitCount, children, positionTicks.
  const ordered = nodes.map((n) => {
    const o: Node = { id: n.id, callFrame: n.callFrame, hitCount: n.hitCount };
    if (n.children) o.children = n.children;
    if (n.positionTicks) o.positionTicks = n.positionTicks;
    return o;
  });
  const startTime = 183_000_000_000;
  const endTime = startTime + timeDeltas.reduce((a, b) => a + b, 0);
  return { nodes: ordered, startTime, endTime, samples, timeDeltas };
}

// The facade's pprof answers, all built through the serve's one AddressBook so a frame has the same
// address in every answer: heap/allocs from the one sampler, goroutine stacks, Go's empty block /
// mutex / threadcreate, deltas between two answers, and Go's debug=2 goroutine dump (debug=1 is
// go-text.ts).

import type { FrameMapper } from '../pprof/cpu-profile.js';
import type { Protocol } from 'devtools-protocol';
import type { Profile } from 'pprof-format';
import type { AddressBook } from '../pprof/address-book.js';
import { ProfileBuilder, type SampleType } from '../pprof/builder.js';
import { addHeapProfile, newHeapBuilder, type HeapMode } from '../pprof/heap-profile.js';
import { str } from '../pprof/query.js';
import { terminalText } from '../output/terminal-text.js';
import type { Frame } from '../pprof/frame.js';
import type { ThreadStack } from '../collect/stack.js';

export function heapAnswer(
  sampling: Protocol.HeapProfiler.SamplingHeapProfile,
  o: {
    mode: HeapMode;
    intervalBytes: number;
    startedAtMs: number;
    book: AddressBook;
    mapFrame?: FrameMapper;
    /** How long ago the sampler was read from the target (the answer of an earlier read), ms. */
    readAgoMs?: number;
    readIntervalMs?: number;
  },
): Profile {
  // As Go's: time_nanos is when the answer was taken; the duration runs from when sampling began.
  const now = Date.now();
  const b = newHeapBuilder({
    mode: o.mode,
    intervalBytes: o.intervalBytes,
    durationNanos: Math.max(0, now - o.startedAtMs) * 1e6,
    startedAtMs: now,
    addresses: o.book,
  });
  addHeapProfile(b, sampling, { intervalBytes: o.intervalBytes, mapFrame: o.mapFrame });
  b.addComment(
    o.mode === 'inuse'
      ? 'nodeprof: the heap sampler runs in inuse mode (live objects); start serve with --heap-mode alloc for alloc_objects/alloc_space'
      : 'nodeprof: the heap sampler runs in alloc mode (every allocation since sampling began, collected or not); start serve with --heap-mode inuse for live objects',
  );
  if (o.readAgoMs !== undefined && o.readAgoMs >= 1000) {
    b.addComment(
      `nodeprof: read from the target ${Math.round(o.readAgoMs / 1000)}s ago: serve reads V8's heap sampler at most every ${Math.round((o.readIntervalMs ?? 0) / 1000)}s (each read is a full GC in the target; --heap-read-interval); ?gc=1 or ?seconds= reads now`,
    );
  }
  return b.build();
}

const IDLE_FRAME: Frame = { name: '(idle)', file: '', line: 0, column: 0, startLine: 0 };
const UNRESPONSIVE_FRAME: Frame = { name: '(unresponsive: busy outside JavaScript)', file: '', line: 0, column: 0, startLine: 0 };

/** What goroutine says of a thread: running (frames), idle (the event loop waits) or unresponsive (no stack). */
function threadState(t: ThreadStack<Frame>): 'running' | 'idle' | 'unresponsive' {
  return t.error !== undefined ? 'unresponsive' : t.frames.length ? 'running' : 'idle';
}

export function goroutineAnswer(threads: Array<ThreadStack<Frame>>, book: AddressBook): Profile {
  const b = new ProfileBuilder({
    sampleTypes: [['goroutine', 'count']],
    periodType: ['goroutine', 'count'],
    period: 1,
    timeNanos: Date.now() * 1e6,
    addresses: book,
  });
  for (const t of threads) {
    const stack = t.frames.length ? t.frames : [threadState(t) === 'unresponsive' ? UNRESPONSIVE_FRAME : IDLE_FRAME];
    b.addSample(stack, [1], { thread: t.thread });
  }
  b.addComment('nodeprof: one sample per JavaScript thread, its stack when asked ((idle): the event loop was waiting); read without pausing the thread');
  return b.build();
}

export const EMPTY_PROFILES: Record<'block' | 'mutex' | 'threadcreate', { types: SampleType[]; why: string }> = {
  block: {
    types: [
      ['contentions', 'count'],
      ['delay', 'nanoseconds'],
    ],
    why: 'JavaScript does not block on synchronization primitives; waiting shows as (idle) in the CPU profile and in trace',
  },
  mutex: {
    types: [
      ['contentions', 'count'],
      ['delay', 'nanoseconds'],
    ],
    why: 'JavaScript has no contended mutexes',
  },
  threadcreate: {
    types: [['threadcreate', 'count']],
    why: 'Node.js does not report the stacks that created its OS threads',
  },
};

export function emptyAnswer(kind: keyof typeof EMPTY_PROFILES, book: AddressBook): Profile {
  const { types, why } = EMPTY_PROFILES[kind];
  const b = new ProfileBuilder({ sampleTypes: types, periodType: types[0], period: 1, timeNanos: Date.now() * 1e6, addresses: book });
  b.addComment(`nodeprof: always empty on Node.js: ${why}`);
  return b.build();
}

/** p1 minus p0, sample by sample, as Go's ?seconds=N: both must come from the same AddressBook. */
export function deltaAnswer(p0: Profile, p1: Profile, book: AddressBook): Profile {
  const types = p1.sampleType.map((t): SampleType => [str(p1, t.type), str(p1, t.unit)]);
  const b = new ProfileBuilder({
    sampleTypes: types,
    defaultSampleType: Number(p1.defaultSampleType) ? str(p1, p1.defaultSampleType) : undefined,
    periodType: p1.periodType ? [str(p1, p1.periodType.type), str(p1, p1.periodType.unit)] : undefined,
    period: Number(p1.period),
    timeNanos: Number(p1.timeNanos),
    durationNanos: Number(p1.timeNanos) - Number(p0.timeNanos),
    addresses: book,
  });
  const add = (p: Profile, sign: number) => {
    const address = new Map(p.location.map((l) => [Number(l.id), BigInt(l.address)]));
    for (const s of p.sample) {
      const frames = s.locationId.map((id) => book.lookup(address.get(Number(id))!)!);
      const labels = Object.fromEntries(s.label.map((l) => [str(p, l.key), Number(l.str) ? str(p, l.str) : Number(l.num)]));
      b.addSample(
        frames,
        s.value.map((v) => sign * Number(v)),
        labels,
      );
    }
  };
  add(p1, 1);
  add(p0, -1);
  const out = b.build();
  out.sample = out.sample.filter((s) => s.value.some((v) => Number(v) !== 0));
  for (const c of p1.comment) out.comment.push(out.stringTable.dedup(str(p1, c)));
  return out;
}

/** Go's debug=2 goroutine dump (the form of an unrecovered panic), one block per thread, escaped. */
export function stacksText(threads: Array<ThreadStack<Frame>>): string {
  const esc = terminalText;
  return (
    threads
      .map((t) => {
        const head = `thread ${esc(t.thread)} [${threadState(t)}]:`;
        const body = t.frames.map((f) => `${esc(f.name)}(...)\n\t${esc(f.file) || '(no file)'}:${f.line}:${f.column}`);
        return [head, ...body].join('\n');
      })
      .join('\n\n') + '\n'
  );
}

// speedscope's own file format (https://www.speedscope.app/file-format-schema.json): one sampled
// profile per thread, so speedscope shows the threads of a --workers profile side by side.

import type { Profile } from 'pprof-format';
import { flameData, type FlameData } from './flame-data.js';

export type SpeedscopeUnit = 'none' | 'nanoseconds' | 'microseconds' | 'milliseconds' | 'seconds' | 'bytes';

export interface SpeedscopeFile {
  $schema: 'https://www.speedscope.app/file-format-schema.json';
  shared: { frames: Array<{ name: string; file?: string; line?: number }> };
  profiles: Array<{
    type: 'sampled';
    name: string;
    unit: SpeedscopeUnit;
    startValue: number;
    endValue: number;
    /** Stacks outermost frame first, as indexes into shared.frames. */
    samples: number[][];
    weights: number[];
  }>;
  name?: string;
  activeProfileIndex?: number;
  exporter?: string;
}

function speedscopeUnit(unit: string): SpeedscopeUnit {
  return unit === 'nanoseconds' || unit === 'microseconds' || unit === 'milliseconds' || unit === 'seconds' || unit === 'bytes' ? unit : 'none';
}

/** `sampleType` names the value to show (default: the profile's default, e.g. cpu or inuse_space). */
export function toSpeedscope(profile: Profile, opts: { name?: string; sampleType?: string; exporter?: string } = {}): SpeedscopeFile {
  return speedscopeFromFlame(flameData(profile), opts);
}

export function speedscopeFromFlame(data: FlameData, opts: { name?: string; sampleType?: string; exporter?: string } = {}): SpeedscopeFile {
  const wanted = opts.sampleType === undefined ? -1 : data.sampleTypes.findIndex((t) => t.type === opts.sampleType);
  const type = wanted >= 0 ? wanted : data.defaultType;
  const unit = speedscopeUnit(data.sampleTypes[type]?.unit ?? '');
  const profiles = data.threads.map((t) => {
    const self = t.self[type] ?? [];
    const samples: number[][] = [];
    const weights: number[] = [];
    // One weighted sample per tree node with self value: its stack is the path from the root.
    const stackOf: number[][] = [];
    let total = 0;
    for (let i = 0; i < t.parent.length; i++) {
      const p = t.parent[i]!;
      const stack = p < 0 ? [t.frame[i]!] : [...stackOf[p]!, t.frame[i]!];
      stackOf.push(stack);
      const v = self[i] ?? 0;
      if (v > 0) {
        samples.push(stack);
        weights.push(v);
        total += v;
      }
    }
    return { type: 'sampled' as const, name: t.name === 'all' ? (opts.name ?? 'profile') : t.name, unit, startValue: 0, endValue: total, samples, weights };
  });
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: {
      frames: data.frames.map((f) => ({ name: f.name || '(anonymous)', ...(f.file ? { file: f.file } : {}), ...(f.line > 0 ? { line: f.line } : {}) })),
    },
    profiles,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    activeProfileIndex: 0,
    exporter: opts.exporter ?? 'nodeprof',
  };
}

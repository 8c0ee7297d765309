// Reading profiles the way a user would: decode, validate, and sum values per function.

import fs from 'node:fs';
import type { Profile } from 'pprof-format';
import { decodePprof } from '../../src/pprof/encode.js';
import { sampleTypeIndex, stacks } from '../../src/pprof/query.js';
import { assertValidProfile } from '../../src/pprof/validate.js';

export function loadProfile(fileOrBytes: string | Uint8Array): Profile {
  const bytes = typeof fileOrBytes === 'string' ? fs.readFileSync(fileOrBytes) : fileOrBytes;
  const p = decodePprof(bytes);
  assertValidProfile(p);
  return p;
}

/** Value of the given sample type per leaf function name (flat), and in any frame (cum). */
export function byFunction(p: Profile, sampleType?: string): { flat: Map<string, number>; cum: Map<string, number>; total: number } {
  const idx = sampleTypeIndex(p, sampleType);
  const flat = new Map<string, number>();
  const cum = new Map<string, number>();
  let total = 0;
  for (const s of stacks(p)) {
    const v = s.values[idx] ?? 0;
    total += v;
    const leaf = s.frames[0]!.name;
    flat.set(leaf, (flat.get(leaf) ?? 0) + v);
    for (const n of new Set(s.frames.map((f) => f.name))) cum.set(n, (cum.get(n) ?? 0) + v);
  }
  return { flat, cum, total };
}

export function sampleTypes(p: Profile): string[] {
  return p.sampleType.map((t) => `${p.stringTable.strings[Number(t.type)]}/${p.stringTable.strings[Number(t.unit)]}`);
}

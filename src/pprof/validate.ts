// A strict check of a pprof Profile, stricter than go tool pprof's: every id and string index is
// valid, nothing is interned twice, every location has a unique non-zero address, stacks are merged.
// Tests run it on every profile nodeprof emits.

import type { Profile } from 'pprof-format';

export function validateProfile(p: Profile): string[] {
  const problems: string[] = [];
  const strings = p.stringTable.strings;
  const bad = (what: string) => problems.push(what);
  const checkStr = (i: number | bigint, what: string) => {
    if (Number(i) < 0 || Number(i) >= strings.length) bad(`${what}: string index ${i} out of range`);
  };

  if (strings[0] !== '') bad('string_table[0] is not ""');
  if (new Set(strings).size !== strings.length) bad('string_table has duplicates');
  if (p.sampleType.length === 0) bad('no sample types');
  p.sampleType.forEach((t, i) => {
    checkStr(t.type, `sample_type[${i}].type`);
    checkStr(t.unit, `sample_type[${i}].unit`);
  });
  const typeNames = p.sampleType.map((t) => strings[Number(t.type)]);
  if (new Set(typeNames).size !== typeNames.length) bad('duplicate sample type names');
  if (Number(p.defaultSampleType) !== 0 && !typeNames.includes(strings[Number(p.defaultSampleType)])) {
    bad(`default_sample_type '${strings[Number(p.defaultSampleType)]}' is not a sample type`);
  }
  if (Number(p.period) !== 0 && !p.periodType) bad('period without period_type');
  if (p.periodType) {
    checkStr(p.periodType.type, 'period_type.type');
    checkStr(p.periodType.unit, 'period_type.unit');
  }
  p.comment.forEach((c, i) => checkStr(c, `comment[${i}]`));

  const mappings = new Set<number>();
  for (const m of p.mapping) {
    const id = Number(m.id);
    if (id === 0 || mappings.has(id)) bad(`mapping id ${id} is zero or repeated`);
    mappings.add(id);
    checkStr(m.filename, `mapping ${id} filename`);
    checkStr(m.buildId, `mapping ${id} build_id`);
  }

  const functions = new Map<number, string>();
  const functionKeys = new Set<string>();
  for (const f of p.function) {
    const id = Number(f.id);
    if (id === 0 || functions.has(id)) bad(`function id ${id} is zero or repeated`);
    checkStr(f.name, `function ${id} name`);
    checkStr(f.systemName, `function ${id} system_name`);
    checkStr(f.filename, `function ${id} filename`);
    if (strings[Number(f.name)] === '') bad(`function ${id} has an empty name`);
    const key = `${f.name}/${f.systemName}/${f.filename}/${f.startLine}`;
    if (functionKeys.has(key)) bad(`function ${id} duplicates another function`);
    functionKeys.add(key);
    functions.set(id, key);
  }

  const locations = new Set<number>();
  const addresses = new Set<bigint>();
  const locationKeys = new Set<string>();
  for (const l of p.location) {
    const id = Number(l.id);
    if (id === 0 || locations.has(id)) bad(`location id ${id} is zero or repeated`);
    locations.add(id);
    const addr = BigInt(l.address);
    if (addr === 0n) bad(`location ${id} has address 0`);
    if (addresses.has(addr)) bad(`location ${id} repeats address 0x${addr.toString(16)}`);
    addresses.add(addr);
    if (Number(l.mappingId) !== 0 && !mappings.has(Number(l.mappingId))) bad(`location ${id} names missing mapping ${l.mappingId}`);
    if (l.line.length === 0) bad(`location ${id} has no line`);
    for (const ln of l.line) {
      if (!functions.has(Number(ln.functionId))) bad(`location ${id} names missing function ${ln.functionId}`);
      if (Number(ln.line) < 0) bad(`location ${id} has a negative line`);
    }
    const key = l.line.map((ln) => `${ln.functionId}:${ln.line}:${ln.column}`).join('|');
    if (locationKeys.has(key)) bad(`location ${id} duplicates another location`);
    locationKeys.add(key);
  }

  const sampleKeys = new Set<string>();
  p.sample.forEach((s, i) => {
    if (s.value.length !== p.sampleType.length) bad(`sample ${i} has ${s.value.length} values for ${p.sampleType.length} types`);
    if (s.locationId.length === 0) bad(`sample ${i} has an empty stack`);
    for (const id of s.locationId) if (!locations.has(Number(id))) bad(`sample ${i} names missing location ${id}`);
    for (const v of s.value) if (Number(v) < 0) bad(`sample ${i} has a negative value`);
    for (const lb of s.label) {
      checkStr(lb.key, `sample ${i} label key`);
      checkStr(lb.str, `sample ${i} label str`);
    }
    const key =
      s.locationId.join(',') +
      '|' +
      s.label
        .map((lb) => `${lb.key}=${lb.str}/${lb.num}`)
        .sort()
        .join(',');
    if (sampleKeys.has(key)) bad(`sample ${i} repeats the stack and labels of another (not merged)`);
    sampleKeys.add(key);
  });
  return problems;
}

export function assertValidProfile(p: Profile): void {
  const problems = validateProfile(p);
  if (problems.length > 0) throw new Error(`invalid profile:\n  ${problems.slice(0, 20).join('\n  ')}`);
}

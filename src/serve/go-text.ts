// Go's legacy text profiles (?debug=1), written as runtime/pprof writes them so that go tool pprof
// (profile/legacy_profile.go) parses them: heap and allocs (`heap profile: ...`), goroutine and
// threadcreate (`<name> profile: total N`), block and mutex (`--- contention:` / `--- mutex:`).
//
// Addresses: a stack line lists return addresses, as Go's does, and pprof subtracts 1 from each to
// land on the call; so it lists the AddressBook's address + 1, and pprof's locations (and its
// /symbol lookups) get the same addresses as the binary answers. The `#` lines show the book's
// address itself, as Go shows the call's PC there. Every string from the target is escaped.

import type { Profile } from 'pprof-format';
import { str } from '../pprof/query.js';
import { terminalText } from '../output/terminal-text.js';

const hex = (n: bigint | number) => `0x${BigInt(n).toString(16)}`;

/** The stack of a sample as `#` lines (leaf first), as Go's printStackRecord, each ending in \n. */
function stackLines(
  p: Profile,
  s: Profile['sample'][number],
  locs: Map<number, Profile['location'][number]>,
  fns: Map<number, Profile['function'][number]>,
): string {
  let out = '';
  for (const id of s.locationId) {
    const l = locs.get(Number(id))!;
    const ln = l.line[0];
    const f = ln ? fns.get(Number(ln.functionId)) : undefined;
    if (!f) {
      out += `#\t${hex(l.address)}\n`;
      continue;
    }
    const file = terminalText(str(p, f.filename));
    // Go: `#\tPC\tfunc+offset\tfile:line`; a frame without a file (V8's (program), (idle)) ends at its name.
    out += `#\t${hex(l.address)}\t${terminalText(str(p, f.name))}+0x0${file ? `\t${file}:${Number(ln!.line)}` : ''}\n`;
  }
  return `${out}\n`;
}

/** ` 0x.. 0x..`: the sample's return addresses (the book's + 1), as after Go's `@`. */
function returnAddresses(p: Profile, s: Profile['sample'][number], locs: Map<number, Profile['location'][number]>): string {
  return s.locationId.map((id) => ` ${hex(BigInt(locs.get(Number(id))!.address) + 1n)}`).join('');
}

function tables(p: Profile) {
  return {
    locs: new Map(p.location.map((l) => [Number(l.id), l])),
    fns: new Map(p.function.map((f) => [Number(f.id), f])),
  };
}

function comments(p: Profile, extra: string[] = []): string {
  const lines = [...p.comment.map((c) => str(p, c)), ...extra].map((c) => `# ${terminalText(c)}\n`);
  return lines.length ? `\n${lines.join('')}` : '';
}

/**
 * heap?debug=1 from the heap answer (values [objects, bytes], already scaled to estimates): Go's
 * header and one line per stack with the sampled (unscaled) counts that pprof scales back with the
 * rate (1 / (1 - e^(-avg/rate)), as Go's heap text expects), so pprof shows what the binary shows.
 * The sampler measures one thing (live objects or allocations), so the in-use and allocated pairs
 * are equal, which pprof reads as Go's two-column heap profile (sample types objects and space).
 */
export function heapText(p: Profile): string {
  const interval = Number(p.period) > 0 ? Number(p.period) : 512 * 1024;
  const { locs, fns } = tables(p);
  const rows = p.sample
    .map((s) => {
      const objects = Number(s.value[0] ?? 0);
      const bytes = Number(s.value[1] ?? 0);
      if (bytes <= 0) return undefined;
      const count = Math.max(1, Math.floor(objects > 0 ? objects * (1 - Math.exp(-bytes / objects / interval)) : 1));
      return { s, count, bytes: unscaledBytes(bytes, count, interval) };
    })
    .filter((r) => r !== undefined)
    .sort((a, b) => b.bytes - a.bytes);
  const count = rows.reduce((a, r) => a + r.count, 0);
  const bytes = rows.reduce((a, r) => a + r.bytes, 0);
  // Go writes 2 * MemProfileRate ("what pprof has come to expect") and pprof halves it.
  let out = `heap profile: ${count}: ${bytes} [${count}: ${bytes}] @ heap/${2 * interval}\n`;
  for (const r of rows) out += `${r.count}: ${r.bytes} [${r.count}: ${r.bytes}] @${returnAddresses(p, r.s, locs)}\n${stackLines(p, r.s, locs, fns)}`;
  const kind = str(p, p.sampleType[0]?.type ?? 0).startsWith('alloc') ? 'allocations since sampling began' : 'live objects';
  out += comments(p, [`nodeprof: in-use and allocated columns are equal: the sampler counts ${kind} only`]);
  return tabwriter(out);
}

/**
 * The sampled bytes b of `count` samples that pprof scales to `scaled`: b / (1 - e^(-b/count/rate))
 * = scaled. The count is an integer, rounded down (count × rate is the least any bytes scale to),
 * and the bytes are solved for: pprof then shows the binary answer's bytes, its objects about.
 */
function unscaledBytes(scaled: number, count: number, rate: number): number {
  let lo = 0;
  let hi = scaled;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (mid / (1 - Math.exp(-mid / count / rate)) < scaled) lo = mid;
    else hi = mid;
  }
  return Math.max(1, Math.round(hi));
}

/**
 * goroutine?debug=1 and threadcreate?debug=1: Go's printCountProfile. Samples of one stack and one
 * set of labels are one line with their count (labels as Go's `# labels: {"k":"v"}`), most
 * frequent first, ties by their text.
 */
export function countText(p: Profile, name: string): string {
  const { locs, fns } = tables(p);
  const groups = new Map<string, { count: number; s: Profile['sample'][number] }>();
  let total = 0;
  for (const s of p.sample) {
    const n = Number(s.value[0] ?? 0);
    total += n;
    const labels = s.label
      .map((l) => `${JSON.stringify(terminalText(str(p, l.key)))}:${JSON.stringify(Number(l.str) ? terminalText(str(p, l.str)) : String(l.num))}`)
      .sort();
    const key = `@${returnAddresses(p, s, locs)}${labels.length ? `\n# labels: {${labels.join(', ')}}` : ''}`;
    const g = groups.get(key);
    if (g) g.count += n;
    else groups.set(key, { count: n, s });
  }
  const keys = [...groups.keys()].sort((a, b) => groups.get(b)!.count - groups.get(a)!.count || (a < b ? -1 : a > b ? 1 : 0));
  let out = `${name} profile: total ${total}\n`;
  for (const k of keys) out += `${groups.get(k)!.count} ${k}\n${stackLines(p, groups.get(k)!.s, locs, fns)}`;
  return tabwriter(out + comments(p));
}

/**
 * block?debug=1 and mutex?debug=1 (always empty here): Go's header; cycles/second is 1e9 because
 * the binary answer's delay is in nanoseconds.
 */
export function contentionText(p: Profile, name: 'block' | 'mutex'): string {
  const head = name === 'mutex' ? '--- mutex:\ncycles/second=1000000000\nsampling period=0\n' : '--- contention:\ncycles/second=1000000000\n';
  return tabwriter(head + comments(p));
}

/**
 * Go's text/tabwriter as runtime/pprof configures it (minwidth 1, tabwidth 8, padding 1, padded with
 * tabs, no flags): tab-terminated cells of consecutive lines form columns, each padded with tabs to
 * the widest cell + 1 rounded up to a tab stop. The text of a line after its last tab is not aligned.
 */
export function tabwriter(text: string): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const width = (s: string) => [...s].length;
  const widths: number[] = [];
  let out = '';
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      cells.forEach((c, j) => {
        out += c;
        if (j < cells.length - 1 && j < widths.length) {
          const cellw = Math.ceil(widths[j]! / 8) * 8;
          out += '\t'.repeat(Math.ceil((cellw - width(c)) / 8));
        }
      });
      if (i + 1 < lines.length) out += '\n';
    }
  };
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let at = line0; at < line1; at++) {
      if (column >= lines[at]!.length - 1) continue;
      writeLines(line0, at);
      line0 = at;
      let w = 1;
      for (; at < line1 && column < lines[at]!.length - 1; at++) w = Math.max(w, width(lines[at]![column]!) + 1);
      widths.push(w);
      format(line0, at);
      widths.pop();
      line0 = at; // the line that ended the block has no cell in this column: at++ may skip it
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out;
}

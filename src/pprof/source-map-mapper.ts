// Source maps as the converters use them: which scripts a profile touches, where a script says its
// map is, and a FrameMapper that moves frames from generated JavaScript to the original sources.
// Pure data in, data out; finding and reading the maps is src/collect/source-map-loader.ts.

import { FlattenMap, GREATEST_LOWER_BOUND, LEAST_UPPER_BOUND, decodedMappings, originalPositionFor, type TraceMap } from '@jridgewell/trace-mapping';
import type { Protocol } from 'devtools-protocol';
import type { FrameMapper } from './cpu-profile.js';
import { functionName, scriptPath, type Frame } from './frame.js';

export interface ScriptRef {
  scriptId: string;
  url: string;
}

/** The scripts (id and URL) behind a CPU profile's frames, each once; VM frames have no script. */
export function scriptsInCpuProfile(profile: Protocol.Profiler.Profile): ScriptRef[] {
  const byId = new Map<string, string>();
  for (const n of profile.nodes) {
    const { scriptId, url } = n.callFrame;
    if (url && scriptId && scriptId !== '0') byId.set(scriptId, url);
  }
  return [...byId].map(([scriptId, url]) => ({ scriptId, url }));
}

/** The same for a sampling heap profile. */
export function scriptsInHeapProfile(profile: Protocol.HeapProfiler.SamplingHeapProfile): ScriptRef[] {
  const byId = new Map<string, string>();
  const walk = (n: Protocol.HeapProfiler.SamplingHeapProfileNode) => {
    const { scriptId, url } = n.callFrame;
    if (url && scriptId && scriptId !== '0') byId.set(scriptId, url);
    n.children.forEach(walk);
  };
  walk(profile.head);
  return [...byId].map(([scriptId, url]) => ({ scriptId, url }));
}

/**
 * The URL in a script's last `//# sourceMappingURL=` comment (also the old `//@` and the CSS-style
 * block comment), or undefined. Only a comment on the script's last non-empty lines counts, as in V8.
 */
export function sourceMappingURLOf(source: string): string | undefined {
  const re = /(?:\/\/[#@]|\/\*[#@])\s*sourceMappingURL=([^\s'"*]+)\s*(?:\*\/)?\s*$/;
  // Look at the tail only: a comment in the middle of a bundle is some other module's.
  let end = source.length;
  for (let i = 0; i < 5 && end > 0; i++) {
    const start = source.lastIndexOf('\n', end - 1) + 1;
    const line = source.slice(start, end).trim();
    if (line !== '') {
      const m = re.exec(line);
      if (m) return m[1];
      if (!line.startsWith('//') && !line.startsWith('/*')) return undefined;
    }
    end = start - 1;
  }
  return undefined;
}

/** The text of a `data:` URL (base64 or percent-encoded). */
export function dataUrlText(url: string): string {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0) throw new Error('not a data: URL');
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  return meta.split(';').includes('base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
}

/** Parses a map; throws with a short reason when it is not a usable source map. */
export function parseSourceMap(text: string, mapUrl: string): TraceMap {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\)\]\}'[^\n]*\n/, ''));
  } catch {
    throw new Error('not JSON');
  }
  const v = json as { version?: unknown; mappings?: unknown; sections?: unknown };
  if (typeof json !== 'object' || json === null || (typeof v.mappings !== 'string' && !Array.isArray(v.sections))) {
    throw new Error('not a source map (no mappings)');
  }
  // The library's own messages may quote the map; ours never do (the map may be any file a target named).
  try {
    const map = new FlattenMap(json as never, mapUrl);
    decodedMappings(map); // decode now, so a corrupt mappings string fails here and not mid-conversion
    return map;
  } catch {
    throw new Error('not a usable source map (its mappings cannot be decoded)');
  }
}

/** Local paths of a map's sources that do not exist (checked by the caller's `exists`). */
export function missingSources(map: TraceMap, exists: (path: string) => boolean): string[] {
  return map.resolvedSources
    .filter((s): s is string => typeof s === 'string' && s.startsWith('file://'))
    .map(scriptPath)
    .filter((p) => !exists(p));
}

interface Original {
  file: string;
  line: number;
  column: number;
  name: string | null;
}

/** Maps frames of the scripts in `maps` (by scriptId); frames of other scripts pass unchanged. */
export function sourceMapFrameMapper(maps: ReadonlyMap<string, TraceMap>): FrameMapper {
  const cache = new Map<string, Frame>();
  // The generated start column of each function (scriptId:startLine), learned from its start frame:
  // line-level frames (positionTicks) come without a column.
  const startColumns = new Map<string, number>();
  const mapper: FrameMapper = (frame, scriptId) => {
    const map = scriptId !== undefined ? maps.get(scriptId) : undefined;
    if (!map || frame.startLine <= 0) return frame;
    const key = `${scriptId}\u0000${frame.name}\u0000${frame.startLine}\u0000${frame.line}\u0000${frame.column}`;
    let out = cache.get(key);
    if (!out) {
      out = mapFrame(map, frame, scriptId!, startColumns);
      cache.set(key, out);
    }
    return out;
  };
  mapper.covers = (scriptId) => scriptId !== undefined && maps.has(scriptId);
  return mapper;
}

function lookup(map: TraceMap, line1: number, column0: number, bias: typeof GREATEST_LOWER_BOUND | typeof LEAST_UPPER_BOUND): Original | undefined {
  const o = originalPositionFor(map, { line: line1, column: column0, bias });
  if (o.source === null || o.line === null) return undefined;
  return { file: scriptPath(o.source), line: o.line, column: o.column + 1, name: o.name };
}

/** The original name of the function starting at (line1, column0): the named segment just before its `(`. */
function originalName(map: TraceMap, line1: number, column0: number, generatedName: string): string | null {
  const segments = decodedMappings(map)[line1 - 1];
  if (!segments) return null;
  let best: readonly number[] | undefined;
  for (const s of segments) {
    if (s[0]! > column0) break;
    if (s.length === 5) best = s;
  }
  if (!best) return null;
  // Near enough to be this function's own name (`function name(`, `name(`, `name = (`), not an
  // identifier further left on the same line.
  if (column0 - best[0]! > generatedName.length + 4) return null;
  return map.names[best[4]!] ?? null;
}

function mapFrame(map: TraceMap, frame: Frame, scriptId: string, startColumns: Map<string, number>): Frame {
  const colKey = `${scriptId}:${frame.startLine}`;
  const isStart = frame.line === frame.startLine && frame.column > 0;
  if (isStart) startColumns.set(colKey, frame.column - 1);
  // A line-only frame (a positionTicks line) carries its function's start column; frames built
  // elsewhere may not, and then the last start seen on that line is the best guess.
  const startCol0 = frame.startColumn ? frame.startColumn - 1 : (startColumns.get(colKey) ?? 0);

  const start = lookup(map, frame.startLine, startCol0, GREATEST_LOWER_BOUND) ?? lookup(map, frame.startLine, startCol0, LEAST_UPPER_BOUND);
  if (!start) return frame;

  let here: Original | undefined = start;
  if (!isStart) {
    // A line without a column: take the first mapping on that line, but not one left of the
    // function's own start when the function starts on it (several functions on one line).
    const col = frame.line === frame.startLine ? startCol0 : 0;
    here = lookup(map, frame.line, col, LEAST_UPPER_BOUND) ?? lookup(map, frame.line, col, GREATEST_LOWER_BOUND);
    if (!here || here.file !== start.file) here = { ...start, column: 0 };
    else if (frame.column === 0) here = { ...here, column: 0 };
  }

  const anonymous = frame.name.startsWith('(anonymous');
  const mappedName = anonymous ? null : originalName(map, frame.startLine, startCol0, frame.name);
  const name = anonymous ? functionName('', start.file, start.line) : (mappedName ?? frame.name);
  return { name, file: start.file, line: here.line, column: here.column, startLine: start.line };
}

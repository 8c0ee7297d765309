// Finds and loads the source maps of the scripts a profile touches, once per script, so the
// converters can name original files and lines (TypeScript, bundles).
//
// Where a script's map comes from, cheapest first:
// 1. The script file itself, read from local disk (file:// URLs, not .ts/.tsx/...): its trailing
//    `//# sourceMappingURL=` comment, an inline data: URL or a map file next to it. Costs the target
//    nothing.
// 2. Only for scripts that cannot be read that way (the file is not on this machine, or the URL is
//    a .ts/.tsx/... file that a loader such as tsx transformed in memory): one Debugger.enable /
//    Debugger.disable round trip, whose Debugger.scriptParsed events carry each script's
//    sourceMapURL. Debugger.enable announces every script and blocks the target for a while
//    (measured on Node 20: 16 ms with 96 scripts, 80-230 ms with 3,100), so it is the fallback,
//    used only when a profiled script needs it, and never left on.
// A missing or broken map never fails a profile: that script stays generated, with one warning.

import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TraceMap } from '@jridgewell/trace-mapping';
import type { FrameMapper } from '../pprof/cpu-profile.js';
import { scriptPath } from '../pprof/frame.js';
import {
  dataUrlText,
  missingSources,
  parseSourceMap,
  scriptsInCpuProfile,
  scriptsInHeapProfile,
  sourceMapFrameMapper,
  sourceMappingURLOf,
  type ScriptRef,
} from '../pprof/source-map.js';
import type { CdpSession } from '../target/session.js';
import type { Protocol } from 'devtools-protocol';

export interface SourceMaps {
  /** Pass as `mapFrame` to the CPU or heap converter. */
  mapFrame: FrameMapper;
  /** One line each, starting with "warning:", for the user (stderr). */
  warnings: string[];
  stats: SourceMapStats;
}

export interface SourceMapStats {
  /** Scripts of the profile that could have a map (file and other non-internal URLs). */
  scripts: number;
  /** Scripts whose map was loaded and is used. */
  mapped: number;
  /** Scripts whose map URL had to be learned through Debugger.scriptParsed. */
  viaDebugger: number;
  /** Wall time spent finding, reading and parsing maps. */
  ms: number;
}

export interface LoadOptions {
  /** Allow the Debugger.scriptParsed fallback (default true). */
  useDebugger?: boolean;
  /** Debugger.enable timeout (default 5 s). */
  debuggerTimeoutMs?: number;
  /**
   * Keeps what was learned per script across profiles of one target (serve: one per attached
   * session, as script ids are per isolate), so a script's map is read and parsed, and its
   * warning printed, once.
   */
  cache?: SourceMapCache;
}

/** What is known about one script's map. */
interface ScriptMap {
  map?: TraceMap;
  /** Why its map cannot be used (one warning line). */
  problem?: string;
  /** Local source files the map names that do not exist. */
  missing: string[];
}

export class SourceMapCache {
  readonly scripts = new Map<string, ScriptMap>();
}

/** Files a loader transforms in memory: what ran is not what is on disk. */
const TRANSFORMED = /\.(?:[mc]?tsx?|jsx|coffee|vue|svelte)$/i;
/** How many warnings to print one by one before summarising the rest. */
const MAX_WARNINGS = 5;

type Located = ScriptRef & ({ mapUrl: string; mtimeMs?: number } | { needsProtocol: true } | { none: true });

/** Loads the maps for a CPU profile's scripts (see loadSourceMaps). */
export function sourceMapsForCpuProfile(session: CdpSession | undefined, profile: Protocol.Profiler.Profile, opts?: LoadOptions): Promise<SourceMaps> {
  return loadSourceMaps(session, scriptsInCpuProfile(profile), opts);
}

/** Loads the maps for a sampling heap profile's scripts (see loadSourceMaps). */
export function sourceMapsForHeapProfile(
  session: CdpSession | undefined,
  profile: Protocol.HeapProfiler.SamplingHeapProfile,
  opts?: LoadOptions,
): Promise<SourceMaps> {
  return loadSourceMaps(session, scriptsInHeapProfile(profile), opts);
}

/**
 * Finds, reads and parses the source map of each given script (collect them from the profile
 * first, so only scripts that appear in it cost anything). `session` is used only for scripts
 * that cannot be read from local disk; pass undefined to never touch the target. Never throws.
 */
export async function loadSourceMaps(session: CdpSession | undefined, scripts: readonly ScriptRef[], opts: LoadOptions = {}): Promise<SourceMaps> {
  const t0 = performance.now();
  const cache = opts.cache ?? new SourceMapCache();
  const key = (s: ScriptRef) => `${s.scriptId}\u0000${s.url}`;
  const candidates = scripts.filter((s) => mayHaveMap(s.url));
  const fresh = candidates.filter((s) => !cache.scripts.has(key(s)));
  const problems: string[] = [];

  let located = await Promise.all(fresh.map(locateOnDisk));
  const viaProtocol = located.filter((l) => 'needsProtocol' in l);
  let viaDebugger = 0;
  if (viaProtocol.length > 0) {
    let fromDebugger: Map<string, string> | undefined;
    if (session && !session.isEnded && opts.useDebugger !== false) {
      try {
        fromDebugger = await sourceMapURLsFromDebugger(session, new Set(viaProtocol.map((l) => l.scriptId)), opts.debuggerTimeoutMs ?? 5000);
        viaDebugger = viaProtocol.length;
      } catch (err) {
        problems.push(`warning: could not ask the target for source map URLs (${(err as Error).message}); ${viaProtocol.length} script(s) stay in generated code`);
      }
    }
    // Without an answer (no session, or it failed) these stay unknown: not cached, asked again next time.
    located = located.flatMap((l): Located[] => {
      if (!('needsProtocol' in l)) return [l];
      if (!fromDebugger) return [];
      const u = fromDebugger.get(l.scriptId);
      return [u ? { scriptId: l.scriptId, url: l.url, mapUrl: u } : { scriptId: l.scriptId, url: l.url, none: true }];
    });
  }
  problems.push(...(await staleScripts(session, located)));

  // One read and parse per map even when several scripts (or several loads of one script) share it.
  const byMapUrl = new Map<string, Promise<TraceMap>>();
  await Promise.all(
    located.map(async (l) => {
      const entry: ScriptMap = { missing: [] };
      if ('mapUrl' in l) {
        const k = `${l.url}\u0000${l.mapUrl}`;
        let p = byMapUrl.get(k);
        if (!p) {
          p = readMap(l.url, l.mapUrl);
          byMapUrl.set(k, p);
        }
        try {
          entry.map = await p;
          entry.missing = missingSources(entry.map, existsSync);
        } catch (err) {
          entry.problem = `warning: source map for ${scriptPath(l.url)}: ${(err as Error).message}; its frames stay in the generated JavaScript`;
        }
      }
      cache.scripts.set(key(l), entry);
      if (entry.problem) problems.push(entry.problem);
    }),
  );

  const maps = new Map<string, TraceMap>();
  const missing = new Set<string>();
  for (const s of candidates) {
    const e = cache.scripts.get(key(s));
    if (e?.map) maps.set(s.scriptId, e.map);
  }
  for (const l of located) {
    // Packages that ship maps without their sources are common and nothing the user can fix.
    for (const m of cache.scripts.get(key(l))?.missing ?? []) if (!m.split(path.sep).includes('node_modules')) missing.add(m);
  }

  const warnings = problems.length > MAX_WARNINGS ? [...problems.slice(0, MAX_WARNINGS - 1), `warning: ${problems.length - MAX_WARNINGS + 1} more scripts have unusable source maps`] : problems;
  if (missing.size > 0) {
    const list = [...missing].sort();
    warnings.push(
      `warning: source maps name ${list.length} source file(s) not found on this machine (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', ...' : ''}): frames are mapped to them anyway; go tool pprof -list needs the sources (-source_path)`,
    );
  }
  return {
    mapFrame: sourceMapFrameMapper(maps),
    warnings,
    stats: { scripts: candidates.length, mapped: maps.size, viaDebugger, ms: performance.now() - t0 },
  };
}

/** Node's own, VM and WebAssembly scripts never have maps worth loading. */
function mayHaveMap(url: string): boolean {
  return url !== '' && !url.startsWith('node:') && !url.startsWith('evalmachine.') && !url.startsWith('wasm://');
}

function toFilePath(url: string): string | undefined {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch {
      return undefined;
    }
  }
  return path.isAbsolute(url) ? url : undefined;
}

async function locateOnDisk(s: ScriptRef): Promise<Located> {
  const file = toFilePath(s.url);
  // Not a file on this machine, or one a loader transformed: only the target knows what it ran.
  // (Other extensions, none included, are JavaScript: bin scripts have none.)
  if (!file || TRANSFORMED.test(file)) return { ...s, needsProtocol: true };
  let tail: { text: string; mtimeMs: number };
  try {
    tail = await readTail(file);
  } catch {
    return { ...s, needsProtocol: true };
  }
  const mapUrl = sourceMappingURLOf(tail.text);
  return mapUrl ? { ...s, mapUrl, mtimeMs: tail.mtimeMs } : { ...s, none: true };
}

/** How much of a script's end to read first: the map comment is on its last lines. */
const TAIL_BYTES = 64 * 1024;

/**
 * The last whole lines of a file, enough for sourceMappingURLOf: bundles can be tens of MB and
 * only their end matters. The whole file when it is small or its last line (an inline map) is long.
 */
async function readTail(file: string): Promise<{ text: string; mtimeMs: number }> {
  const fh = await fs.open(file, 'r');
  try {
    const { size, mtimeMs } = await fh.stat();
    if (size <= TAIL_BYTES) return { text: (await fh.readFile()).toString('utf8'), mtimeMs };
    const buf = Buffer.alloc(TAIL_BYTES);
    const { bytesRead } = await fh.read(buf, 0, TAIL_BYTES, size - TAIL_BYTES);
    const tail = buf.subarray(0, bytesRead).toString('utf8');
    const firstWhole = tail.slice(tail.indexOf('\n') + 1);
    if (tail.indexOf('\n') >= 0 && firstWhole.trim() !== '') return { text: firstWhole, mtimeMs };
    return { text: (await fs.readFile(file)).toString('utf8'), mtimeMs };
  } finally {
    await fh.close();
  }
}

/**
 * Warnings for scripts read from disk that changed after the target started (a rebuild while it
 * runs): the map next to them then describes the new code, not the code that runs. They are mapped
 * anyway. Costs one Runtime.evaluate, and only when a map came from disk.
 */
async function staleScripts(session: CdpSession | undefined, located: readonly Located[]): Promise<string[]> {
  const fromDisk = located.filter((l): l is Located & { mapUrl: string; mtimeMs: number } => 'mapUrl' in l && l.mtimeMs !== undefined);
  if (fromDisk.length === 0 || !session || session.isEnded) return [];
  let startedAtMs: number;
  try {
    const res = await Promise.race([
      session.send('Runtime.evaluate', { expression: 'Date.now() - process.uptime() * 1000', returnByValue: true, silent: true }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
    ]);
    if (typeof res.result.value !== 'number') return [];
    startedAtMs = res.result.value;
  } catch {
    return [];
  }
  // A second of slack for clock granularity and a build that finished as the process started.
  return fromDisk
    .filter((l) => l.mtimeMs > startedAtMs + 1000)
    .map((l) => `warning: ${scriptPath(l.url)} changed on disk after the target started: its source map may not match the code that runs (frames are mapped anyway)`);
}

/** The map's text and its own URL (against which its sources resolve). */
async function readMap(scriptUrl: string, mapUrl: string): Promise<TraceMap> {
  if (mapUrl.startsWith('data:')) {
    let text: string;
    try {
      text = dataUrlText(mapUrl);
    } catch {
      throw new Error('inline data: URL cannot be decoded');
    }
    return parseSourceMap(text, baseUrl(scriptUrl));
  }
  let resolved: URL;
  try {
    resolved = new URL(mapUrl, baseUrl(scriptUrl));
  } catch {
    throw new Error(`cannot resolve its URL ${mapUrl}`);
  }
  if (resolved.protocol !== 'file:') throw new Error(`map URL ${resolved.href} is not a local file`);
  const file = fileURLToPath(resolved);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file} (${code ?? (err as Error).message})`);
  }
  try {
    return parseSourceMap(text, resolved.href);
  } catch (err) {
    throw new Error(`${file} is ${(err as Error).message === 'not JSON' ? 'not valid JSON' : (err as Error).message}`);
  }
}

/** A URL to resolve relative map and source URLs against (CommonJS scripts may be bare paths). */
function baseUrl(scriptUrl: string): string {
  return path.isAbsolute(scriptUrl) ? pathToFileURL(scriptUrl).href : scriptUrl;
}

/**
 * The sourceMapURL of each wanted script, from the Debugger.scriptParsed events that
 * Debugger.enable sends for every loaded script before it answers. Always disables again.
 */
async function sourceMapURLsFromDebugger(session: CdpSession, wanted: Set<string>, timeoutMs: number): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const off = session.on('Debugger.scriptParsed', (e) => {
    if (wanted.has(e.scriptId) && e.sourceMapURL) found.set(e.scriptId, e.sourceMapURL);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      session.send('Debugger.enable', {}),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Debugger.enable did not answer within ${timeoutMs}ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    off();
    await session.send('Debugger.disable').catch(() => undefined);
  }
  return found;
}

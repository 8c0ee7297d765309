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
//    (bench/RESULTS.md, "Other costs"), so it is the fallback,
//    used only when a profiled script needs it, and never left on.
// A missing or broken map never fails a profile: that script stays generated, with one warning.
//
// Both the script paths and the map URLs come from the target, which may be hostile while nodeprof
// runs as root. So (file-read.ts) only regular files are opened, never a FIFO or device, and maps
// (file or inline) and a script's last line are read only up to a bound
// (NODEPROF_SOURCE_MAP_MAX_SIZE, 64 MiB). A map file is followed only inside its script's package:
// the outermost directory above the script holding a package.json (never the filesystem root; in
// node_modules, the package itself), else the script's own directory. So a map beside the script,
// in a sibling maps/ or dist/, or in a parent directory of the package is read; an absolute path
// elsewhere (/etc/shadow, another user's home) is not even opened. A map file is followed only for
// a script that is itself a regular file here (a path made up with `//# sourceURL` has no directory
// to trust). Inline data: maps need no file. Nothing read from a file is quoted in a warning.

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
} from '../pprof/source-map-mapper.js';
import type { CdpSession } from '../target/session.js';
import { formatBytes } from '../size.js';
import { DEFAULT_MAX_MAP_BYTES, MAX_MAP_BYTES_ENV, RefusedFile, isWithin, openRegularFile, readAt, readRegularFile } from './file-read.js';
import type { Protocol } from 'devtools-protocol';
import { withTimeout } from '../time.js';
import { settings } from '../settings.js';

export interface SourceMaps {
  /** Pass as `mapFrame` to the CPU or heap converter. */
  mapFrame: FrameMapper;
  /**
   * One line each for the user (stderr), most starting with "warning:"; scripts under node_modules
   * whose package names a map it does not ship share one note that is not a warning (common,
   * and nothing the user can fix: --quiet hides it).
   */
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
  /** The largest map read, file or inline (default: NODEPROF_SOURCE_MAP_MAX_SIZE, else 64 MiB). */
  maxBytes?: number;
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
/**
 * How many of a map's source paths are checked for existence (a stat each, never a read: the
 * sources are named, not opened); a map naming more is a bundle or a hostile map, and the rest are
 * taken as present rather than stat'ed one by one on the main thread.
 */
const MAX_SOURCES_CHECKED = 1000;
/** Which source paths exist, at most `budget` of them stat'ed. */
function existsWithin(budget: number): (file: string) => boolean {
  let left = budget;
  return (file) => left-- <= 0 || existsSync(file);
}
/** A map file that is not there (ENOENT), as opposed to one that cannot be read or parsed. */
class MissingMap extends Error {}

/** True for a script inside an installed package. */
function inNodeModules(url: string): boolean {
  return scriptPath(url).split(/[\\/]/).includes('node_modules');
}

/** How many warnings to print one by one before summarising the rest. */
const MAX_WARNINGS = 5;

type Located = ScriptRef & ({ mapUrl: string; mtimeMs?: number } | { needsProtocol: true } | { none: true } | { problem: string });

/** The bound the entry point read from NODEPROF_SOURCE_MAP_MAX_SIZE (src/settings.ts), else 64 MiB. */
function defaultMaxBytes(): number {
  return settings().sourceMapMaxBytes ?? DEFAULT_MAX_MAP_BYTES;
}

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
  const maxBytes = opts.maxBytes ?? defaultMaxBytes();

  let located = await Promise.all(fresh.map((s) => locateOnDisk(s, maxBytes)));
  const viaProtocol = located.filter((l) => 'needsProtocol' in l);
  let viaDebugger = 0;
  if (viaProtocol.length > 0) {
    let fromDebugger: Map<string, string> | undefined;
    if (session && !session.isEnded && opts.useDebugger !== false) {
      try {
        fromDebugger = await sourceMapURLsFromDebugger(session, new Set(viaProtocol.map((l) => l.scriptId)), opts.debuggerTimeoutMs ?? 5000);
        viaDebugger = viaProtocol.length;
      } catch (err) {
        problems.push(
          `warning: could not ask the target for source map URLs (${(err as Error).message}); ${viaProtocol.length} script(s) stay in generated code`,
        );
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
  const packagesWithoutMaps: string[] = [];
  await Promise.all(
    located.map(async (l) => {
      const entry: ScriptMap = { missing: [] };
      if ('problem' in l) entry.problem = `warning: source map for ${scriptPath(l.url)}: ${l.problem}; its frames stay in the generated JavaScript`;
      if ('mapUrl' in l) {
        const k = `${l.url}\u0000${l.mapUrl}`;
        let p = byMapUrl.get(k);
        if (!p) {
          p = readMap(l.url, l.mapUrl, maxBytes);
          byMapUrl.set(k, p);
        }
        try {
          entry.map = await p;
          entry.missing = missingSources(entry.map, existsWithin(MAX_SOURCES_CHECKED));
        } catch (err) {
          if (err instanceof MissingMap && inNodeModules(l.url)) packagesWithoutMaps.push(path.basename(scriptPath(l.url)));
          else entry.problem = `warning: source map for ${scriptPath(l.url)}: ${(err as Error).message}; its frames stay in the generated JavaScript`;
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

  const warnings =
    problems.length > MAX_WARNINGS
      ? [...problems.slice(0, MAX_WARNINGS - 1), `warning: ${problems.length - MAX_WARNINGS + 1} more scripts have unusable source maps`]
      : problems;
  if (packagesWithoutMaps.length > 0) {
    const list = [...new Set(packagesWithoutMaps)].sort();
    warnings.push(
      `source maps: ${packagesWithoutMaps.length} script(s) under node_modules name a map their package does not ship (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', ...' : ''}): their frames stay in the generated JavaScript`,
    );
  }
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

async function locateOnDisk(s: ScriptRef, maxBytes: number): Promise<Located> {
  const file = toFilePath(s.url);
  // Not a file on this machine, or one a loader transformed: only the target knows what it ran.
  // (Other extensions, none included, are JavaScript: bin scripts have none.)
  if (!file || TRANSFORMED.test(file)) return { ...s, needsProtocol: true };
  let tail: { text: string; mtimeMs: number } | undefined;
  try {
    tail = await readTail(file, maxBytes);
  } catch (err) {
    // A FIFO, a device, a directory: not a script, whatever the target says; nothing to ask it either.
    if (err instanceof RefusedFile) return { ...s, problem: `the script ${err.message}` };
    return { ...s, needsProtocol: true };
  }
  const mapUrl = tail && sourceMappingURLOf(tail.text);
  return mapUrl ? { ...s, mapUrl, mtimeMs: tail!.mtimeMs } : { ...s, none: true };
}

/** How much of a script's end to read first: the map comment is on its last lines. */
const TAIL_BYTES = 64 * 1024;
/** What the end of an inline data: map's comment can be made of (base64, percent-encoding, the closing of a block comment). */
const INLINE_MAP_END = /^[A-Za-z0-9+/=%_.~!$&'()*,;:@-]+\s*(?:\*\/)?\s*$/;

/**
 * The last whole lines of a regular file, enough for sourceMappingURLOf: bundles can be tens of MB
 * and only their end matters. When the last line is longer than the first read (an inline map),
 * up to `maxBytes` more are read to find its start; undefined when the tail cannot end a map comment.
 */
async function readTail(file: string, maxBytes: number): Promise<{ text: string; mtimeMs: number } | undefined> {
  const f = await openRegularFile(file);
  try {
    const { size, mtimeMs } = f;
    if (size <= TAIL_BYTES) return { text: (await readAt(f.fh, 0, size)).toString('utf8'), mtimeMs };
    const tail = (await readAt(f.fh, size - TAIL_BYTES, TAIL_BYTES)).toString('utf8');
    const nl = tail.lastIndexOf('\n', tail.trimEnd().length - 1);
    if (nl >= 0) return { text: tail.slice(tail.indexOf('\n') + 1), mtimeMs };
    // One line longer than the tail: only an inline map's comment can make a script end so, and its
    // end is base64 or percent-encoded text (a file of NUL bytes, say, is no such thing).
    if (!INLINE_MAP_END.test(tail)) return undefined;
    const length = Math.min(size, maxBytes + TAIL_BYTES);
    const text = (await readAt(f.fh, size - length, length)).toString('utf8');
    const lastLine = text.lastIndexOf('\n', text.trimEnd().length - 1) + 1;
    if (length < size && lastLine === 0) throw new RefusedFile(`ends in a line longer than ${formatBytes(maxBytes)} (${MAX_MAP_BYTES_ENV} raises the bound)`);
    return { text: text.slice(lastLine), mtimeMs };
  } finally {
    await f.fh.close();
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
    const res = await withTimeout(
      session.send('Runtime.evaluate', { expression: 'Date.now() - process.uptime() * 1000', returnByValue: true, silent: true }),
      2000,
      () => new Error('timeout'),
      { unref: true },
    );
    if (typeof res.result.value !== 'number') return [];
    startedAtMs = res.result.value;
  } catch {
    return [];
  }
  // A second of slack for clock granularity and a build that finished as the process started.
  return fromDisk
    .filter((l) => l.mtimeMs > startedAtMs + 1000)
    .map(
      (l) =>
        `warning: ${scriptPath(l.url)} changed on disk after the target started: its source map may not match the code that runs (frames are mapped anyway)`,
    );
}

/** At most this much of a URL the target sent is quoted in a warning. */
const QUOTED_URL_CHARS = 200;
const clip = (text: string) => (text.length > QUOTED_URL_CHARS ? `${text.slice(0, QUOTED_URL_CHARS)}...` : text);

/** The map's text and its own URL (against which its sources resolve). */
async function readMap(scriptUrl: string, mapUrl: string, maxBytes: number): Promise<TraceMap> {
  if (mapUrl.startsWith('data:')) {
    if (mapUrl.length > maxBytes * 3 + 1024) throw new Error(`its inline map is larger than ${formatBytes(maxBytes)} (${MAX_MAP_BYTES_ENV} raises the bound)`);
    let text: string;
    try {
      text = dataUrlText(mapUrl);
    } catch {
      throw new Error('inline data: URL cannot be decoded');
    }
    if (Buffer.byteLength(text) > maxBytes) throw new Error(`its inline map is larger than ${formatBytes(maxBytes)} (${MAX_MAP_BYTES_ENV} raises the bound)`);
    return parseText(text, baseUrl(scriptUrl), 'its inline map');
  }
  let resolved: URL;
  try {
    resolved = new URL(mapUrl, baseUrl(scriptUrl));
  } catch {
    throw new Error(`cannot resolve its URL ${clip(mapUrl)}`);
  }
  if (resolved.protocol !== 'file:') throw new Error(`map URL ${clip(resolved.href)} is not a local file`);
  let file: string;
  try {
    file = fileURLToPath(resolved);
  } catch {
    throw new Error(`map URL ${clip(resolved.href)} is not a local file`);
  }
  const root = await packageOf(scriptUrl);
  if (!root) throw new Error(`map ${file} is not followed: the script is not a regular file on this machine`);
  // Refused before even a stat when the path itself leads out; after symlinks, by readRegularFile.
  const outside = () => new Error(`${file} is not followed: maps are read only inside the script's package (${root})`);
  if (!isWithin(path.resolve(file), root) && !isWithin(path.resolve(file), path.dirname(fileURLToPath(baseUrl(scriptUrl))))) throw outside();
  let text: string;
  try {
    text = await readRegularFile(file, maxBytes, { within: root });
  } catch (err) {
    if (err instanceof RefusedFile) {
      throw err.message.startsWith('is outside ') ? outside() : new Error(`${file} ${err.message}`);
    }
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? new MissingMap(`${file} does not exist`) : new Error(`cannot read ${file} (${code ?? 'error'})`);
  }
  return parseText(text, resolved.href, file);
}

/** parseSourceMap with a reason that names `what` and says nothing of the text. */
function parseText(text: string, mapUrl: string, what: string): TraceMap {
  try {
    return parseSourceMap(text, mapUrl);
  } catch (err) {
    throw new Error(`${what} is ${(err as Error).message === 'not JSON' ? 'not valid JSON' : (err as Error).message}`);
  }
}

/**
 * The directory a script's map files must be in (symlinks resolved): the outermost one above the
 * script holding a package.json (not the filesystem root, and not above a package directory in
 * node_modules), else the script's own directory. Outermost, as a build's dist/ often holds a
 * package.json of its own ({"type": "module"}) while its maps are in a sibling directory.
 * Undefined when the script is not a regular file on this machine.
 */
async function packageOf(scriptUrl: string): Promise<string | undefined> {
  const file = toFilePath(scriptUrl);
  if (!file) return undefined;
  let dir: string;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) return undefined;
    dir = path.dirname(await fs.realpath(file));
  } catch {
    return undefined;
  }
  let root = dir;
  for (let d = dir; path.dirname(d) !== d; d = path.dirname(d)) {
    const pkg = await fs.stat(path.join(d, 'package.json')).catch(() => undefined);
    if (pkg?.isFile()) root = d;
    const parent = path.basename(path.dirname(d));
    if (parent === 'node_modules' || (parent.startsWith('@') && path.basename(path.dirname(path.dirname(d))) === 'node_modules')) break;
  }
  return root;
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
  try {
    await withTimeout(session.send('Debugger.enable', {}), timeoutMs, () => new Error(`Debugger.enable did not answer within ${timeoutMs}ms`));
  } finally {
    off();
    await session.send('Debugger.disable').catch(() => undefined);
  }
  return found;
}

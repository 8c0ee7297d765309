// A stack frame as the pprof converters see it, and the mapping from CDP call frames to it.

import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface Frame {
  /** Display name: never empty (anonymous functions get one from their place). */
  name: string;
  /** A path for file:// scripts, the URL as is otherwise (node:internal/..., http://...), '' for VM frames. */
  file: string;
  /** 1-based line of this location, 0 when unknown. */
  line: number;
  /** 1-based column, 0 when unknown. */
  column: number;
  /** 1-based line where the function starts, 0 when unknown. */
  startLine: number;
  /** 1-based column where the function starts, when known (source maps need it for line-only frames). */
  startColumn?: number;
}

/** The CDP call-frame shape shared by Profiler, HeapProfiler and Runtime (0-based line and column). */
export interface CdpCallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
  scriptId?: string;
}

// A profile names the same few hundred scripts in thousands of frames; fileURLToPath is slow enough
// to show in conversion profiles, so paths are remembered (bounded: cleared when it grows large).
const paths = new Map<string, string>();

export function scriptPath(url: string): string {
  if (!url.startsWith('file://')) return url;
  let p = paths.get(url);
  if (p === undefined) {
    try {
      p = fileURLToPath(url);
    } catch {
      p = url;
    }
    if (paths.size >= 10_000) paths.clear();
    paths.set(url, p);
  }
  return p;
}

/**
 * A frame's display name. Unnamed code without a file (`new Function`, eval) is told apart by its
 * script id, which V8 keeps for the script's life (so the name is stable across profiles of one
 * process): else every template and validator a library compiles would be one `(anonymous)` row.
 * Script id 0 is V8's own (builtins, natives): nothing tells those apart.
 */
/**
 * The URL of the expressions nodeprof evaluates in a target (its CPU clock, the event-loop probe,
 * the kept profiler's console commands): one row, `(nodeprof)`, for the little time they take,
 * rather than a new `(anonymous eval#N:1)` for each evaluation. A target could name its own code so;
 * it would only hide itself under our name.
 */
export const OWN_SCRIPT_URL = 'node:nodeprof';
/** What nodeprof's own code is called in profiles. */
export const OWN_CODE = '(nodeprof)';

/** An expression to evaluate in the target, named as nodeprof's (see OWN_SCRIPT_URL). */
export function ownScript(expression: string): string {
  return `${expression}\n//# sourceURL=${OWN_SCRIPT_URL}`;
}

export function functionName(name: string, file: string, line1: number, scriptId?: string): string {
  if (file === OWN_SCRIPT_URL) return OWN_CODE;
  if (name) return name;
  if (!file) return scriptId && scriptId !== '0' && /^\d{1,12}$/.test(scriptId) ? `(anonymous eval#${scriptId}:${line1})` : '(anonymous)';
  return `(anonymous ${path.basename(file)}:${line1})`;
}

/** The frame of a function's start (CDP 0-based positions, -1 for unknown). */
export function frameFromCallFrame(cf: CdpCallFrame): Frame {
  const file = scriptPath(cf.url);
  const startLine = cf.lineNumber >= 0 ? cf.lineNumber + 1 : 0;
  const column = cf.columnNumber >= 0 ? cf.columnNumber + 1 : 0;
  return { name: functionName(cf.functionName, file, startLine, cf.scriptId), file, line: startLine, column, startLine, startColumn: column };
}

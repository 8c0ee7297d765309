// `nodeprof stack` output, like py-spy dump: the process, then each thread's frames, leaf first.

import type { FrameMapper } from '../pprof/cpu-profile.js';
import { functionName, scriptPath } from '../pprof/frame.js';
import type { StackFrame, ThreadStack } from '../collect/stack.js';
import { terminalText } from './terminal-text.js';

/**
 * Frames through source maps: file, line and column of the original source. V8's function name is
 * kept: a map's names are looked up at a function's start, and these are positions inside bodies.
 */
export function mapStackFrames(frames: StackFrame[], mapFrame: FrameMapper): StackFrame[] {
  return frames.map((f) => {
    if (!f.url) return f;
    const file = scriptPath(f.url);
    const line = f.lineNumber + 1;
    const column = f.columnNumber + 1;
    const m = mapFrame({ name: functionName(f.functionName, file, line), file, line, column, startLine: line, startColumn: column }, f.scriptId);
    if (m.file === file && m.line === line) return f;
    return { ...f, url: m.file, lineNumber: m.line - 1, columnNumber: Math.max(0, m.column - 1) };
  });
}

/** One frame as plain text; stackText escapes it for the terminal. */
export function frameText(f: StackFrame): string {
  const file = scriptPath(f.url);
  const line = f.lineNumber + 1;
  const name = functionName(f.functionName, file, line);
  return file ? `${name} (${file}:${line}:${f.columnNumber + 1})` : name;
}

/** The text for a terminal: everything the target named (argv, version, threads, frames) escaped. */
export function stackText(head: { pid: number; nodeVersion: string; argv: string[] }, threads: Array<ThreadStack<StackFrame>>): string {
  const esc = terminalText;
  const out = [`Process ${esc(String(head.pid))}: ${esc(head.argv.join(' '))}`, `Node.js ${esc(String(head.nodeVersion))}`, ''];
  for (const t of threads) {
    out.push(`Thread ${esc(t.thread)}:`);
    if (t.error) out.push(`    (no stack: ${esc(t.error)})`);
    else if (!t.frames.length) out.push('    (idle: no JavaScript running)');
    else for (const f of t.frames) out.push(`    ${esc(frameText(f))}`);
    out.push('');
  }
  return out.join('\n');
}

// `nodeprof stack` output, like py-spy dump: the process, then each thread's frames, leaf first.

import { functionName, scriptPath } from '../pprof/frame.js';
import type { StackFrame } from '../collect/stack.js';

export interface ThreadStack {
  thread: string;
  frames?: StackFrame[];
  /** Why there is no stack for this thread. */
  error?: string;
}

export function frameText(f: StackFrame): string {
  const file = scriptPath(f.url);
  const line = f.lineNumber + 1;
  const name = functionName(f.functionName, file, line);
  return file ? `${name} (${file}:${line}:${f.columnNumber + 1})` : name;
}

export function stackText(head: { pid: number; nodeVersion: string; argv: string[] }, threads: ThreadStack[]): string {
  const out = [`Process ${head.pid}: ${head.argv.join(' ')}`, `Node.js ${head.nodeVersion}`, ''];
  for (const t of threads) {
    out.push(`Thread ${t.thread}:`);
    if (t.error) out.push(`    (no stack: ${t.error})`);
    else if (!t.frames?.length) out.push('    (idle: no JavaScript running)');
    else for (const f of t.frames) out.push(`    ${frameText(f)}`);
    out.push('');
  }
  return out.join('\n');
}

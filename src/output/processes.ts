// The `nodeprof ps` table: one line per Node process, columns sized to their content.

import type { NodeProcess } from '../target/processes.js';
import { terminalText } from './terminal-text.js';

export function processTable(list: NodeProcess[], width = 160): string {
  const rows = [
    ['PID', 'NODE', 'INSPECTOR', 'COMMAND'],
    ...list.map((p) => [String(p.pid), p.nodeVersion ?? '?', p.inspector ?? '-', p.argv.join(' ')].map(terminalText)),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) => {
        const line = [0, 1, 2].map((i) => r[i]!.padEnd(widths[i]!)).join('  ') + '  ' + r[3];
        return line.length > width ? `${line.slice(0, width - 3)}...` : line;
      })
      .join('\n') + '\n'
  );
}

// Folded stacks ("root;caller;leaf value" a line) for flamegraph.pl, inferno and speedscope, made
// from the pprof model.

import { terminalLines } from '../terminal-text.js';
import type { FormatWriter } from './writer.js';

export const collapsedWriter: FormatWriter = {
  kinds: ['cpu', 'heap', 'allocs'],
  extension: 'folded',
  hint: (file) => `wrote ${file}: render it with flamegraph.pl ${file} > flame.svg, or open it in speedscope`,
  forTerminal: terminalLines,
  render: async (profile) => (await import('../collapsed.js')).toCollapsed(profile),
};

// Trace events in the Trace Event Format's JSON Object Format (Perfetto, chrome://tracing).

import { terminalJsonText } from '../terminal-text.js';
import type { FormatWriter } from './writer.js';

export const traceWriter: FormatWriter = {
  kinds: ['trace'],
  extension: 'json',
  hint: (file) => `wrote ${file}: open it in https://ui.perfetto.dev or chrome://tracing`,
  forTerminal: terminalJsonText,
};

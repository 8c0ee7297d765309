// V8's full heap snapshot, streamed to its file by the job itself.

import { terminalJsonText } from '../terminal-text.js';
import type { FormatWriter } from './writer.js';

export const heapsnapshotWriter: FormatWriter = {
  kinds: ['heapsnapshot'],
  extension: 'heapsnapshot',
  hint: (file) => `wrote ${file}: load it in Chrome DevTools, Memory tab`,
  forTerminal: terminalJsonText,
};

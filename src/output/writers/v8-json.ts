// V8's own JSON, as the inspector hands it over: .cpuprofile (Profiler) and .heapprofile (the
// sampling heap profiler), which Chrome DevTools and speedscope open.

import { terminalJsonText } from '../terminal-text.js';
import type { FormatWriter } from './writer.js';

const hint = (file: string) => `wrote ${file}: open it in Chrome DevTools (Performance/Memory tab) or https://www.speedscope.app`;

export const cpuprofileWriter: FormatWriter = { kinds: ['cpu'], extension: 'cpuprofile', hint, forTerminal: terminalJsonText };

export const heapprofileWriter: FormatWriter = { kinds: ['heap', 'allocs'], extension: 'heapprofile', hint, forTerminal: terminalJsonText };

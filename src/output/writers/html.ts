// --format html: one self-contained, offline page with a flame graph and a table, drawn from the
// pprof model of any kind that has one (output/html.ts).

import type { FormatWriter } from './writer.js';

export const htmlWriter: FormatWriter = {
  kinds: ['cpu', 'heap', 'allocs'],
  extension: 'html',
  hint: (file) => `wrote ${file}: open it in a browser (works offline)`,
  render: async (profile, info) => (await import('../picture.js')).renderPicture(profile, 'html', info),
};

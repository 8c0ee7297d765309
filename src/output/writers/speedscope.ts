// --format speedscope: speedscope's own file format, one profile per thread (--workers).

import type { FormatWriter } from './writer.js';

export const speedscopeWriter: FormatWriter = {
  kinds: ['cpu', 'heap', 'allocs'],
  extension: 'speedscope.json',
  hint: (file) => `wrote ${file}: open it in speedscope (https://www.speedscope.app, or npx speedscope ${file})`,
  render: async (profile, info) => (await import('../picture.js')).renderPicture(profile, 'speedscope', info),
};

// pprof's profile.proto, gzipped: what `go tool pprof`, Pyroscope and Parca read. Written from the
// job's builder (the fast writer), not rendered here.

import type { FormatWriter } from './writer.js';

export const pprofWriter: FormatWriter = {
  kinds: ['cpu', 'heap', 'allocs'],
  extension: 'pb.gz',
  hint: (file) => `wrote ${file}: open it with  go tool pprof -http=: ${file}`,
};

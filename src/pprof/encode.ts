// The .pb.gz file: profile.proto bytes gzip-compressed as Go writes them, and the reverse for tests
// and tools. Profiles built as pprof-format objects (serve's small answers) encode through
// pprof-format; the large ones are written straight from ProfileBuilder's tables (proto-writer.ts).

import { gunzipSync, gzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

/**
 * gzip level 1 (zlib's fastest), as Go's runtime/pprof writes its profiles (gzip.BestSpeed): much
 * faster than level 6 for a slightly larger file (bench/RESULTS.md).
 */
export const GZIP_LEVEL = 1;

/** A pprof-format Profile → the .pb.gz file. */
export function encodePprof(profile: Profile): Buffer {
  return gzipPprof(profile.encode());
}

/**
 * zlib's memLevel 9 (its largest hash table; the default is 8): faster at level 1 for output of
 * about the same size (bench/RESULTS.md). It does not change the format.
 */
const GZIP_MEM_LEVEL = 9;

/** profile.proto bytes (Profile.encode(), ProfileBuilder.encode()) → the .pb.gz file. */
export function gzipPprof(raw: Uint8Array): Buffer {
  return gzipSync(raw, { level: GZIP_LEVEL, memLevel: GZIP_MEM_LEVEL });
}

export function decodePprof(bytes: Uint8Array): Profile {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  return Profile.decode(raw);
}

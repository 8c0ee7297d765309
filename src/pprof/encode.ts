// profile.proto bytes: gzip-compressed as Go writes them, and the reverse for tests and tools.

import { gunzipSync, gzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

export function encodePprof(profile: Profile): Buffer {
  return gzipSync(profile.encode(), { level: 6 });
}

export function decodePprof(bytes: Uint8Array): Profile {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  return Profile.decode(raw);
}

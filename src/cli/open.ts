// --open: hand the written profile to `go tool pprof -http`, or say how to get Go.

import { spawn } from 'node:child_process';

export function openInPprof(file: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('go', ['tool', 'pprof', '-http=:', file], { stdio: 'inherit' });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        log(`--open needs Go's pprof: install Go (https://go.dev/dl/, or apt-get install golang-go), then run  go tool pprof -http=: ${file}`);
      } else {
        log(`--open: could not run go tool pprof: ${err.message}`);
      }
      resolve();
    });
    child.on('exit', () => resolve());
  });
}

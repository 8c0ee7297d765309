// Writing to a FIFO (`-o some.fifo`), which has to wait for a reader as `cat > fifo` does.

import fs from 'node:fs';
import { checkFifoFd } from './safe-file.js';
import { sleep } from '../time.js';

/**
 * Opens a FIFO for writing once it has a reader, but without blocking in open(2): not on the main
 * thread (Ctrl-C must still work), nor on a libuv pool thread (Node joins those on exit, so a
 * process waiting there cannot exit, even on a second Ctrl-C). A non-blocking open fails with ENXIO
 * while there is no reader: it is tried every 100 ms, and once it succeeds the FIFO is opened
 * again blocking (at once, the reader being there) for synchronous writes. `waiting` is told once,
 * when there is no reader at first; `abort` ends the wait with its rejection. Each open is checked
 * to be a FIFO of this user or root (see checkFifoFd; `magic`: a pipe behind /proc, e.g. /dev/stdout).
 */
export async function openFifoForWriting(file: string, waiting: () => void, abort?: Promise<never>, magic = false): Promise<number> {
  for (let tries = 0; ; tries++) {
    let probe: number | undefined;
    try {
      probe = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      checkFifoFd(probe, file, magic);
      const fd = fs.openSync(file, fs.constants.O_WRONLY);
      try {
        checkFifoFd(fd, file, magic);
      } catch (err) {
        fs.closeSync(fd);
        throw err;
      }
      return fd;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
      if (tries === 0) waiting();
    } finally {
      if (probe !== undefined) fs.closeSync(probe);
    }
    await Promise.race([sleep(100), ...(abort ? [abort] : [])]);
  }
}

/** Writes all of `data` to a FIFO (a reader there, see openFifoForWriting) and closes it. */
export async function writeFifo(file: string, data: Uint8Array | string, waiting: () => void, magic = false): Promise<void> {
  const fd = await openFifoForWriting(file, waiting, undefined, magic);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length;) at += fs.writeSync(fd, bytes, at);
  } finally {
    fs.closeSync(fd);
  }
}

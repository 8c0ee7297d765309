// Writing to a FIFO (`-o some.fifo`), which has to wait for a reader as `cat > fifo` does.

import fs from 'node:fs';

/** Whether `file` exists and is a FIFO (named pipe). */
export function isFifo(file: string): boolean {
  return fs.statSync(file, { throwIfNoEntry: false })?.isFIFO() ?? false;
}

/**
 * Opens a FIFO for writing once it has a reader, but without blocking in open(2): not on the main
 * thread (Ctrl-C must still work), nor on a libuv pool thread (Node joins those on exit, so a
 * process waiting there cannot exit, even on a second Ctrl-C). A non-blocking open fails with ENXIO
 * while there is no reader: it is tried every 100 ms, and once it succeeds the FIFO is opened
 * again blocking (at once, the reader being there) for synchronous writes. `waiting` is told once,
 * when there is no reader at first; `abort` ends the wait with its rejection.
 */
export async function openFifoForWriting(file: string, waiting: () => void, abort?: Promise<never>): Promise<number> {
  for (let tries = 0; ; tries++) {
    let probe: number | undefined;
    try {
      probe = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      return fs.openSync(file, fs.constants.O_WRONLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
      if (tries === 0) waiting();
    } finally {
      if (probe !== undefined) fs.closeSync(probe);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 100)), ...(abort ? [abort] : [])]);
  }
}

/** Writes all of `data` to a FIFO (a reader there, see openFifoForWriting) and closes it. */
export async function writeFifo(file: string, data: Uint8Array | string, waiting: () => void): Promise<void> {
  const fd = await openFifoForWriting(file, waiting);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at);
  } finally {
    fs.closeSync(fd);
  }
}

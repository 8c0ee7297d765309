// The --heap-snapshot job: streams V8's snapshot to its destination chunk by chunk.
//
// A file is written as `<file>.partial` (created fresh, mode 0600: a snapshot holds every string
// of the process, tokens and passwords included) and renamed when the snapshot is complete; on any
// failure (target died, Ctrl-C, disk full) the partial file is removed, so a `.heapsnapshot` on
// disk is always whole. On stdout a failure cannot be undone: the error says the output is
// incomplete. So it is for a destination that exists and is not a regular file (/dev/stdout, a
// FIFO of this user, /dev/full): it is written directly, as there is no file to rename it onto (and
// renaming would replace the device node). What another user left at the path (a symlink, a FIFO)
// is refused: see output/safe-file.ts.

import fs from 'node:fs';
import { formatsFor } from '../output/writers/index.js';
import type { Artifact, Format, Job, JobContext } from './job.js';
import { streamHeapSnapshot } from '../collect/heap-snapshot.js';
import { EXIT_INTERRUPTED, NodeprofError, errorMessage } from '../errors.js';
import { formatBytes } from '../size.js';
import { openFifoForWriting } from '../output/fifo.js';
import { createBeside, openDirect, planWrite } from '../output/safe-file.js';
import type { CdpSession } from '../target/session.js';

export const HEAP_SNAPSHOT_FORMATS: readonly Format[] = formatsFor('heapsnapshot');

export class HeapSnapshotJob implements Job {
  readonly kind = 'heapsnapshot' as const;
  private fd: number | undefined;
  private partial: string | undefined;
  /** Where the partial file is renamed to: the destination with its links resolved. */
  private final: string | undefined;
  private stdoutError: NodeJS.ErrnoException | undefined;

  async start(): Promise<void> {
    // Nothing runs in the target until the window ends: the snapshot is one instant.
  }

  async stop(ctx: JobContext): Promise<Artifact> {
    const dest = ctx.destination ?? { type: 'stdout' as const };
    const abort = ctx.interrupted?.then(() => {
      throw new NodeprofError('interrupted while streaming the heap snapshot', EXIT_INTERRUPTED);
    });
    let write: (chunk: string) => void;
    let special = false;
    if (dest.type === 'file') {
      try {
        const plan = planWrite(dest.path, true);
        special = plan.type !== 'file';
        const waiting = () => ctx.log?.(`heapsnapshot: waiting for a reader of ${dest.path} before taking the snapshot (Ctrl-C to give up)`);
        if (plan.type === 'fifo') {
          // As `cat > fifo`, but without blocking the thread Ctrl-C needs (output/fifo.ts).
          this.fd = await openFifoForWriting(plan.path, waiting, abort, plan.magic);
        } else if (plan.type === 'direct') {
          this.fd = openDirect(plan.path);
        } else {
          const created = createBeside(plan.path, plan.mode, plan.exact);
          this.fd = created.fd;
          this.partial = created.temp;
          this.final = plan.path;
        }
      } catch (err) {
        this.partial = undefined;
        if (err instanceof NodeprofError && err.exitCode === EXIT_INTERRUPTED)
          throw new NodeprofError(`interrupted while opening ${dest.path} (a FIFO waits for a reader); no snapshot was taken`, EXIT_INTERRUPTED);
        throw new NodeprofError(`cannot write ${dest.path}: ${errorMessage(err)}`);
      }
      const fd = this.fd;
      // Synchronous writes: each chunk is on disk before the next websocket message is read, so
      // nothing queues up in nodeprof; if the disk is slower, TCP holds the target back.
      write = (chunk) => {
        try {
          fs.writeSync(fd, chunk);
        } catch (err) {
          throw new NodeprofError(`cannot write ${dest.path}: ${errorMessage(err)}`);
        }
      };
    } else {
      // A closed pipe (| head) shows up as an async 'error' on stdout: keep it, fail the next write.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => (this.stdoutError ??= err));
      write = (chunk) => {
        this.throwIfStdoutFailed();
        process.stdout.write(chunk);
      };
    }
    let bytes = 0;
    const started = Date.now();
    try {
      const res = await streamHeapSnapshot(ctx.session, {
        write,
        abort,
        onBuildProgress: ctx.progress && ((done, total) => ctx.progress!(`heap snapshot: building, ${Math.floor((100 * done) / Math.max(1, total))}%`)),
        onProgress: (b) => {
          bytes = b;
          ctx.progress?.(`heap snapshot: ${formatBytes(b)} written`);
        },
      });
      bytes = res.bytes;
      if (dest.type === 'stdout') {
        await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
        this.throwIfStdoutFailed();
      }
    } catch (err) {
      const where =
        dest.type === 'stdout'
          ? 'the snapshot on stdout is incomplete: discard it'
          : special
            ? `what reached ${dest.path} is incomplete: discard it`
            : 'the partial file was removed';
      this.removePartial();
      const code = err instanceof NodeprofError ? err.exitCode : 1;
      throw new NodeprofError(`${errorMessage(err)} (${formatBytes(bytes)} streamed; ${where})`, code);
    }
    const notes = [`heapsnapshot: ${formatBytes(bytes)} in ${((Date.now() - started) / 1000).toFixed(1)}s`];
    if (dest.type === 'file') {
      fs.closeSync(this.fd!);
      this.fd = undefined;
      if (this.partial) {
        try {
          fs.renameSync(this.partial, this.final!);
        } catch (err) {
          this.removePartial();
          throw new NodeprofError(`cannot write ${dest.path}: ${errorMessage(err)}`);
        }
      }
      this.partial = undefined;
      return { kind: this.kind, format: 'heapsnapshot', data: null, writtenTo: dest.path, notes };
    }
    return { kind: this.kind, format: 'heapsnapshot', data: null, notes };
  }

  private throwIfStdoutFailed(): void {
    const err = this.stdoutError;
    if (err) throw new Error(err.code === 'EPIPE' ? 'stdout was closed before the heap snapshot was written' : `cannot write to stdout: ${err.message}`);
  }

  private removePartial(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
    if (this.partial) {
      fs.rmSync(this.partial, { force: true });
      this.partial = undefined;
    }
  }

  async cleanup(_session: CdpSession): Promise<void> {
    // Nothing to stop in the target (a snapshot cannot be cancelled); a partial file must go.
    this.removePartial();
  }
}

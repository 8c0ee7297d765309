// SIGUSR1 makes Node open its inspector on 127.0.0.1:9229 of its network namespace, so the test
// files that signal processes in this namespace (pid.test.ts, fleet.test.ts) must not run at the
// same moment: jest runs two files at once. Each takes this lock for its whole file (beforeAll /
// afterAll). The lock is a directory (mkdir is atomic) holding the owner's pid; one whose owner is
// dead is taken over.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './wait.js';

const LOCK = path.join(os.tmpdir(), 'nodeprof-tests-port-9229.lock');

function ownerAlive(): boolean {
  try {
    const pid = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    if (!pid) return true; // being written: not ours to judge yet
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // ENOENT: the lock went between mkdir and our read; ESRCH: its owner is dead.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(): boolean {
  try {
    fs.mkdirSync(LOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (!ownerAlive()) fs.rmSync(LOCK, { recursive: true, force: true });
    return false;
  }
  fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
  return true;
}

/** Waits (up to 10 minutes: the other file's whole run) for port 9229's lock. */
export async function lockPort9229(): Promise<void> {
  await waitFor(() => tryLock(), 600_000, `the port 9229 lock (${LOCK}) held by another test file`);
}

export function unlockPort9229(): void {
  try {
    if (Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8')) === process.pid) fs.rmSync(LOCK, { recursive: true, force: true });
  } catch {
    // not held
  }
}

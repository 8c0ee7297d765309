// What every job provides to the collection window: start, stop into an artifact, and a
// cleanup that leaves the target as it was found whatever happened before.

import type { Profile } from 'pprof-format';
import type { Format } from '../output/writers/index.js';
import type { ProcessInfo } from '../target/connect.js';
import type { CdpSession } from '../target/session.js';

export type ProfileKind = 'cpu' | 'heap' | 'allocs' | 'heapsnapshot' | 'trace';

/** An output format: a name in output/writers/index.ts, where each has its writer. */
export type { Format };

export interface Artifact {
  kind: ProfileKind;
  format: Format;
  /** The encoded bytes to write, or null when the job streamed its output to `writtenTo` itself. */
  data: Uint8Array | string | null;
  writtenTo?: string;
  /** The pprof model behind the data, made when asked for (--top). */
  pprof?: () => Profile;
  /** Lines for the user about what was collected (stderr). */
  notes: string[];
}

export interface JobContext {
  session: CdpSession;
  /** What was profiled, for titles: "pid 1234 (127.0.0.1:9229)". */
  target?: string;
  /** Wall-clock ms when the window started. */
  startedAtMs: number;
  /** True when the window ended early (Ctrl-C): the artifact holds what was collected so far. */
  stoppedEarly: boolean;
  /** Where this job's artifact goes, for jobs that stream their output themselves (heap snapshot). */
  destination?: { type: 'stdout' } | { type: 'file'; path: string };
  /** Settles on a Ctrl-C that comes while stop() runs (not one that ended the window). */
  interrupted?: Promise<void>;
  /** Progress text for long stops (bytes streamed); shown on a TTY only. */
  progress?: (text: string) => void;
  /** A note on stderr (not shown with --quiet). */
  log?: (line: string) => void;
}

export interface Job {
  readonly kind: ProfileKind;
  /** `info` is the target's (its Node version decides what some kinds can do). */
  start(session: CdpSession, info?: ProcessInfo): Promise<void>;
  /** Stops collection in the target and returns what to write. */
  stop(ctx: JobContext): Promise<Artifact>;
  /** Best-effort and idempotent: stops anything of ours still running in the target. */
  cleanup(session: CdpSession): Promise<void>;
}

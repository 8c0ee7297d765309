// The --trace job: Node trace events, written as Chrome trace JSON (Perfetto, chrome://tracing).

import { formatsFor } from '../output/writers/index.js';
import type { Artifact, Format, Job, JobContext } from './job.js';
import { TraceCollector } from '../collect/trace.js';
import type { CdpSession } from '../target/session.js';

export const TRACE_FORMATS: readonly Format[] = formatsFor('trace');

export class TraceJob implements Job {
  readonly kind = 'trace' as const;
  private readonly collector: TraceCollector;

  constructor(readonly categories: string[]) {
    this.collector = new TraceCollector(categories);
  }

  start(session: CdpSession): Promise<void> {
    return this.collector.start(session);
  }

  async stop(ctx: JobContext): Promise<Artifact> {
    const { events, complete } = await this.collector.stop(ctx.session);
    const notes = [`trace: ${events.length} events from ${this.categories.join(',')}`];
    if (!complete) notes.push('warning: the target did not finish sending its trace data; the trace may miss its last events');
    // The JSON Object Format of the Trace Event spec; metadata says what was asked for.
    const data = JSON.stringify({ traceEvents: events, metadata: { 'nodeprof-categories': this.categories.join(','), complete } });
    return { kind: this.kind, format: 'trace', data, notes };
  }

  cleanup(session: CdpSession): Promise<void> {
    return this.collector.cleanup(session);
  }
}

// CPU profiling through the Profiler domain; knows CDP, not pprof.

import type { Protocol } from 'devtools-protocol';
import type { CdpSession } from '../target/session.js';
import { resetOptimizedCode, type JitResetResult } from './jit-reset.js';

export interface CpuRecording {
  profile: Protocol.Profiler.Profile;
  startedAtMs: number;
  intervalUs: number;
  jitReset?: JitResetResult;
}

export class CpuCollector {
  private running = false;
  private startedAtMs = 0;
  private jitReset?: JitResetResult;

  constructor(
    readonly intervalUs: number,
    private readonly opts: { jitReset?: boolean } = {},
  ) {}

  async start(session: CdpSession): Promise<void> {
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: this.intervalUs });
    this.startedAtMs = Date.now();
    await session.send('Profiler.start');
    this.running = true;
    if (this.opts.jitReset ?? true) this.jitReset = await resetOptimizedCode(session);
  }

  async stop(session: CdpSession): Promise<CpuRecording> {
    const { profile } = await session.send('Profiler.stop');
    this.running = false;
    await session.send('Profiler.disable').catch(() => undefined);
    return { profile, startedAtMs: this.startedAtMs, intervalUs: this.intervalUs, jitReset: this.jitReset };
  }

  async cleanup(session: CdpSession): Promise<void> {
    if (session.isEnded) return;
    if (this.running) {
      this.running = false;
      await session.send('Profiler.stop').catch(() => undefined);
    }
    await session.send('Profiler.disable').catch(() => undefined);
  }
}

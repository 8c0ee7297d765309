// V8 12+ (Node 22, 24) does not tell a CPU profiler started late about on-stack-replacement code
// compiled before it started: samples in such a hot loop land on its caller (seen: a busy loop at
// 100% showed as 100% `processImmediate` on Node 22.23 and 24.21, right on 18 and 20). Turning
// precise coverage on and off right after Profiler.start deoptimizes all functions once; they are
// re-optimized while the profiler listens, and then attributed right. Cost: tens of milliseconds in
// the target plus a short re-warm of its hot code (bench/RESULTS.md, "Other costs").

import { ownScript } from '../pprof/frame.js';
import type { CdpSession } from '../target/session.js';

export interface JitResetResult {
  done: boolean;
  /** Why it was skipped, or how long it took. */
  note: string;
  ms: number;
}

export async function resetOptimizedCode(session: CdpSession): Promise<JitResetResult> {
  const probe = await session.send('Runtime.evaluate', {
    expression: ownScript('JSON.stringify([process.versions.v8, !!process.env.NODE_V8_COVERAGE])'),
    returnByValue: true,
    silent: true,
  });
  const [v8, coverage] = JSON.parse(String(probe.result.value ?? '["0", false]')) as [string, boolean];
  if (Number(v8.split('.')[0]) < 12) return { done: false, note: `not needed on V8 ${v8}`, ms: 0 };
  // Coverage mode is per isolate: stopping ours would end a coverage run the process started itself.
  if (coverage) return { done: false, note: 'skipped: the target collects coverage (NODE_V8_COVERAGE)', ms: 0 };
  const started = Date.now();
  await session.send('Profiler.startPreciseCoverage', { callCount: false, detailed: false });
  await session.send('Profiler.stopPreciseCoverage');
  const ms = Date.now() - started;
  return { done: true, note: `reset optimized code so V8 ${v8} attributes hot loops (${ms}ms)`, ms };
}

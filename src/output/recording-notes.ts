// What a CPU recording tells, in words: lines for the user (stderr) about a blocked event loop and
// its repair, and the profile comments that say how the profile was recorded, for whoever opens it
// later. The facts come from collect/ (cpu.ts, blocked.ts, jit-reset.ts); the prose lives here.

import type { LoopAtStart, RepairReport, RunningFrame } from '../collect/blocked.js';
import type { CpuRecording } from '../collect/cpu.js';
import { cpuScaleComment } from '../collect/thread-cpu.js';

/** `name (file:line)`, or the name alone for frames without a file. */
function formatFrame(f: RunningFrame): string {
  return f.file ? `${f.functionName} (${f.file}:${f.line})` : f.functionName;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function stackText(stack: RunningFrame[], max = 4): string {
  const shown = stack.slice(0, max).map(formatFrame).join(' <- ');
  return stack.length > max ? `${shown} <- ...` : shown;
}

function repairText(r: RepairReport): string {
  const cost = `debugger on ${r.totalMs} ms in all, ${r.enableMs} ms of it announcing ${r.scripts} scripts`;
  if (r.repaired) return `paused the target for ${r.pausedMs} ms (${cost}) to re-instrument the frames already running; later samples are attributed to them`;
  if (r.outcome === 'paused-by-another-debugger')
    return 'the target is paused by another debugger (that is why its loop does not turn): left paused for it, not repaired';
  return `could not repair: ${r.reason ?? r.outcome}${r.outcome === 'pause-did-not-land' || r.outcome === 'no-answer' ? ' (the main thread is inside a native call, where no pause can land)' : r.outcome === 'step-did-not-finish' ? ' (the running frame is inside a long native call)' : ''}; time in frames already running is blamed on their callers; the target was resumed (${r.pausedMs ? `paused ${r.pausedMs} ms, ` : ''}${cost}${r.disabled ? '' : '; Debugger.disable is still queued behind the native call'})`;
}

/** Lines for the user as soon as the start-up check is done (stderr). */
export function loopStartLines(loop: LoopAtStart): string[] {
  const p = loop.probe;
  if (p.state !== 'blocked') return [];
  if (!loop.repair) {
    return [
      loop.repairOff
        ? `event loop blocked at attach (no turn within ${p.timeoutMs} ms); --no-repair: time in functions already running is blamed on their callers`
        : `event loop blocked at attach (no turn within ${p.timeoutMs} ms): pausing the target briefly to see what runs (--no-repair never pauses)`,
    ];
  }
  const r = loop.repair;
  const lines: string[] = [];
  if (r.stack.length) lines.push(`${r.outcome === 'paused-by-another-debugger' ? 'paused at' : 'running at attach'}: ${stackText(r.stack)}`);
  lines.push(repairText(r));
  return lines;
}

function blockedFor(loop: LoopAtStart): string {
  const p = loop.probe;
  if (loop.turnedAtMs !== undefined)
    return `blocked for at least ${secs(loop.turnedAtMs - p.sentAtMs)}: it turned again ${secs(loop.turnedAtMs - p.sentAtMs)} after attach (when it began before attach is unknown)`;
  if (loop.stoppedAtMs !== undefined)
    return `blocked for at least ${secs(loop.stoppedAtMs - p.sentAtMs)}: still blocked when the profile stopped (when it began before attach is unknown)`;
  return `blocked for at least ${p.timeoutMs} ms`;
}

/** Lines for the user when the profile is stopped (stderr). */
export function loopStopLines(loop: LoopAtStart): string[] {
  if (loop.probe.state !== 'blocked') return [];
  return [`event loop ${blockedFor(loop)}`, ...(loop.dropped?.samples ? [droppedText(loop.dropped)] : [])];
}

function droppedText(d: { samples: number; ms: number }): string {
  return `left out the first ${d.ms} ms (${d.samples} samples, taken before the repair, which blame the running function's caller)`;
}

/** Comments for the profile, so whoever opens it later knows what the samples mean. */
export function loopComments(loop: LoopAtStart): string[] {
  const p = loop.probe;
  if (p.state === 'turning') return [`nodeprof: event loop turning at attach (a setImmediate ran within ${p.answeredInMs} ms); the target was not paused`];
  if (p.state === 'unknown') return [`nodeprof: could not check the event loop at attach (${p.error}); the target was not paused`];
  const out = [`nodeprof: event loop blocked at attach, ${blockedFor(loop)}`];
  if (!loop.repair) {
    out.push(
      loop.repairOff
        ? 'nodeprof: repair off (--no-repair): the target was not paused; time in functions already running at attach is blamed on their callers'
        : 'nodeprof: repair not attempted; time in functions already running at attach is blamed on their callers',
    );
    return out;
  }
  if (loop.repair.stack.length)
    out.push(`nodeprof: ${loop.repair.outcome === 'paused-by-another-debugger' ? 'paused at' : 'running at attach'}: ${stackText(loop.repair.stack, 8)}`);
  out.push(`nodeprof: ${repairText(loop.repair)}`);
  if (loop.dropped?.samples) out.push(`nodeprof: ${droppedText(loop.dropped)}`);
  return out;
}

/**
 * The profile comments a CPU recording earns: the JIT reset done, and what the event loop was doing
 * at attach. One place for `attach --cpu` and the serve facade's CPU windows. With `thread` (a
 * worker's, in a profile of several threads) each comment says which thread it is about.
 */
export function recordingComments(rec: CpuRecording, thread?: string): string[] {
  const comments = [...(rec.jitReset?.done ? [`nodeprof: ${rec.jitReset.note}`] : []), ...clockComments(rec), ...(rec.loop ? loopComments(rec.loop) : [])];
  return thread === undefined ? comments : comments.map((c) => c.replace(/^nodeprof: /, `nodeprof: ${thread}: `));
}

/**
 * The comments on the recording's clocks: what starting the profiler cost, when it was long enough
 * to matter (the window the user asked for includes it: it runs from the request, and no frame is
 * charged with it), and what cpu/nanoseconds was scaled to.
 */
export function clockComments(rec: CpuRecording): string[] {
  const out: string[] = [];
  const ms = rec.profilerStartMs;
  if (ms !== undefined && ms >= 50) {
    const setup = rec.setupMs !== undefined && rec.setupMs > ms + 50 ? `, ${rec.setupMs}ms with the rest of the start (JIT reset, event-loop check)` : '';
    out.push(
      `nodeprof: Profiler.start took ${ms}ms to answer${setup}, counted in the seconds asked for; V8 logs every code object on the heap as it starts, on the target's main thread, so this grows with the heap`,
    );
  }
  if (rec.cpuScale) out.push(cpuScaleComment(rec.cpuScale));
  return out;
}

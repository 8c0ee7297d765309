// A second, direct inspector session for tests that check what nodeprof left in the target (a
// heap sampler or tracer still running) or set it up (someone else's sampler).

import CDP from 'chrome-remote-interface';
import fs from 'node:fs';

export async function withInspector<T>(port: number, fn: (client: CDP.Client) => Promise<T>): Promise<T> {
  const client = await CDP({ port, host: '127.0.0.1' });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** True while a V8 sampling heap profiler runs in the target (any session's). */
export function heapSamplerRunning(port: number): Promise<boolean> {
  return withInspector(port, (c) =>
    (c.send as (m: string) => Promise<unknown>)('HeapProfiler.getSamplingProfile').then(
      () => true,
      () => false,
    ),
  );
}

/** The trace categories enabled in the target right now ('' when none). */
export function enabledTraceCategories(port: number): Promise<string> {
  return withInspector(port, async (c) => {
    const r = await c.send('Runtime.evaluate', {
      expression: "String(require('trace_events').getEnabledCategories() ?? '')",
      includeCommandLineAPI: true,
      returnByValue: true,
    });
    return String(r.result.value);
  });
}

/**
 * Threads of the V8 CPU profiler in a local process. V8 starts a `v8:ProfEvntProc` thread for
 * every running CPU profile and joins it on stop, whichever session started it: the one outside
 * view of Profiler state, which is per session (a fresh session's Profiler.stop fails whatever
 * other sessions run, so it proves nothing).
 */
export function cpuProfilerThreads(pid: number): number {
  return cpuProfilerThreadIds(pid).length;
}

/** The thread ids of those threads: a profiler stopped and started again gets a new one. */
export function cpuProfilerThreadIds(pid: number): number[] {
  const ids: number[] = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      if (fs.readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim() === 'v8:ProfEvntProc') ids.push(Number(task));
    } catch {
      // the thread ended while we looked
    }
  }
  return ids;
}

/** What of a profiler's is running in the target now: CPU profiler, heap sampler, tracing. */
export async function profilersRunning(port: number): Promise<string[]> {
  const { pid, sampling, categories } = await withInspector(port, async (c) => {
    const send = (c.send as (m: string, p?: object) => Promise<{ result: { value: unknown } }>).bind(c);
    const state = await send('Runtime.evaluate', {
      expression: "JSON.stringify({ pid: process.pid, categories: String(require('trace_events').getEnabledCategories() ?? '') })",
      includeCommandLineAPI: true,
      returnByValue: true,
    });
    const sampling = await send('HeapProfiler.getSamplingProfile').then(
      () => true,
      () => false,
    );
    return { ...(JSON.parse(String(state.result.value)) as { pid: number; categories: string }), sampling };
  });
  const running: string[] = [];
  const cpu = cpuProfilerThreads(pid);
  if (cpu > 0) running.push(`${cpu} CPU profile(s)`);
  if (sampling) running.push('the heap sampler');
  if (categories) running.push(`tracing (${categories})`);
  return running;
}

/**
 * The target is left with no CPU profiler, heap sampler or tracer running (nodeprof's or anyone's:
 * call it where nothing else profiles the target). A target notices a closed session when it next
 * reads its socket, so this polls for a few seconds before it fails.
 */
export async function assertNoProfilerRunning(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let running = await profilersRunning(port);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    running = await profilersRunning(port);
  }
  if (running.length > 0) throw new Error(`still running in the target on port ${port}: ${running.join(', ')}`);
}

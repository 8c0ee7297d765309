// A second, direct inspector session for tests that check what nodeprof left in the target (a
// heap sampler or tracer still running) or set it up (someone else's sampler).

import CDP from 'chrome-remote-interface';

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

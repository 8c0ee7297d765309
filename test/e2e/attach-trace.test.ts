// `nodeprof attach --trace`: Chrome trace JSON from NodeTracing, categories checked.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAll, ranFor, runCli, startCli, startTarget } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { enabledTraceCategories } from '../helpers/inspect.js';
import { checkTrace, fromCategories, type TraceFile } from '../helpers/checks.js';

afterEach(killAll);

describe('attach --trace', () => {
  test('--categories v8 -o file: valid Chrome trace JSON, every event from v8, tracing stopped after', async () => {
    const t = await startTarget('retain.js');
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-trace-')), 'trace.json');
    const r = await runCli(['attach', String(t.port), '--trace', '2s', '--categories', 'v8', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/open it in https:\/\/ui\.perfetto\.dev or chrome:\/\/tracing/);
    expect(r.stderr).not.toMatch(/warning/);
    // every event from v8, and the process-name metadata (sent last, after tracingComplete) made it into the file
    const trace = checkTrace(fs.readFileSync(out, 'utf8'), t.pid, ['v8']);
    expect(trace.traceEvents.filter((e) => e.ph !== 'M').length).toBeGreaterThan(10);
    expect(await enabledTraceCategories(t.port)).toBe('');
  });

  test('default categories, piped to stdout: node events are there', async () => {
    const t = await startTarget('retain.js');
    const r = await runCli(['attach', String(t.port), '--trace', '1s']);
    expect(r.code).toBe(0);
    const trace = JSON.parse(r.stdout.toString('utf8')) as TraceFile;
    const events = trace.traceEvents.filter((e) => e.ph !== 'M');
    expect(events.some((e) => fromCategories(e.cat, ['node']))).toBe(true);
    for (const e of events) expect(fromCategories(e.cat, ['node', 'v8'])).toBe(true);
  });

  test('--list-categories prints what the target offers', async () => {
    const t = await startTarget('retain.js');
    const r = await runCli(['attach', String(t.port), '--list-categories']);
    expect(r.code).toBe(0);
    const cats = r.stdout.toString().trim().split('\n');
    expect(cats).toContain('v8');
    expect(cats).toContain('node.fs.sync');
  });

  test('an unknown category is a clear one-line error (exit 2) and nothing is left tracing', async () => {
    const t = await startTarget('retain.js');
    const r = await runCli(['attach', String(t.port), '--trace', '1s', '--categories', 'v8,nope']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown trace category 'nope': the target offers node, .*v8.*--list-categories/);
    expect(await enabledTraceCategories(t.port)).toBe('');
  });

  test('Ctrl-C mid-window writes the trace so far (exit 0); SIGKILL of nodeprof leaves no tracer', async () => {
    const t = await startTarget('retain.js');
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-trace-')), 'trace.json');
    const run = startCli(['attach', String(t.port), '--trace', '60s', '--categories', 'node', '-o', out]);
    await waitFor(async () => (await enabledTraceCategories(t.port)) !== '', 20_000, 'tracing on in the target');
    await ranFor(t.pid, 100); // the target has run, making events, while traced
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stopped early/);
    const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as TraceFile;
    expect(trace.traceEvents.filter((e) => e.ph !== 'M').length).toBeGreaterThan(0);
    expect(await enabledTraceCategories(t.port)).toBe('');

    const killed = startCli(['attach', String(t.port), '--trace', '60s', '-o', out]);
    await waitFor(async () => (await enabledTraceCategories(t.port)) !== '', 20_000, 'tracing on in the target');
    killed.proc.kill('SIGKILL');
    await killed.done;
    // the target ends the tracing of a session it sees closed, when it next reads its socket
    await waitFor(async () => (await enabledTraceCategories(t.port)) === '', 5000, 'tracing off in the target');
  });
});

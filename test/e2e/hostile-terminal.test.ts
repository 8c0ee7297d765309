// Issue 25, terminal escapes: a target whose function name, script path, argv and process.version
// carry ESC sequences (clear screen, OSC 52 clipboard write, window title), BEL, CR, DEL, a C1 CSI
// and a bidi override gets none of those bytes onto the operator's terminal through any output meant
// for people: attach --top and its log, stack, ps, errors, serve's log and its text answers. The
// pprof file keeps the names as they are: it is data, not a terminal.
//
// The target is given as ws://... (the URL it prints): Node's /json/list puts the script path into
// its JSON unescaped, which host:port discovery reads (the "target" slice makes that lenient).

import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { str } from '../../src/pprof/query.js';
import { CLI, FIXTURES, killAll, runCli, startTarget, type RunningTarget } from '../helpers/processes.js';
import { loadProfile } from '../helpers/profiles.js';
import { request, startServe } from '../helpers/serve.js';

afterEach(killAll);

/** In the directory name and argv: the attack of the issue, plus CR, DEL, C1 CSI and a bidi override. */
const HOSTILE = '\x1b[2J\x1b[H\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned-dir\x07\r\u202e\u009b[31m\x7f';
/** The hot function's name as the fixture spells it. */
const HOT_NAME = 'hot\x1b[2J\x1b[H\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned-title\x07\r\u202eevil\u009b[31m\x7f';

/**
 * A byte a terminal acts on, or a character that reorders what it shows: C0 controls other than the
 * line breaks and tabs nodeprof itself writes, DEL, C1, and the bidi controls.
 */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Where control bytes reached an output: every output of a test is checked before it fails. */
function controlChecker(): { check(text: string, what: string): void; problems: string[] } {
  const problems: string[] = [];
  return {
    problems,
    check(text, what) {
      const m = CONTROL.exec(text);
      if (m)
        problems.push(
          `${what} carries U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')}: ${JSON.stringify(text.slice(Math.max(0, m.index - 60), m.index + 60))}`,
        );
    },
  };
}

let dir: string;
let script: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), `nodeprof-escapes-${HOSTILE}-`));
  script = path.join(dir, 'hostile.js');
  fs.copyFileSync(path.join(FIXTURES, 'hostile.js'), script);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The fixture run from the hostile directory, with a hostile argument; returns it and its ws:// URL. */
async function startHostile(extra: string[] = []): Promise<{ t: RunningTarget; ws: string }> {
  const t = await startTarget(path.relative(FIXTURES, script), { args: [`arg${HOSTILE}`, ...extra] });
  const ws = /Debugger listening on (ws:\/\/\S+)/.exec(t.stderr())![1]!;
  return { t, ws };
}

describe('a target with terminal escapes in its names, path and argv', () => {
  test('attach --top: the table and the log are escaped; the pprof file keeps the raw name', async () => {
    const { ws } = await startHostile();
    const out = path.join(dir, 'cpu.pb.gz');
    const r = await runCli(['attach', ws, '--cpu', '2s', '--top', '-o', out]);
    expect(r.code).toBe(0);
    const stdout = r.stdout.toString('utf8');
    const c = controlChecker();
    c.check(stdout, 'attach --top stdout');
    c.check(r.stderr, 'attach stderr');
    expect(c.problems).toEqual([]);
    // What the operator sees instead: the bytes written out.
    expect(stdout).toContain('hot\\x1b[2J\\x1b[H\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b]0;pwned-title\\x07\\r\\u202eevil\\x9b[31m\\x7f');
    expect(stdout).toContain('pwned-dir\\x07');
    const p = loadProfile(out);
    const names = p.function.map((f) => str(p, f.name));
    expect(names).toContain(HOT_NAME);
    expect(p.function.map((f) => str(p, f.filename)).some((f) => f.includes('nodeprof-escapes-\x1b[2J') && f.includes('pwned-dir\x07'))).toBe(true);
  });

  test('attach --format collapsed -o - onto a terminal: names escaped there (a file or pipe keeps them raw)', async () => {
    const { ws } = await startHostile();
    // A pseudo-terminal on stdout, from util-linux's script(1); --quiet keeps the spinner off it.
    const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} attach ${ws} --cpu 1s --format collapsed -o - --quiet`;
    const onTty = await new Promise<string>((resolve, reject) => {
      execFile('script', ['-qec', cli, '/dev/null'], { timeout: 60_000, encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    expect(onTty).toContain('hot\\x1b[2J\\x1b[H\\x1b]52_c_cm0gLXJmIH4=\\x07\\x1b]0_pwned-title\\x07\\r\\u202eevil\\x9b[31m\\x7f');
    expect(onTty).not.toContain('\x1b]52');
    expect(onTty).not.toContain('\u202e');
    const piped = await runCli(['attach', ws, '--cpu', '1s', '--format', 'collapsed', '-o', '-', '--quiet']);
    expect(piped.code).toBe(0);
    // Folded stacks have ';' between frames, so a name's own ';' shows as '_'.
    expect(piped.stdout.toString('utf8')).toContain(HOT_NAME.replace(/;/g, '_'));
  });

  test('stack: the Process line (argv), the version and the frames are escaped; --json parses back to the raw strings', async () => {
    const { t, ws } = await startHostile();
    const r = await runCli(['stack', ws]);
    expect(r.code).toBe(0);
    const j = await runCli(['stack', ws, '--json']);
    expect(j.code).toBe(0);
    const stdout = r.stdout.toString('utf8');
    const text = j.stdout.toString('utf8');
    const c = controlChecker();
    c.check(stdout, 'stack stdout');
    c.check(r.stderr, 'stack stderr');
    c.check(text, 'stack --json');
    expect(c.problems).toEqual([]);
    expect(stdout).toMatch(new RegExp(`^Process ${t.pid}: \\S*node .*nodeprof-escapes-\\\\x1b\\[2J.*hostile\\.js arg\\\\x1b\\[2J`));
    expect(stdout).toContain('pwned-version\\x07\\u202e');
    expect(stdout).toContain('pwned-title\\x07');

    const parsed = JSON.parse(text) as { argv: string[]; threads: Array<{ frames: Array<{ functionName: string }> }> };
    expect(parsed.argv).toContain(`arg${HOSTILE}`);
  });

  test('ps: the COMMAND column is escaped; --json parses back to the raw argv', async () => {
    const { t } = await startHostile();
    const r = await runCli(['ps']);
    expect(r.code).toBe(0);
    const j = await runCli(['ps', '--json']);
    const stdout = r.stdout.toString('utf8');
    const text = j.stdout.toString('utf8');
    // Other people's processes are on this machine too: none may carry a control byte through nodeprof.
    const c = controlChecker();
    c.check(stdout, 'ps stdout');
    c.check(text, 'ps --json');
    expect(c.problems).toEqual([]);
    const line = stdout.split('\n').find((l) => l.startsWith(`${t.pid} `));
    expect(line).toContain('nodeprof-escapes-\\x1b[2J\\x1b[H\\x1b]52;c;');
    expect(line).toContain(`arg\\x1b[2J`);

    const mine = (JSON.parse(text) as Array<{ pid: number; argv: string[] }>).find((p) => p.pid === t.pid);
    expect(mine?.argv.slice(1)).toEqual(['--inspect=127.0.0.1:0', script, `arg${HOSTILE}`]);
  });

  test('an error quoting what the target answered is one escaped line', async () => {
    const { ws } = await startHostile(['--lie-json']);
    const r = await runCli(['stack', ws]);
    expect(r.code).not.toBe(0);
    const c = controlChecker();
    c.check(r.stderr, 'stack error');
    expect(c.problems).toEqual([]);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^nodeprof: /);
  });

  test('serve: its log, the index page, goroutine debug=1 and debug=2, cmdline and symbol are escaped', async () => {
    const { ws } = await startHostile();
    const s = await startServe(ws);
    const c = controlChecker();
    const index = await request(s.url);
    const debug1 = await request(`${s.url}goroutine?debug=1`);
    const debug2 = await request(`${s.url}goroutine?debug=2`);
    const cmdline = await request(`${s.url}cmdline`);
    // Addresses Go's symbol protocol would ask about: those debug=1 just listed.
    const addresses = [...debug1.text.matchAll(/^#\t(0x[0-9a-f]+)\t/gm)].map((m) => m[1]);
    const symbol = await request(`${s.url}symbol?${addresses.join('+')}`);
    // A CPU profile makes serve read source maps: its warning quotes the script's path.
    const profile = await request(`${s.url}profile?seconds=1`);
    s.run.proc.kill('SIGINT');
    const done = await s.run.done;
    for (const a of [index, debug1, debug2, cmdline, symbol, profile]) expect(a.status).toBe(200);
    expect(done.code).toBe(0);
    c.check(index.text, 'index page');
    c.check(debug1.text, 'goroutine?debug=1');
    c.check(debug2.text, 'goroutine?debug=2');
    c.check(cmdline.text.replaceAll('\u0000', ' '), 'cmdline');
    c.check(symbol.text, 'symbol');
    c.check(s.stderr(), "serve's log");
    expect(c.problems).toEqual([]);
    expect(index.text).toContain('pwned-version\\x07\\u202e');
    expect(debug1.text).toContain('pwned-title\\x07');
    expect(debug2.text).toContain('pwned-title\\x07');
    expect(symbol.text).toContain('pwned-title\\x07');
    expect(s.stderr()).toMatch(/GET \/debug\/pprof\/goroutine\?debug=2 200/);
    // The source map warning quotes the script's path, written out.
    expect(s.stderr()).toMatch(/^warning: .*nodeprof-escapes-\\x1b\[2J.*pwned-dir\\x07/m);
    // The pprof answer is data: the raw name is in it.
    expect(loadProfile(profile.body).stringTable.strings).toContain(HOT_NAME);
  });
});

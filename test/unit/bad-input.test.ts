// The bad-input catalogue, parser side, as properties (fast-check): every spelling a user can type
// for a target, a duration, an interval, a size or a listen address either parses to a value that
// obeys its invariants and round-trips, or is refused with a UsageError (exit 2) whose message is
// one line, names the value and carries no stack. Nothing else is ever thrown.
// The same over HTTP, against a real `nodeprof serve`, is test/e2e/bad-input.test.ts.
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { formatDuration, parseDuration, parseDurationMicros } from '../../src/duration.js';
import { EXIT_USAGE, oneLine, UsageError } from '../../src/errors.js';
import { requestUrl } from '../../src/serve/handler.js';
import { parseListen } from '../../src/serve/listen.js';
import { parseSize } from '../../src/size.js';
import { formatHostPort, parseTarget } from '../../src/target/target-spec.js';

const RUNS = { numRuns: 500 };
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs a parser: its value, or the UsageError it refused with; any other throw fails the property. */
function outcome<T>(parse: () => T): { value: T } | { error: UsageError } {
  try {
    return { value: parse() };
  } catch (err) {
    if (err instanceof UsageError) return { error: err };
    throw new Error(`threw ${String(err)} instead of a UsageError`);
  }
}

/** A usage error users can read: one line, quoting what they typed, exit 2, no stack frames. */
function expectUsage(err: UsageError, typed: string): void {
  expect(err.exitCode).toBe(EXIT_USAGE);
  expect(err.message).not.toMatch(/[\r\n\u2028\u2029]/);
  expect(err.message).not.toMatch(/\n\s+at |\bat .+:\d+:\d+\)/);
  expect(err.message).toContain(oneLine(typed.trim()));
}

/** Near misses: a valid spelling with a few arbitrary characters put in, replaced or cut off. */
function mutated(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(valid, fc.nat(), fc.nat(3), fc.string({ unit: 'binary', maxLength: 3 })).map(([s, at, cut, put]) => {
    const i = at % (s.length + 1);
    return s.slice(0, i) + put + s.slice(Math.min(s.length, i + cut));
  });
}

/** Anything: arbitrary text, including control characters and astral code points. */
const anyText = fc.string({ unit: 'binary', maxLength: 40 });

// --- targets ------------------------------------------------------------------------------------

const port = fc.integer({ min: 1, max: 65535 });
const anyPort = fc.oneof(port, fc.integer({ min: -10, max: 0 }), fc.integer({ min: 65536, max: 10_000_000 }));
const hostName = fc.oneof(fc.domain(), fc.ipV4(), fc.constant('localhost'));
const validTarget = fc.oneof(
  anyPort.map(String),
  fc.tuple(hostName, anyPort).map(([h, p]) => `${h}:${p}`),
  fc.tuple(fc.ipV6(), anyPort).map(([h, p]) => `[${h}]:${p}`),
  fc.tuple(hostName, anyPort, fc.uuid()).map(([h, p, id]) => `ws://${h}:${p}/${id}`),
  fc.oneof(fc.integer({ min: -5, max: 5_000_000 }), fc.constant(2 ** 31), fc.constant(2 ** 53 + 1)).map((n) => `pid:${n}`),
);
const targetInput = fc.oneof(validTarget, mutated(validTarget), anyText);

describe('target spellings', () => {
  test('parse to a target that obeys its invariants and round-trips, or a one-line usage error', () => {
    fc.assert(
      fc.property(targetInput, (typed) => {
        const r = outcome(() => parseTarget(typed));
        if ('error' in r) return expectUsage(r.error, typed);
        const t = r.value;
        expect(t.text).toBe(typed.trim());
        if (t.kind === 'pid') {
          expect(Number.isInteger(t.pid) && t.pid >= 1 && t.pid <= 2 ** 31 - 1).toBe(true);
          expect(parseTarget(`pid:${t.pid}`)).toMatchObject({ kind: 'pid', pid: t.pid });
          return;
        }
        expect(Number.isInteger(t.port) && t.port >= 1 && t.port <= 65535).toBe(true);
        expect(t.host).not.toBe('');
        expect(t.host).not.toMatch(/[\s\u0000-\u001f]/);
        if (t.kind === 'websocket') expect(t.url).toBe(t.text);
        else expect(parseTarget(formatHostPort(t.host, t.port))).toMatchObject({ kind: 'address', host: t.host, port: t.port });
      }),
      RUNS,
    );
  });

  test('a bare port is 127.0.0.1:<port> exactly when it is 1-65535', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 200_000 }), (p) => {
        const r = outcome(() => parseTarget(String(p)));
        if (p >= 1 && p <= 65535) expect(r).toEqual({ value: { kind: 'address', host: '127.0.0.1', port: p, text: String(p) } });
        else expect('error' in r).toBe(true);
      }),
      RUNS,
    );
  });

  test('examples of each refusal', () => {
    for (const typed of [
      '0',
      '65536',
      'pid:0',
      'pid:',
      'pid:-1',
      `pid:${2 ** 31}`,
      'pid:99999999999999999999',
      'ws://',
      'ws://h:0/x',
      'ws://a\nb:1/x',
      'host:',
      ':9229',
      'a b:1',
      '[zz]:1',
      'x\ny:9229',
      '1\u001b[2J',
    ]) {
      const r = outcome(() => parseTarget(typed));
      expect({ typed, refused: 'error' in r }).toEqual({ typed, refused: true });
      if ('error' in r) expectUsage(r.error, typed);
    }
  });
});

// --- durations and intervals --------------------------------------------------------------------

const UNIT_US = { h: 3600e6, m: 60e6, s: 1e6, ms: 1000, us: 1 } as const;
type Unit = keyof typeof UNIT_US;
/** Well-formed durations: units large to small, each at most once, with the micro-seconds they mean. */
const wellFormed = fc
  .subarray(['h', 'm', 's', 'ms', 'us'] as Unit[], { minLength: 1 })
  .chain((units) => fc.tuple(fc.constant(units), fc.array(fc.nat(5000), { minLength: units.length, maxLength: units.length })))
  .map(([units, ns]) => ({ text: units.map((u, i) => `${ns[i]}${u}`).join(''), us: units.reduce((sum, u, i) => sum + ns[i]! * UNIT_US[u], 0) }));
const durationInput = fc.oneof(
  wellFormed.map((d) => d.text),
  mutated(wellFormed.map((d) => d.text)),
  fc.double({ noNaN: false }).map(String),
  fc.integer({ min: -100, max: 100 }).map(String),
  anyText,
);

describe('durations and intervals', () => {
  test('well-formed durations mean the sum of their parts; zero and over 24.8 days are refused', () => {
    fc.assert(
      fc.property(wellFormed, ({ text, us }) => {
        const r = outcome(() => parseDurationMicros(text, '--cpu duration'));
        if (us > 0 && us <= MAX_TIMER_MS * 1000) expect(r).toEqual({ value: us });
        else if ('error' in r) expectUsage(r.error, text);
        else throw new Error(`${text} (${us} us) was accepted`);
      }),
      RUNS,
    );
  });

  test('anything parses to whole milliseconds in 1..2^31-1 that round-trip through formatDuration, or a one-line usage error', () => {
    fc.assert(
      fc.property(durationInput, (typed) => {
        const r = outcome(() => parseDuration(typed, '--cpu duration'));
        if ('error' in r) {
          expectUsage(r.error, typed);
          expect(r.error.message).toMatch(/^invalid --cpu duration /);
          return;
        }
        const ms = r.value;
        expect(Number.isInteger(ms) && ms >= 1 && ms <= MAX_TIMER_MS).toBe(true);
        // formatDuration rounds to 0.1 s under a minute and to whole seconds above
        expect(Math.abs(parseDuration(formatDuration(ms)) - ms)).toBeLessThanOrEqual(ms < 1000 ? 0 : ms < 60_000 ? 50 : 500);
      }),
      RUNS,
    );
  });

  test('intervals: whole microseconds >= 1, or a one-line usage error naming --interval', () => {
    fc.assert(
      fc.property(durationInput, (typed) => {
        const r = outcome(() => parseDurationMicros(typed, '--interval'));
        if ('error' in r) {
          expectUsage(r.error, typed);
          expect(r.error.message).toMatch(/^invalid --interval /);
        } else {
          expect(Number.isSafeInteger(r.value) && r.value >= 1).toBe(true);
        }
      }),
      RUNS,
    );
  });

  test('a bare number is seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2_000_000 }), (n) => {
        expect(parseDuration(String(n))).toBe(n * 1000);
      }),
    );
  });
});

// --- sizes --------------------------------------------------------------------------------------

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, KiB: 1024, kb: 1024, M: 1024 ** 2, MiB: 1024 ** 2, g: 1024 ** 3 };
const wellFormedSize = fc
  .tuple(fc.nat(5_000_000), fc.constantFrom(...Object.keys(SIZE_UNITS)))
  .map(([n, u]) => ({ text: `${n}${u}`, bytes: n * SIZE_UNITS[u]! }));

describe('sizes', () => {
  test('well-formed sizes are their bytes when 1..2^31-1, refused otherwise', () => {
    fc.assert(
      fc.property(wellFormedSize, ({ text, bytes }) => {
        const r = outcome(() => parseSize(text, '--heap-interval'));
        if (bytes >= 1 && bytes <= 2 ** 31 - 1) expect(r).toEqual({ value: bytes });
        else if ('error' in r) expectUsage(r.error, text);
        else throw new Error(`${text} was accepted`);
      }),
      RUNS,
    );
  });

  test('anything parses to whole bytes that round-trip, or a one-line usage error', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(wellFormedSize.map((s) => s.text)), anyText, fc.double().map(String)), (typed) => {
        const r = outcome(() => parseSize(typed, '--heap-interval'));
        if ('error' in r) return expectUsage(r.error, typed);
        expect(Number.isInteger(r.value) && r.value >= 1 && r.value <= 2 ** 31 - 1).toBe(true);
        expect(parseSize(String(r.value))).toBe(r.value);
      }),
      RUNS,
    );
  });
});

// --- listen addresses ---------------------------------------------------------------------------

describe('listen addresses', () => {
  const validListen = fc.oneof(
    fc.integer({ min: 0, max: 70000 }).map(String),
    fc.tuple(hostName, fc.integer({ min: 0, max: 70000 })).map(([h, p]) => `${h}:${p}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 70000 })).map(([h, p]) => `[${h}]:${p}`),
  );
  test('host and port 0-65535 that round-trip, or a one-line usage error', () => {
    fc.assert(
      fc.property(fc.oneof(validListen, mutated(validListen), anyText), (typed) => {
        const r = outcome(() => parseListen(typed));
        if ('error' in r) return expectUsage(r.error, typed);
        const { host, port: p } = r.value;
        expect(Number.isInteger(p) && p >= 0 && p <= 65535).toBe(true);
        expect(host).not.toBe('');
        expect(parseListen(formatHostPort(host, p))).toEqual({ host, port: p });
      }),
      RUNS,
    );
  });
});

// --- request targets (the HTTP side's first parser) ---------------------------------------------

describe('request targets', () => {
  test('requestUrl never throws; origin-form is always a path, even //host/...', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          fc.webPath(),
          anyText.map((s) => `http://${s}`),
          anyText.map((s) => `/${s}`),
        ),
        (target) => {
          const url = requestUrl(target);
          if (target.startsWith('/')) {
            expect(url).toBeDefined();
            expect(url!.host).toBe('localhost');
            expect(url!.pathname.startsWith('/')).toBe(true);
          }
        },
      ),
      RUNS,
    );
    expect(requestUrl('http://[')).toBeUndefined();
    expect(requestUrl('//evil/debug/pprof/heap')!.pathname).toBe('//evil/debug/pprof/heap');
  });
});

describe('oneLine', () => {
  test('no line breaks or control characters survive; printable text is unchanged', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const out = oneLine(s);
        // The set is terminalText's (unit/terminal-text.test.ts): C0, DEL, C1, separators, bidi controls.
        const controls = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
        expect(out).not.toMatch(controls);
        if (!controls.test(s)) expect(out).toBe(s);
      }),
      RUNS,
    );
  });
});

// terminalText and friends: what a target names reaches a terminal only as printable text.

import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { terminalJson, terminalLines, terminalText } from '../../src/output/terminal-text.js';
import { writerFor } from '../../src/output/writers/index.js';

const RUNS = { numRuns: 2000 };
/** What a terminal acts on or reorders by: C0, DEL, C1, the line/paragraph separators, bidi controls. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** Strings rich in those characters, and any text at all. */
const hostileChar = fc.constantFrom(
  '\x1b',
  '\x07',
  '\r',
  '\n',
  '\t',
  '\x00',
  '\x7f',
  '\u0085',
  '\u009b',
  '\u061c',
  '\u200e',
  '\u200f',
  '\u2028',
  '\u2029',
  '\u202a',
  '\u202e',
  '\u2066',
  '\u2069',
  '\\',
  'x',
  ']',
  '[',
  'é',
  '😀',
);
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: hostileChar, maxLength: 40 }));

/** Reads escapes back (only meaningful for text without backslashes of its own). */
function unescape(s: string): string {
  return s.replace(/\\(x[0-9a-f]{2}|u[0-9a-f]{4}|n|r|t)/g, (_, e: string) =>
    e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : String.fromCharCode(parseInt(e.slice(1), 16)),
  );
}

describe('terminalText', () => {
  test('the attack of issue 25 is shown, not performed', () => {
    const name = '\x1b[2J\x1b[H...\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned-title\x07\r\u202eevil\u009b';
    expect(terminalText(name)).toBe('\\x1b[2J\\x1b[H...\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b]0;pwned-title\\x07\\r\\u202eevil\\x9b');
  });

  test('no control character survives; text without any is unchanged', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const out = terminalText(s);
        expect(out).not.toMatch(CONTROLS);
        if (!CONTROLS.test(s)) expect(out).toBe(s);
      }),
      RUNS,
    );
  });

  test('escaping twice changes nothing (sinks may escape text already escaped)', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(terminalText(terminalText(s))).toBe(terminalText(s));
      }),
      RUNS,
    );
  });

  test('every character is shown: without backslashes of its own, the text reads back exactly', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        fc.pre(!s.includes('\\'));
        expect(unescape(terminalText(s))).toBe(s);
      }),
      RUNS,
    );
  });

  test('terminalLines keeps the line breaks and escapes the rest', () => {
    fc.assert(
      fc.property(
        fc.array(
          anyText.map((s) => s.replace(/\n/g, '')),
          { minLength: 1, maxLength: 5 },
        ),
        (lines) => {
          const out = terminalLines(lines.join('\n'));
          expect(out.split('\n')).toEqual(lines.map(terminalText));
        },
      ),
      RUNS,
    );
  });
});

describe('terminalJson', () => {
  test('parses back to the same value, with no control character outside the indentation', () => {
    const value = fc.jsonValue({ maxDepth: 3 }).chain((v) => fc.constant(v));
    const withHostile = fc.oneof(
      value,
      fc.array(fc.string({ unit: hostileChar, maxLength: 20 })),
      fc.dictionary(fc.string({ unit: hostileChar, maxLength: 5 }), fc.string({ unit: hostileChar })),
    );
    fc.assert(
      fc.property(withHostile, fc.constantFrom(undefined, 2), (v, space) => {
        const out = terminalJson(v, space);
        expect(out.replace(/\n/g, '')).not.toMatch(CONTROLS);
        expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      RUNS,
    );
  });
});

describe("a format writer's forTerminal", () => {
  test('collapsed stacks keep one record per line; JSON keeps its value', () => {
    const collapsed = 'main;hot\x1b]0;x\x07 12\nmain;idle\u202e 3\n';
    expect(writerFor('collapsed').forTerminal!(collapsed)).toBe('main;hot\\x1b]0;x\\x07 12\nmain;idle\\u202e 3\n');
    const json = JSON.stringify({ nodes: [{ callFrame: { functionName: 'a\x1b\u009b\u202e' } }] }, null, 2);
    const shown = writerFor('cpuprofile').forTerminal!(json);
    expect(shown.replace(/\n/g, '')).not.toMatch(CONTROLS);
    expect(JSON.parse(shown)).toEqual(JSON.parse(json));
  });
});

// Text from a target (function names, script paths, argv, versions) made safe for a person's
// terminal: every character that could drive it or reorder what is shown is written out visibly.

/**
 * C0 controls (ESC, BEL, CR, LF, TAB, ...), DEL, C1 controls (U+0080-U+009F: 0x9B is a one-byte
 * CSI for some terminals), the line and paragraph separators, and the Unicode bidi controls (which
 * make a name read backwards, "Trojan Source").
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** UNSAFE less the whitespace JSON allows between tokens (tab, LF, CR). */
const UNSAFE_IN_JSON = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * One line of printable text: ESC shows as \x1b, U+202E as \u202e, a newline as \n. A backslash is
 * left as it is: names and paths (regexes, Windows paths) stay readable, and escaping twice changes
 * nothing, so a sink may escape text that was already escaped. A name that spells "\x1b" itself
 * looks like an escaped ESC; that is cosmetic, nothing reaches the terminal.
 */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** Text of several lines (a stack trace): each line escaped, the line breaks kept. */
export function terminalLines(text: string): string {
  return text.split('\n').map(terminalText).join('\n');
}

/**
 * JSON for a terminal (ps --json, stack --json): JSON.stringify escapes C0 controls but leaves DEL,
 * C1 and bidi controls raw. Those can only occur inside strings, where \uXXXX means the same
 * character: the JSON parses to the same value.
 */
export function terminalJson(value: unknown, space?: number): string {
  return terminalJsonText(JSON.stringify(value, null, space));
}

/**
 * JSON text (JSON.stringify's) with those characters written as \uXXXX. Tab, CR and LF are left:
 * JSON.stringify escapes them inside strings, so raw ones are its indentation.
 */
export function terminalJsonText(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

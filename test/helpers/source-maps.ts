// The source-map fixtures (fixtures/sourcemaps/) and where their hot code is in the TypeScript.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FIXTURES } from './processes.js';

export const SM = path.join(FIXTURES, 'sourcemaps');
export const sm = (...parts: string[]): string => path.join(SM, ...parts);
export const fileUrl = (...parts: string[]): string => pathToFileURL(sm(...parts)).href;

/** 1-based line of the first line of `file` that contains `text`. */
export function lineOf(file: string, text: string): number {
  const i = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`${text} not in ${file}`);
  return i + 1;
}

/** Where each fixture's hot function is: the .ts file, its start line and its hot loop line. */
export function hotSpot(tsFile: string): { file: string; startLine: number; hotLine: number } {
  return { file: tsFile, startLine: lineOf(tsFile, 'function hotFunction'), hotLine: lineOf(tsFile, '// HOT LINE') };
}

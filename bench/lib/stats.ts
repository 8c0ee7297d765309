// Small statistics for the bench: min/median/max of repeated runs, and the interleaving order.

export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
  values: number[];
}

export function summarize(values: number[]): Summary {
  const v = values.filter((x) => Number.isFinite(x));
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, min: s[0] ?? NaN, median, max: s[s.length - 1] ?? NaN, values: v };
}

/**
 * The order of conditions in round r: rotated by r, reversed on odd rounds, so each condition runs
 * early and late, before and after each other one, and slow drifts of the machine spread evenly.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  const rotated = [...items.slice(k), ...items.slice(0, k)];
  return round % 2 ? rotated.reverse() : rotated;
}

/**
 * Paired differences a[i] - b[i] as percentage points of base[i]: their mean, standard error, and
 * in how many pairs a was above b.
 */
export function pairedPoints(a: number[], b: number[], base: number[]): { mean: number; se: number; above: number; n: number } {
  const d = a.map((x, i) => ((x - b[i]!) / base[i]!) * 100);
  const n = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, n - 1));
  return { mean, se: sd / Math.sqrt(n), above: d.filter((x) => x > 0).length, n };
}

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

// The routes the facade is documented to answer (DESIGN section 2, docs/go-parity.md), written out
// here and not taken from src/serve/routes.ts: the tests check the table against this list.

export const DOCUMENTED_ROUTES = [
  'profile',
  'heap',
  'allocs',
  'goroutine',
  'block',
  'mutex',
  'threadcreate',
  'cmdline',
  'symbol',
  'trace',
  'cpuprofile',
  'heapsnapshot',
];

/** The routes answering a pprof profile that takes ?debug= and ?seconds= (as a delta), as Go's. */
export const PPROF_KINDS = ['heap', 'allocs', 'goroutine', 'block', 'mutex', 'threadcreate'];

/** Go's strconv.Atoi as net/http/pprof reads debug and gc: not an integer counts as 0. */
export function goInt(raw: string | null): number {
  return raw !== null && /^[+-]?\d+$/.test(raw) ? Number(raw) : 0;
}

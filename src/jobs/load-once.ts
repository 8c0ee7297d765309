// Modules a job needs only after its collection has started (conversion, encoding): loaded on first
// use, or earlier with prefetch() once the profiler runs, so that neither the start of collection
// (the time to the first sample) nor the end of the window (the time to the file) waits for them.

export interface LazyModules<T> {
  /** Starts loading, if not started yet; a failure surfaces at load(). */
  prefetch(): void;
  load(): Promise<T>;
}

export function loadOnce<T>(loader: () => Promise<T>): LazyModules<T> {
  let loading: Promise<T> | undefined;
  const load = () => (loading ??= loader());
  return {
    prefetch() {
      load().catch(() => undefined);
    },
    load,
  };
}

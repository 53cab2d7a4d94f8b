// A test hook: each mounted chart reports its counts (candles, markers...) under
// window.__charts[testId], for the e2e tests and the benchmark. Costs nothing otherwise.
type Counts = Record<string, number>

declare global {
  interface Window {
    __charts?: Record<string, () => Counts>
  }
}

export function registerChart(id: string, counts: () => Counts): () => void {
  const all = (window.__charts ??= {})
  all[id] = counts
  return () => {
    if (all[id] === counts) delete all[id]
  }
}

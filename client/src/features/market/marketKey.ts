// A market: exchange, symbol and timeframe; written `binance:BTC/USDT:1m` in the page's URL
// (?live=...), so a reload keeps the live chart's market.

export interface MarketKey {
  exchange: string
  symbol: string
  timeframe: string
}

export function formatMarket(m: MarketKey): string {
  return `${m.exchange}:${m.symbol}:${m.timeframe}`
}

export function parseMarket(raw: unknown): MarketKey | null {
  if (typeof raw !== 'string') return null
  const parts = raw.split(':')
  if (parts.length !== 3 || parts.some((p) => !p.trim())) return null
  const [exchange, symbol, timeframe] = parts.map((p) => p.trim()) as [string, string, string]
  return { exchange, symbol, timeframe }
}

export function sameMarket(a: MarketKey | null | undefined, b: MarketKey | null | undefined): boolean {
  return !!a && !!b && a.exchange === b.exchange && a.symbol === b.symbol && a.timeframe === b.timeframe
}

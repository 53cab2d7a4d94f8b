// What the candle import form can tell from a file before sending it: the market and timeframe
// of a Binance kline dump's name (BTCUSDT-1m-2024-01.zip), and whether the file looks like one
// it can read. Pure: importFile.test.ts.

/** Quote assets, longest first (so FDUSD wins over USD, USDT over USD). */
const QUOTES = ['FDUSD', 'USDT', 'USDC', 'BUSD', 'TUSD', 'BTC', 'ETH', 'BNB', 'EUR', 'TRY', 'BRL', 'GBP', 'JPY', 'DAI', 'USD']
const DUMP = /^([A-Z0-9]{2,30})-(\d+[smhdwM])-/

export const TIMEFRAMES = ['1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '3d', '1w', '1M'] as const

/** BTCUSDT -> BTC/USDT (null when no known quote asset ends it). */
export function splitMarketId(id: string): string | null {
  const s = id.toUpperCase()
  for (const q of QUOTES) {
    if (s.length > q.length && s.endsWith(q)) return `${s.slice(0, -q.length)}/${q}`
  }
  return null
}

/** The symbol and timeframe of a Binance kline dump's file name, when it is one. */
export function guessFromFileName(name: string): { symbol: string | null; timeframe: string | null } {
  const base = name.split(/[\\/]/).pop() ?? name
  const m = DUMP.exec(base)
  if (!m) return { symbol: null, timeframe: null }
  const tf = m[2]!
  return { symbol: splitMarketId(m[1]!), timeframe: (TIMEFRAMES as readonly string[]).includes(tf) ? tf : null }
}

/** A file the import accepts by its name: .csv, .zip or .txt. */
export function acceptedFile(name: string): boolean {
  return /\.(csv|zip|txt)$/i.test(name)
}

/** "1.2 MB", "830 kB", "12 bytes". */
export function fileSize(bytes: number): string {
  if (bytes >= 1_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`
  if (bytes >= 1000) return `${Math.round(bytes / 1000)} kB`
  return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`
}

// Chart colours from the design tokens (CSS variables in hex, src/styles.css), re-read when the
// theme or the up/down preference changes.
import { shallowRef, watch, type ShallowRef } from 'vue'
import { useUi } from '@/stores/ui'

export interface ChartTheme {
  background: string
  foreground: string
  muted: string
  grid: string
  border: string
  up: string
  down: string
  series: string[]
}

const FALLBACK: ChartTheme = {
  background: '#ffffff',
  foreground: '#0f172a',
  muted: '#475569',
  grid: '#e2e8f0',
  border: '#cbd5e1',
  up: '#15803d',
  down: '#b91c1c',
  series: ['#2563eb', '#d97706', '#7c3aed', '#0891b2', '#db2777'],
}

/** The tokens as they are now on <html>. */
export function readTheme(el: Element = document.documentElement): ChartTheme {
  const css = getComputedStyle(el)
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback
  return {
    background: v('--card', FALLBACK.background),
    foreground: v('--foreground', FALLBACK.foreground),
    muted: v('--muted-foreground', FALLBACK.muted),
    grid: v('--chart-grid', FALLBACK.grid),
    border: v('--border', FALLBACK.border),
    up: v('--up', FALLBACK.up),
    down: v('--down', FALLBACK.down),
    series: [1, 2, 3, 4, 5].map((i) => v(`--chart-${i}`, FALLBACK.series[i - 1]!)),
  }
}

/** A hex colour with an alpha (for fills): '#2563eb', 0.2 -> 'rgba(37, 99, 235, 0.2)'. */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex)
  if (!m) return hex
  const n = parseInt(m[1]!, 16)
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`
}

/** The current chart theme, updated after the theme or up/down preference changes. */
export function useChartTheme(): ShallowRef<ChartTheme> {
  const ui = useUi()
  const theme = shallowRef(readTheme())
  watch(
    () => [ui.dark, ui.upDownInverted, ui.theme],
    () => (theme.value = readTheme()),
    { flush: 'post' },
  )
  return theme
}

/** Options common to every lightweight chart: colours, grid, fonts. */
export function baseOptions(t: ChartTheme) {
  return {
    layout: {
      background: { color: t.background },
      textColor: t.muted,
      fontFamily: 'ui-sans-serif, system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
      panes: { separatorColor: t.border, separatorHoverColor: t.grid },
      attributionLogo: false,
    },
    grid: { vertLines: { color: t.grid }, horzLines: { color: t.grid } },
    rightPriceScale: { borderColor: t.border },
    timeScale: { borderColor: t.border },
  }
}

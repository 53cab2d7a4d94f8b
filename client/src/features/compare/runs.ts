// The runs of the Compare page as the page names them: a letter (A, B…), a title, and the
// line style their curves are drawn with (LinesChart's order), for the legend and the tables.
import type { SettingsSource } from './compare'

export interface CompareRun {
  id: string
  index: number
  letter: string
  title: string
  /** SVG stroke-dasharray of the run's line style in the legend. */
  dash: string
  styleName: string
}

// LinesChart's line styles, in order: solid, dashed, dotted, long dashes, sparse dots
const STYLES: readonly { dash: string; name: string }[] = [
  { dash: '', name: 'solid' },
  { dash: '6 3', name: 'dashed' },
  { dash: '2 2', name: 'dotted' },
  { dash: '10 4', name: 'long-dashed' },
  { dash: '2 5', name: 'sparsely dotted' },
]

export function compareRuns(items: readonly (SettingsSource & { id: string })[]): CompareRun[] {
  return items.map((b, index) => {
    const style = STYLES[index % STYLES.length]!
    return {
      id: b.id,
      index,
      letter: String.fromCharCode(65 + index),
      title: `${b.strategyName} · ${b.symbol} ${b.timeframe}`,
      dash: style.dash,
      styleName: style.name,
    }
  })
}

import { describe, expect, test } from 'vitest'
import { canonicalJson, diffStats, lineDiff } from './diff'
import { example } from './testing/fixtures'

describe('diff', () => {
  test('canonical JSON ignores key order', () => {
    expect(canonicalJson({ op: '>', right: 1, left: 2 })).toBe(canonicalJson({ left: 2, right: 1, op: '>' }))
    expect(canonicalJson({ costs: {}, name: 'a' }).indexOf('name')).toBeLessThan(canonicalJson({ costs: {}, name: 'a' }).indexOf('costs'))
  })

  test('a changed parameter is one line removed and one added', () => {
    const a = example('sma_crossover')
    const b = example('sma_crossover')
    ;(b.parameters as Record<string, { value: number }>).fast!.value = 12
    const lines = lineDiff(canonicalJson(a), canonicalJson(b))
    expect(diffStats(lines)).toEqual({ added: 1, removed: 1 })
    expect(lines.filter((l) => l.kind !== 'same').map((l) => [l.kind, l.text.trim()])).toEqual([['removed', '"value": 10,'], ['added', '"value": 12,']])
  })

  test('edges', () => {
    expect(lineDiff('a', 'a')).toEqual([{ kind: 'same', text: 'a' }])
    expect(lineDiff('a\nb', 'b\nc')).toEqual([{ kind: 'removed', text: 'a' }, { kind: 'same', text: 'b' }, { kind: 'added', text: 'c' }])
  })
})

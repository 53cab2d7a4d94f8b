import { describe, expect, test } from 'vitest'
import {
  addToRoot, conditionFromJson, conditionToJson, fieldPaths, findPlace, fromDocument, moveChild, newId, operandFromJson,
  operandToJson, parseNum, type GroupNode, moveIntoPrevious, moveOut, removeNode, renameParamRefs, replaceNode, setAt, toDocument, type Condition,
} from './model'
import { EXAMPLES, example } from './testing/fixtures'

describe('document ↔ model', () => {
  test.each(EXAMPLES)('round trip of examples/%s', (_file, doc) => {
    const model = fromDocument(doc)!
    expect(toDocument(model)).toEqual(doc)
    expect(Object.keys(toDocument(model))).toEqual(Object.keys(doc))
    // and again, through JSON text, as the JSON tab does
    expect(toDocument(fromDocument(JSON.parse(JSON.stringify(toDocument(model))))!)).toEqual(doc)
  })

  test('examples become builder nodes, not raw JSON', () => {
    for (const [, doc] of EXAMPLES) {
      const json = JSON.stringify(fromDocument(doc))
      expect(json).not.toContain('"raw"')
    }
  })

  test('keeps what the builder cannot show, and unknown keys', () => {
    const doc = {
      name: 'x',
      entry: { all: [{ left: [1, 2], op: '>', right: { price: 'close', extra: 1 } }, { weird: true }, { all: [] }] },
      exit: null,
      parameters: { a: 1, b: { value: 2, range: { start: 1, stop: 5, step: 1 }, values: [1] }, c: 'x' },
      foo: { bar: 1 },
      risk: { stop_loss_pct: '$a' },
    }
    const model = fromDocument(doc)!
    expect(toDocument(model)).toEqual(doc)
    const entry = model.entry as GroupNode
    expect(entry.children.map((c) => c.kind)).toEqual(['compare', 'raw', 'all'])
    expect(model.parameters!.map((p) => Boolean(p.raw))).toEqual([false, true, true])
  })

  test('distinguishes absent from null and bare from wrapped constants', () => {
    expect(toDocument(fromDocument({ name: 'a', entry: { left: 1, op: '>', right: { value: '$x' } } })!)).toEqual({ name: 'a', entry: { left: 1, op: '>', right: { value: '$x' } } })
    expect(operandFromJson({ value: 3 })).toEqual({ kind: 'constant', value: 3, wrapped: true })
    expect(operandToJson({ kind: 'indicator', name: 'sma', args: { period: 10, source: undefined } })).toEqual({ indicator: 'sma', period: 10 })
    expect(fromDocument([])).toBeNull()
    expect(toDocument(fromDocument({ parameters: 'no' })!)).toEqual({ parameters: 'no' })
  })

  test('a number parameter that gains a range is written as an object', () => {
    const model = fromDocument({ parameters: { a: 5 } })!
    const p = model.parameters![0]!
    p.mode = 'range'
    p.range = { start: 1, stop: 9, step: 2 }
    expect(toDocument(model)).toEqual({ parameters: { a: { value: 5, range: { start: 1, stop: 9, step: 2 } } } })
    p.mode = 'values'
    p.values = [1, 2]
    expect(toDocument(model)).toEqual({ parameters: { a: { value: 5, values: [1, 2] } } })
  })
})

describe('tree edits', () => {
  const compare = (n: number): Condition => ({ id: newId(), kind: 'compare', left: { kind: 'price', field: 'close' }, op: '>', right: { kind: 'constant', value: n, wrapped: false } })

  test('add to a root that is not a group wraps both in "all"', () => {
    const a = compare(1)
    const root = addToRoot(a, compare(2))
    expect(root.kind).toBe('all')
    expect(JSON.stringify(toDocument({ rest: {}, parameters: undefined, entry: root, exit: undefined, order: [] }))).toBe(
      '{"entry":{"all":[{"left":{"price":"close"},"op":">","right":1},{"left":{"price":"close"},"op":">","right":2}]}}',
    )
    expect(addToRoot(undefined, a)).toBe(a)
  })

  test('move, remove and replace', () => {
    const [a, b, c] = [compare(1), compare(2), compare(3)]
    const not: Condition = { id: newId(), kind: 'not', child: c }
    const root: Condition = { id: newId(), kind: 'any', children: [a, b, not] }
    expect(moveChild(root, a.id, -1)).toBe(false)
    expect(moveChild(root, a.id, 1)).toBe(true)
    expect((root as GroupNode).children.map((x) => x.id)).toEqual([b.id, a.id, not.id])
    expect(moveChild(root, not.id, 1)).toBe(false)
    expect(findPlace(root, c.id)).toEqual({ parent: not, index: 0 })
    expect(removeNode(root, c.id)).toBe(root.id) // removing a not's child removes the not
    expect((root as GroupNode).children.map((x) => x.id)).toEqual([b.id, a.id])
    const d = compare(4)
    expect(replaceNode(root, a.id, d)).toBe(root)
    expect((root as GroupNode).children.map((x) => x.id)).toEqual([b.id, d.id])
    expect(replaceNode(root, root.id, d)).toBe(d)
  })
})

describe('paths and inputs', () => {
  test('the builder knows the paths of its fields', () => {
    const model = fromDocument(example('donchian_short'))!
    const paths = fieldPaths(model, (name) => (name === 'ema' ? ['period'] : ['period']))
    for (const p of ['entry', 'entry.all[0]', 'entry.all[0].right.period', 'entry.all[0].right.bars_ago', 'entry.all[1].left.period', 'entry.all[1].op', 'exit.right.output', 'parameters.exit_period.values', 'risk.sizing.value', 'costs.fee_bps']) {
      expect(paths.has(p), p).toBe(true)
    }
  })

  test('parseNum keeps text that is not a number', () => {
    expect(parseNum('')).toBeUndefined()
    expect(parseNum(' 12.5 ')).toBe(12.5)
    expect(parseNum('-3e2')).toBe(-300)
    expect(parseNum('$fast')).toBe('$fast')
    expect(parseNum('12a')).toBe('12a')
  })

  test('setAt creates and deletes', () => {
    const o: Record<string, unknown> = {}
    setAt(o, 'risk.sizing.value', 0.5)
    expect(o).toEqual({ risk: { sizing: { value: 0.5 } } })
    setAt(o, 'risk.sizing.value', undefined)
    expect(o).toEqual({ risk: { sizing: {} } })
    setAt(o, 'costs.fee_bps', undefined)
    expect(o).toEqual({ risk: { sizing: {} } })
  })

  test('conditionFromJson gives fresh ids', () => {
    const a = conditionFromJson({ not: { left: 1, op: '>', right: 2 } })
    const b = conditionFromJson({ not: { left: 1, op: '>', right: 2 } })
    expect(a.id).not.toBe(b.id)
  })
})

describe('renaming a parameter', () => {
  const doc = {
    name: 'refs',
    parameters: { fast: 10, slow: { value: '$fast', range: { start: '$fast', stop: 60, step: 5 } }, other: 3 },
    entry: {
      all: [
        { left: { indicator: 'sma', period: '$fast', bars_ago: '$fast' }, op: 'crosses_above', right: { indicator: 'sma', period: '$slow' } },
        { not: { left: { price: 'close', bars_ago: '$fast' }, op: '>', right: '$fast' } },
        { left: { value: '$fast' }, op: '<', right: { mystery: ['$fast', '$fastest'] } },
      ],
    },
    exit: { left: { price: 'close' }, op: '<', right: { indicator: 'ema', period: '$other' } },
    risk: { stop_loss: { kind: 'percent', value: '$fast' } },
  }

  test('every reference follows, nothing else changes', () => {
    const m = fromDocument(doc)!
    m.parameters!.find((p) => p.name === 'fast')!.name = 'quick'
    expect(renameParamRefs(m, 'fast', 'quick')).toBe(9)
    const text = JSON.stringify(toDocument(m))
    expect(text).not.toContain('"$fast"')
    expect(text).toContain('"$fastest"') // only whole references
    expect(text.match(/"\$quick"/g)).toHaveLength(9)
    expect(text).toContain('"$slow"')
    expect(text).toContain('"$other"')
    expect(Object.keys((toDocument(m) as { parameters: object }).parameters)).toEqual(['quick', 'slow', 'other'])
  })

  test('no-ops', () => {
    const m = fromDocument(doc)!
    const before = JSON.stringify(toDocument(m))
    expect(renameParamRefs(m, 'fast', 'fast')).toBe(0)
    expect(renameParamRefs(m, '', 'x')).toBe(0)
    expect(renameParamRefs(m, 'fast', '')).toBe(0)
    expect(renameParamRefs(m, 'missing', 'x')).toBe(0)
    expect(JSON.stringify(toDocument(m))).toBe(before)
  })
})

describe('moving conditions between groups', () => {
  const tree = () =>
    conditionFromJson({
      all: [
        { left: { price: 'close' }, op: '>', right: 1 },
        { any: [{ left: { price: 'close' }, op: '>', right: 2 }] },
        { left: { price: 'close' }, op: '>', right: 3 },
      ],
    })
  const json = (c: Condition) => JSON.stringify(conditionToJson(c))

  test('into the group above, then out again after it', () => {
    const root = tree()
    expect(moveIntoPrevious(root, 2)).toBe(true)
    expect(json(root)).toBe(JSON.stringify({ all: [{ left: { price: 'close' }, op: '>', right: 1 }, { any: [{ left: { price: 'close' }, op: '>', right: 2 }, { left: { price: 'close' }, op: '>', right: 3 }] }] }))
    expect(moveOut(root, 1, 0)).toBe(true)
    expect(json(root)).toBe(JSON.stringify({ all: [{ left: { price: 'close' }, op: '>', right: 1 }, { any: [{ left: { price: 'close' }, op: '>', right: 3 }] }, { left: { price: 'close' }, op: '>', right: 2 }] }))
  })

  test('refused where it makes no sense', () => {
    const root = tree()
    const before = json(root)
    expect(moveIntoPrevious(root, 0)).toBe(false) // nothing above
    expect(moveIntoPrevious(root, 1)).toBe(false) // the one above is not a group
    expect(moveOut(root, 0, 0)).toBe(false) // not a group
    expect(moveOut(root, 1, 5)).toBe(false) // no such child
    expect(json(root)).toBe(before)
  })
})

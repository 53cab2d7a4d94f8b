// "Import from Binance" against a mock urql client: without a key it links to Settings; with
// one, the form starts the job, the jobEvents feed moves its progress (events of other jobs
// ignored), and the terminal event refetches the job and hands its new import to the page.
import { describe, expect, test, vi } from 'vitest'
import { flushPromises, mount, RouterLinkStub } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { ref } from 'vue'
import { fromValue, makeSubject } from 'wonka'
import type { Client, OperationResult } from '@urql/vue'
import { useSession } from '@/stores/session'
import TransactionExchangeImport from './TransactionExchangeImport.vue'

vi.mock('vue-sonner', () => ({ toast: Object.assign(vi.fn(), { success: vi.fn(), error: vi.fn() }) }))

const KEY = { __typename: 'ExchangeKey', id: 'K1', exchange: 'binance', label: 'Main', keyMask: '••••abcd', createdAt: '2024-05-01T10:00:00Z', lastUsedAt: null }
const BATCH = {
  __typename: 'TransactionImport',
  id: 'T1',
  name: 'Binance BTC/USDT',
  format: 'EXCHANGE',
  exchange: 'binance',
  filename: null,
  nRows: 3,
  nStored: 3,
  nDuplicates: 0,
  firstTime: '2024-01-01T00:00:00Z',
  lastTime: '2024-01-02T00:00:00Z',
  symbols: ['BTC/USDT'],
  createdAt: '2024-05-02T00:00:00Z',
}
function job(over: Record<string, unknown> = {}) {
  return {
    __typename: 'ExchangeImport',
    id: 'J1',
    kind: 'EXCHANGE_IMPORT',
    status: 'QUEUED',
    stage: 'QUEUED',
    progress: 0,
    eta: null,
    error: null,
    createdAt: '2024-05-02T00:00:00Z',
    finishedAt: null,
    symbols: ['BTC/USDT', 'ETH/USDT'],
    start: '2024-01-01T00:00:00Z',
    end: '2024-02-01T00:00:00Z',
    nFetched: 0,
    key: { __typename: 'ExchangeKey', id: 'K1', label: 'Main', keyMask: '••••abcd' },
    transactionImport: null,
    ...over,
  }
}
function event(over: Record<string, unknown>) {
  return { jobKind: 'EXCHANGE_IMPORT', jobId: 'J1', jobSeq: 1, kind: 'progress', status: 'RUNNING', stage: 'COMPUTING', progress: 0, eta: null, error: null, data: null, ...over }
}

function setup(keys: unknown[], jobNow: () => unknown) {
  const feed = makeSubject<OperationResult>()
  const executeMutation = vi.fn(() => fromValue({ data: { importExchangeTrades: job() } }))
  const executeQuery = vi.fn(({ query }: { query: { definitions: Array<{ name?: { value: string } }> } }) => {
    const name = query.definitions.find((d) => d.name)?.name?.value
    return fromValue({ data: name === 'ExchangeImport' ? { exchangeImport: jobNow() } : { exchangeKeys: keys } })
  })
  // client.query(...).toPromise(): the job refetched (network-only) after its start and end
  const query = vi.fn(() => ({ toPromise: () => Promise.resolve({ data: { exchangeImport: jobNow() } }) }))
  const client = { executeQuery, executeMutation, executeSubscription: vi.fn(() => feed.source), query } as unknown as Client
  setActivePinia(createPinia())
  useSession().$patch({ accessToken: 'token', user: { id: 'U1', email: 'a@example.com', role: 'TRADER' } } as never)
  const w = mount(TransactionExchangeImport, {
    global: { provide: { $urql: ref(client) }, stubs: { RouterLink: RouterLinkStub } },
    attachTo: document.body,
  })
  const push = (data: Record<string, unknown>): void => feed.next({ data: { jobEvents: data } } as unknown as OperationResult)
  return { w, push, executeMutation }
}

describe('TransactionExchangeImport', () => {
  test('without a key, it links to Settings → Exchange keys', async () => {
    const { w } = setup([], () => null)
    await flushPromises()
    expect(w.find('form').exists()).toBe(false)
    expect(w.getComponent(RouterLinkStub).props('to')).toBe('/settings#exchange-keys')
    expect(w.get('[data-testid="exchange-import-no-keys"]').text()).toContain('Settings → Exchange keys')
    w.unmount()
  })

  test('starts the job, follows its progress, and hands over the new import at its end', async () => {
    let now: unknown = job()
    const { w, push, executeMutation } = setup([KEY], () => now)
    await flushPromises()
    await w.get('[data-testid="exchange-import-open"]').trigger('click')
    await w.get('#ex-symbols').setValue('btc/usdt, eth/usdt')
    await w.get('#ex-from').setValue('2024-01-01')
    await w.get('#ex-to').setValue('2024-01-31')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(executeMutation.mock.calls[0]).toBeDefined()
    const sent = (executeMutation.mock.calls[0] as unknown as [{ variables: unknown }])[0].variables
    expect(sent).toEqual({ input: { keyId: 'K1', symbols: ['BTC/USDT', 'ETH/USDT'], start: '2024-01-01T00:00:00Z', end: '2024-02-01T00:00:00Z', name: null } })
    expect(w.get('[data-testid="exchange-import-job"]').attributes('data-status')).toBe('QUEUED')

    push(event({ jobSeq: 1, progress: 0.4, data: { nFetched: 2 } }))
    push(event({ jobId: 'OTHER', jobSeq: 9, progress: 0.9 }))
    await flushPromises()
    expect(w.get('[data-testid="exchange-import-percent"]').text()).toBe('40 %')
    expect(w.get('[data-testid="exchange-import-fetched"]').text()).toBe('2 trades fetched')
    expect(w.get('[data-testid="exchange-import-job"]').attributes('data-status')).toBe('RUNNING')

    // an older event is dropped
    push(event({ jobSeq: 1, progress: 0.1 }))
    await flushPromises()
    expect(w.get('[data-testid="exchange-import-percent"]').text()).toBe('40 %')

    now = job({ status: 'SUCCEEDED', stage: 'DONE', progress: 1, nFetched: 3, transactionImport: BATCH })
    push(event({ jobSeq: 2, kind: 'done', status: 'SUCCEEDED', stage: 'DONE', progress: 1 }))
    await flushPromises()
    expect(w.get('[data-testid="exchange-import-status"]').text()).toBe('Succeeded')
    expect(w.get('[data-testid="exchange-import-fetched"]').text()).toBe('3 trades fetched')
    expect(w.get('[data-testid="exchange-import-done"]').text()).toContain('3 new fills stored')
    expect(w.emitted('imported')).toEqual([[BATCH]])
    await w.get('[data-testid="exchange-import-show"]').trigger('click')
    expect(w.emitted('show')).toEqual([[BATCH]])
    w.unmount()
  })

  test('a failed job says why; a refused form names its fields', async () => {
    let now: unknown = job()
    const { w, push } = setup([KEY], () => now)
    await flushPromises()
    await w.get('[data-testid="exchange-import-open"]').trigger('click')
    await w.get('#ex-symbols').setValue('BTCUSDT')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('#ex-symbols-error').text()).toContain('BASE/QUOTE')

    await w.get('#ex-symbols').setValue('BTC/USDT')
    await w.get('#ex-from').setValue('2024-01-01')
    await w.get('#ex-to').setValue('2024-01-31')
    await w.get('form').trigger('submit')
    await flushPromises()
    now = job({ status: 'FAILED', error: 'binance refused the key: invalid API key' })
    push(event({ jobSeq: 1, kind: 'error', status: 'FAILED', error: 'binance refused the key: invalid API key' }))
    await flushPromises()
    expect(w.get('[data-testid="exchange-import-error"]').text()).toBe('Binance refused the key: invalid API key.')
    expect(w.emitted('imported')).toBeUndefined()
    w.unmount()
  })
})

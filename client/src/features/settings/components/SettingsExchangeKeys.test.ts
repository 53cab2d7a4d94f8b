// The exchange keys section against a mock urql client (URQL docs/advanced/testing.md): the
// secret is a password field, is sent once and is cleared at once; the list shows masks only;
// a test's answer and a ValidationError land where the user looks.
import { describe, expect, test, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { ref } from 'vue'
import { fromValue, never } from 'wonka'
import type { Client } from '@urql/vue'
import SettingsExchangeKeys from './SettingsExchangeKeys.vue'

vi.mock('vue-sonner', () => ({ toast: Object.assign(vi.fn(), { success: vi.fn(), error: vi.fn() }) }))

const KEY = {
  __typename: 'ExchangeKey',
  id: 'RXhjaGFuZ2VLZXk6MQ==',
  exchange: 'binance',
  label: 'Main account',
  keyMask: '••••abcd',
  createdAt: '2024-05-01T10:00:00Z',
  lastUsedAt: null,
}

function mockClient(keys: unknown[], mutation: (query: string, variables: Record<string, unknown>) => unknown) {
  const executeMutation = vi.fn(({ query, variables }: { query: { loc?: { source: { body: string } } }; variables: Record<string, unknown> }) =>
    fromValue({ data: mutation(query.loc?.source.body ?? '', variables) }),
  )
  const client = {
    executeQuery: vi.fn(() => fromValue({ data: { exchangeKeys: keys } })),
    executeMutation,
    executeSubscription: vi.fn(() => never),
  } as unknown as Client
  return { client, executeMutation }
}

function render(client: Client) {
  setActivePinia(createPinia())
  return mount(SettingsExchangeKeys, { global: { provide: { $urql: ref(client) } }, attachTo: document.body })
}

describe('SettingsExchangeKeys', () => {
  test('lists keys by label and mask; the secret is a password field, sent once and cleared', async () => {
    const { client, executeMutation } = mockClient([KEY], () => ({ addExchangeKey: { ...KEY, id: 'RXhjaGFuZ2VLZXk6Mg==', label: 'Second' } }))
    const w = render(client)
    await flushPromises()
    expect(w.get('[data-testid="exchange-key-row"]').text()).toContain('Main account')
    expect(w.get('[data-testid="exchange-key-mask"]').text()).toBe('••••abcd')
    expect(w.get('[data-testid="exchange-key-used"]').text()).toBe('Never')

    const secret = w.get<HTMLInputElement>('#key-api-secret')
    expect(secret.attributes('type')).toBe('password')
    await w.get('#key-label').setValue('Second')
    await w.get('#key-api-key').setValue('  KEY123  ')
    await secret.setValue('the-secret')
    await w.get('form').trigger('submit')
    await flushPromises()

    expect(executeMutation).toHaveBeenCalledTimes(1)
    const sent = executeMutation.mock.calls[0]![0].variables
    expect(sent).toEqual({ input: { exchange: 'binance', label: 'Second', apiKey: 'KEY123', apiSecret: 'the-secret' } })
    expect(secret.element.value).toBe('')
    expect(w.get<HTMLInputElement>('#key-api-key').element.value).toBe('')
    expect(w.get('[data-testid="exchange-key-added"]').text()).toContain('Second')
    expect(w.html()).not.toContain('the-secret')
    w.unmount()
  })

  test('an empty form is refused on the page, without asking the API', async () => {
    const { client, executeMutation } = mockClient([], () => null)
    const w = render(client)
    await flushPromises()
    expect(w.find('[data-testid="exchange-keys-empty"]').exists()).toBe(true)
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(executeMutation).not.toHaveBeenCalled()
    expect(w.findAll('[data-testid="field-error"]').length).toBe(3)
    w.unmount()
  })

  test('a ValidationError is shown on its field, and asks for the secret again', async () => {
    const { client } = mockClient([], () => ({
      addExchangeKey: { __typename: 'ValidationError', problems: [{ path: 'input.apiKey', message: 'binance rejected this API key' }] },
    }))
    const w = render(client)
    await flushPromises()
    await w.get('#key-label').setValue('Bad')
    await w.get('#key-api-key').setValue('nope')
    await w.get('#key-api-secret').setValue('nope')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('#key-api-key-error').text()).toBe('Binance rejected this API key.')
    expect(w.get('#key-api-secret-error').text()).toMatch(/again/)
    expect(w.get<HTMLInputElement>('#key-label').element.value).toBe('Bad')
    w.unmount()
  })

  test('a test answers in words: works, or the exchange’s reason', async () => {
    let ok = true
    const { client } = mockClient([KEY], () => ({
      testExchangeKey: {
        __typename: 'ExchangeKeyTest',
        ok,
        message: ok ? 'Connected to Binance' : 'Binance refused the key: signature invalid',
        key: { ...KEY, lastUsedAt: '2024-05-02T10:00:00Z' },
      },
    }))
    const w = render(client)
    await flushPromises()
    await w.get('[data-testid="test-exchange-key"]').trigger('click')
    await flushPromises()
    const result = w.get('[data-testid="exchange-key-test"]')
    expect(result.attributes('data-tone')).toBe('success')
    expect(result.text()).toBe('Connection works. Connected to Binance.')
    ok = false
    await w.get('[data-testid="test-exchange-key"]').trigger('click')
    await flushPromises()
    expect(w.get('[data-testid="exchange-key-test"]').attributes('data-tone')).toBe('error')
    expect(w.get('[data-testid="exchange-key-test"]').text()).toBe('Connection failed. Binance refused the key: signature invalid.')
    w.unmount()
  })
})

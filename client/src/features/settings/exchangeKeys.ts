// Exchange keys on the Settings page: the add form's checks (before the API is asked), the
// exchanges a key can be for, and the words for a key's test result. The secret never comes
// back from the API: a key is shown by its label and mask only.
import { sentence, type FieldErrors } from '@/features/account/problems'

export type KeyField = 'exchange' | 'label' | 'apiKey' | 'apiSecret'
export const KEY_FIELDS: readonly KeyField[] = ['exchange', 'label', 'apiKey', 'apiSecret']

export const EXCHANGES: ReadonlyArray<{ value: string; label: string }> = [{ value: 'binance', label: 'Binance' }]

export function exchangeLabel(exchange: string): string {
  return EXCHANGES.find((e) => e.value === exchange)?.label ?? exchange
}

export interface KeyForm {
  exchange: string
  label: string
  apiKey: string
  apiSecret: string
}

/** What is wrong with the add form, per field (empty: send it). Values are checked trimmed. */
export function keyFormErrors(form: KeyForm): FieldErrors<KeyField> {
  const errors: FieldErrors<KeyField> = {}
  const label = form.label.trim()
  if (!label) errors.label = 'Give the key a label, e.g. “Main account, read only”.'
  else if (label.length > 100) errors.label = 'Keep the label to 100 characters or fewer.'
  const key = form.apiKey.trim()
  if (!key) errors.apiKey = 'Paste the API key from the exchange’s API management page.'
  else if (/\s/.test(key)) errors.apiKey = 'An API key has no spaces: check that it was pasted whole.'
  const secret = form.apiSecret.trim()
  if (!secret) errors.apiSecret = 'Paste the secret key shown when the API key was created.'
  else if (/\s/.test(secret)) errors.apiSecret = 'A secret key has no spaces: check that it was pasted whole.'
  return errors
}

export type TestTone = 'success' | 'error'

/**
 * A key's test result: a short title (what the user looks for first) and the API's message as
 * a sentence (what the exchange said, and what to do about it).
 */
export function testResult(ok: boolean, message: string): { tone: TestTone; title: string; detail: string } {
  return ok
    ? { tone: 'success', title: 'Connection works.', detail: sentence(message) }
    : { tone: 'error', title: 'Connection failed.', detail: sentence(message) || 'The exchange did not say why.' }
}

/** Where an API problem belongs on a form: a field's name, or 'form' when no field matches. */
export type FieldErrors<F extends string> = Partial<Record<F | 'form', string>>

/**
 * Maps `ValidationError.problems` (paths like `input.password`) onto the form's fields. Several
 * problems of one field are joined; a path naming no field of the form goes to 'form'.
 */
export function fieldErrors<F extends string>(
  problems: ReadonlyArray<{ path: string; message: string }>,
  fields: readonly F[],
): FieldErrors<F> {
  const out: FieldErrors<F> = {}
  for (const p of problems) {
    const name = p.path.replace(/^input\./, '').split('.')[0] ?? ''
    const key = (fields as readonly string[]).includes(name) ? (name as F) : 'form'
    const message = sentence(p.message)
    out[key] = out[key] ? `${out[key]} ${message}` : message
  }
  return out
}

/** The API's "use at least 8 characters" as a sentence: "Use at least 8 characters." */
export function sentence(text: string): string {
  const t = text.trim()
  if (!t) return t
  const s = t[0]!.toUpperCase() + t.slice(1)
  return /[.!?]$/.test(s) ? s : `${s}.`
}

/** The page to return to after signing in: a path of this app only (never another site). */
export function safeRedirect(value: unknown): string {
  const v = Array.isArray(value) ? value[0] : value
  if (typeof v !== 'string' || !v.startsWith('/') || v.startsWith('//') || v.startsWith('/\\')) return '/'
  if (v.startsWith('/sign-in') || v.startsWith('/register')) return '/'
  return v
}

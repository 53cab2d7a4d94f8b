import { defineStore } from 'pinia'
import { ref, watch } from 'vue'

export type Theme = 'light' | 'dark' | 'system'

const THEME_KEY = 'backtest.theme'
const UPDOWN_KEY = 'backtest.updown'
const SIDEBAR_KEY = 'backtest.sidebar'

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value)
  } catch {
    /* not persisted */
  }
}

const media = typeof window !== 'undefined' ? window.matchMedia('(prefers-color-scheme: dark)') : null

/** UI state only: theme, up/down colours, the sidebar and the live region's message. */
export const useUi = defineStore('ui', () => {
  const s = stored(THEME_KEY)
  const theme = ref<Theme>(s === 'light' || s === 'dark' ? s : 'system')
  const dark = ref(false)
  /** true: red means up and green down (the convention in much of East Asia). */
  const upDownInverted = ref(stored(UPDOWN_KEY) === 'inverted')
  const sidebarCollapsed = ref(stored(SIDEBAR_KEY) === 'collapsed')
  /** What the polite live region says (route and run-state changes). */
  const announcement = ref('')

  function apply(): void {
    dark.value = theme.value === 'dark' || (theme.value === 'system' && (media?.matches ?? false))
    document.documentElement.classList.toggle('dark', dark.value)
    document.documentElement.classList.toggle('updown-inverted', upDownInverted.value)
  }

  watch(theme, (t) => {
    store(THEME_KEY, t)
    apply()
  })
  watch(upDownInverted, (v) => {
    store(UPDOWN_KEY, v ? 'inverted' : 'normal')
    apply()
  })
  watch(sidebarCollapsed, (v) => store(SIDEBAR_KEY, v ? 'collapsed' : 'open'))
  media?.addEventListener('change', apply)
  apply()

  function announce(message: string): void {
    // cleared first so that the same message twice is read twice
    announcement.value = ''
    requestAnimationFrame(() => {
      announcement.value = message
    })
  }

  return { theme, dark, upDownInverted, sidebarCollapsed, announcement, announce }
})

import { createApp } from 'vue'
import { createPinia } from 'pinia'
import urql from '@urql/vue'
import App from './App.vue'
import { router } from './router'
import { makeClient } from './urql'
import { resumeSession } from './resume'
import { useSession } from '@/stores/session'
import { useUi } from '@/stores/ui'
import '@/styles.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)

const session = useSession()
const ui = useUi()
const client = makeClient(() => {
  const here = router.currentRoute.value
  if (!here.meta.public) void router.replace({ name: 'sign-in', query: { redirect: here.fullPath } })
})
app.use(urql, client)

router.beforeEach(async (to) => {
  if (to.meta.public || session.signedIn) return true
  if (session.canRefresh && (await resumeSession(client))) return true
  return { name: 'sign-in', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
})

router.afterEach((to) => {
  const title = typeof to.meta.title === 'string' ? to.meta.title : 'Backtest'
  document.title = `${title} · Backtest`
  ui.announce(`${title} page`)
})

app.use(router)
app.mount('#app')

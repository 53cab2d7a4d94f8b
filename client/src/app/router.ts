import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

declare module 'vue-router' {
  interface RouteMeta {
    /** Shown in the title bar and announced on navigation. */
    title: string
    /** Reachable without a session (sign-in, register). */
    public?: boolean
  }
}

export const routes: RouteRecordRaw[] = [
  { path: '/sign-in', name: 'sign-in', component: () => import('@/pages/SignInPage.vue'), meta: { title: 'Sign in', public: true } },
  { path: '/register', name: 'register', component: () => import('@/pages/RegisterPage.vue'), meta: { title: 'Create an account', public: true } },
  { path: '/', name: 'dashboard', component: () => import('@/pages/DashboardPage.vue'), meta: { title: 'Dashboard' } },
  { path: '/strategies', name: 'strategies', component: () => import('@/pages/StrategiesPage.vue'), meta: { title: 'Strategies' } },
  { path: '/strategies/new', name: 'strategy-new', component: () => import('@/pages/StrategyEditPage.vue'), meta: { title: 'New strategy' } },
  { path: '/strategies/:id', name: 'strategy', component: () => import('@/pages/StrategyEditPage.vue'), meta: { title: 'Strategy' }, props: true },
  { path: '/backtests', name: 'backtests', component: () => import('@/pages/BacktestsPage.vue'), meta: { title: 'Backtests' } },
  { path: '/backtests/new', name: 'backtest-new', component: () => import('@/pages/NewBacktestPage.vue'), meta: { title: 'New backtest' } },
  { path: '/backtests/:id', name: 'backtest', component: () => import('@/pages/BacktestPage.vue'), meta: { title: 'Backtest' }, props: true },
  { path: '/sweeps', name: 'sweeps', component: () => import('@/pages/ComingPage.vue'), meta: { title: 'Sweeps' } },
  { path: '/market', name: 'market', component: () => import('@/pages/ComingPage.vue'), meta: { title: 'Market data' } },
  { path: '/transactions', name: 'transactions', component: () => import('@/pages/ComingPage.vue'), meta: { title: 'Transactions' } },
  { path: '/settings', name: 'settings', component: () => import('@/pages/SettingsPage.vue'), meta: { title: 'Settings' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('@/pages/NotFoundPage.vue'), meta: { title: 'Page not found', public: true } },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})

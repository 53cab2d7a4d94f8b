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
  { path: '/backtests/compare', name: 'backtest-compare', component: () => import('@/pages/ComparePage.vue'), meta: { title: 'Compare backtests' } },
  { path: '/backtests/new', name: 'backtest-new', component: () => import('@/pages/NewBacktestPage.vue'), meta: { title: 'New backtest' } },
  { path: '/backtests/:id', name: 'backtest', component: () => import('@/pages/BacktestPage.vue'), meta: { title: 'Backtest' }, props: true },
  { path: '/sweeps', name: 'sweeps', component: () => import('@/pages/SweepsPage.vue'), meta: { title: 'Sweeps' } },
  { path: '/sweeps/new', name: 'sweep-new', component: () => import('@/pages/NewSweepPage.vue'), meta: { title: 'New sweep' } },
  { path: '/sweeps/:id', name: 'sweep', component: () => import('@/pages/SweepPage.vue'), meta: { title: 'Sweep' }, props: true },
  { path: '/market', name: 'market', component: () => import('@/pages/MarketPage.vue'), meta: { title: 'Market data' } },
  { path: '/transactions', name: 'transactions', component: () => import('@/pages/TransactionsPage.vue'), meta: { title: 'Transactions' } },
  { path: '/replays/:id', name: 'replay', component: () => import('@/pages/ReplayPage.vue'), meta: { title: 'Replay' }, props: true },
  { path: '/admin/users', name: 'admin-users', component: () => import('@/pages/AdminUsersPage.vue'), meta: { title: 'Users and roles' } },
  { path: '/admin/audit', name: 'admin-audit', component: () => import('@/pages/AdminAuditPage.vue'), meta: { title: 'Audit log' } },
  { path: '/settings', name: 'settings', component: () => import('@/pages/SettingsPage.vue'), meta: { title: 'Settings' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('@/pages/NotFoundPage.vue'), meta: { title: 'Page not found', public: true } },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  // a #hash opens at that section (e.g. /settings#exchange-keys), below the sticky header
  scrollBehavior: (to, _from, saved) => saved ?? (to.hash ? { el: to.hash, top: 72 } : { top: 0 }),
})

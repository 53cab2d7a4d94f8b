import type { Component } from 'vue'
import {
  ArrowLeftRight,
  CandlestickChart,
  FlaskConical,
  Grid3x3,
  LayoutDashboard,
  ScrollText,
  Settings,
  SquareFunction,
  Users,
} from '@lucide/vue'

export interface NavItem {
  to: string
  label: string
  icon: Component
  /** Shown to admins only (the server refuses the page's data to anyone else). */
  admin?: boolean
}

export const NAV: NavItem[] = [
  { to: '/', label: 'Dashboard', icon: LayoutDashboard },
  { to: '/strategies', label: 'Strategies', icon: SquareFunction },
  { to: '/backtests', label: 'Backtests', icon: FlaskConical },
  { to: '/sweeps', label: 'Sweeps', icon: Grid3x3 },
  { to: '/market', label: 'Market data', icon: CandlestickChart },
  { to: '/transactions', label: 'Transactions', icon: ArrowLeftRight },
  { to: '/settings', label: 'Settings', icon: Settings },
  { to: '/admin/users', label: 'Users and roles', icon: Users, admin: true },
  { to: '/admin/audit', label: 'Audit log', icon: ScrollText, admin: true },
]

import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import tailwindcss from '@tailwindcss/vite'

// Two entries: the app (index.html) and the GraphQL playground (playground.html, GraphiQL bundled
// here so that it needs no CDN). `npm run dev` proxies the API of `backtest serve` on :8000.
export default defineConfig({
  plugins: [vue(), tailwindcss()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    manifest: true,
    target: 'es2022',
    rollupOptions: {
      // React libraries of GraphiQL say "use client", which means nothing outside React servers
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning)
      },
      input: {
        app: fileURLToPath(new URL('./index.html', import.meta.url)),
        playground: fileURLToPath(new URL('./playground.html', import.meta.url)),
      },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:8000', ws: true },
      '/healthz': 'http://127.0.0.1:8000',
      '/readyz': 'http://127.0.0.1:8000',
    },
  },
})

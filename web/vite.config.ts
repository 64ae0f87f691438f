import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The dashboard: web/ -> web/dist, served by the API at / (src/api/web/routes.ts). */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // Vite 8 compiles JSX itself; Preact's automatic runtime needs no plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle: no separate modulepreload polyfill request.
    modulePreload: { polyfill: false },
  },
  // `npx vite web` for working on the UI against a running `npm start`.
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});

import { defineConfig } from 'vite';

/** One build for both deployment modes; the control plane serves dist/. */
export default defineConfig({
  root: '.',
  publicDir: 'public',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 150,
  },
});

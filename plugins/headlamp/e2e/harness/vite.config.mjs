// Builds the e2e harness: Headlamp's frontend code from @kinvolk/headlamp-plugin's lib/ with the
// shell in main.jsx. Output: ../../../../_output/headlamp-harness (never committed).
import react from '@vitejs/plugin-react';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  resolve: { alias: { path: 'path-browserify' } },
  plugins: [react()],
  define: {
    'process.env.NODE_ENV': JSON.stringify('production'),
    'import.meta.env.REACT_APP_HEADLAMP_VERSION': JSON.stringify('0.14.0-harness'),
    'import.meta.env.REACT_APP_HEADLAMP_PRODUCT_NAME': JSON.stringify('Headlamp'),
  },
  build: {
    outDir: process.env.HARNESS_OUT || path.resolve(here, '../../../../_output/headlamp-harness'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 100000,
    sourcemap: false,
    minify: false,
  },
  logLevel: 'warn',
});

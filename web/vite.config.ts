import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/**
 * Builds the dashboard into dist/web, which `tessera serve` serves at /.
 * Relative asset URLs ('./assets/…') keep the page working behind a proxy
 * that mounts the server under a path.
 */
export default defineConfig({
  root: here('.'),
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    // One script and one stylesheet: the page is small and served from the same machine.
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
});

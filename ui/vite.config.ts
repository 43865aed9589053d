// The web console's build: Preact through Vite, into dist/ui, which the controller serves.
// Everything is bundled: the page loads nothing from outside the controller (air-gapped networks).
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../dist/ui",
    emptyOutDir: true,
    // No inline polyfill script: the Content-Security-Policy allows scripts from the controller only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: true,
  },
});

import { defineConfig } from 'tsup';

/**
 * The one build of every package: CommonJS and ESM with their own type
 * declarations (index.js / index.mjs, index.d.ts / index.d.mts), so the package
 * loads with `require` and `import`. Other @tributary packages stay external
 * (peers), and declarations resolve them through node_modules, not `paths`.
 */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['cjs', 'esm'],
  dts: true,
  tsconfig: 'tsconfig.build.json',
  clean: true,
  sourcemap: true,
  target: 'node20',
  external: [/^@tributary\//],
});

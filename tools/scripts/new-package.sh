#!/usr/bin/env bash
# Scaffolds packages/<name> with the house layout. Usage: new-package.sh <name> "<description>" [peer-core]
set -euo pipefail
name=$1; desc=$2; peer=${3:-yes}
root=$(cd "$(dirname "$0")/../.." && pwd)
d="$root/packages/$name"
mkdir -p "$d/src" "$d/test"
node - "$d" "$name" "$desc" "$peer" <<'JS'
const fs = require('fs'); const path = require('path');
const [d, name, desc, peer] = process.argv.slice(2);
const pkg = {
  name: `@tributary/${name}`,
  version: '0.1.0',
  description: desc,
  license: 'Apache-2.0',
  main: './dist/index.js',
  module: './dist/index.mjs',
  types: './dist/index.d.ts',
  exports: {
    '.': {
      import: { types: './dist/index.d.mts', default: './dist/index.mjs' },
      require: { types: './dist/index.d.ts', default: './dist/index.js' },
    },
    './package.json': './package.json',
  },
  files: ['dist', 'README.md'],
  sideEffects: false,
  engines: { node: '>=20' },
  scripts: {
    build: 'tsup',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    lint: 'eslint src test',
    test: 'jest',
    exports: 'node ../../tools/scripts/check-exports.mjs',
  },
  nx: { tags: ['lib'] },
};
if (peer === 'yes') pkg.peerDependencies = { '@tributary/core': '^0.1.0' };
fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
fs.writeFileSync(path.join(d, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src', 'test'] }, null, 2) + '\n');
fs.writeFileSync(path.join(d, 'tsconfig.build.json'), JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { paths: {}, baseUrl: '.', types: ['node'] }, include: ['src'] }, null, 2) + '\n');
fs.writeFileSync(path.join(d, 'tsup.config.ts'), "export { default } from '../../tsup.base';\n");
fs.writeFileSync(path.join(d, 'jest.config.cjs'), `module.exports = { ...require('../../jest.preset.cjs'), displayName: '${name}', rootDir: __dirname };\n`);
JS

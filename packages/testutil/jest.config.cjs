module.exports = { ...require('../../jest.preset.cjs'), displayName: 'testutil', rootDir: __dirname };

// Runs a TypeScript entry point (src/server.ts) in a plain node process, the way `npm start` runs the built one:
// each .ts file is transpiled in memory as it is required (no type check: `npm run typecheck` does that).
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
  });
  module._compile(outputText, filename);
};

require(require('node:path').resolve(process.argv[2]));

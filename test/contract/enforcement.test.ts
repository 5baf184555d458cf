// The jest hook itself: a child jest run with the contract setup file fails exactly the tests that broke the contract
// (through the REST recorder, the stand-in's observer, or the app server's TwiML tap), naming the parameter.
import { execFile } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

interface JestResult {
  testResults: Array<{ assertionResults: Array<{ title: string; status: string; failureMessages: string[] }> }>;
}

function runFixture(): Promise<JestResult> {
  const config = {
    rootDir: ROOT,
    testEnvironment: 'node',
    roots: ['<rootDir>/test/contract/fixtures'],
    testMatch: ['**/*.fixture.ts'],
    // Transpile only (the parent run type-checks): the child starts in a few seconds.
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { target: 'ES2022', module: 'commonjs', esModuleInterop: true, resolveJsonModule: true, isolatedModules: true } }] },
    setupFilesAfterEnv: ['<rootDir>/test/helpers/contract/setup.ts'],
  };
  const jest = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [jest, '--config', JSON.stringify(config), '--json', '--runInBand'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      // jest exits 1 when a test fails, which is what the fixture is for; its JSON report is on stdout either way.
      try {
        resolve(JSON.parse(stdout) as JestResult);
      } catch {
        reject(err ?? new Error('child jest printed no JSON report'));
      }
    });
  });
}

test('when tests break the contract through each hooked channel, then jest fails exactly those tests and names the parameter', async () => {
  const report = await runFixture();
  const results = Object.fromEntries(report.testResults.flatMap((f) => f.assertionResults).map((r) => [r.title, r]));

  expect(results['recorder: a valid request']?.status).toBe('passed');
  expect(results['recorder: a misspelt StatusCallbackEvent']?.status).toBe('failed');
  expect(results['recorder: a misspelt StatusCallbackEvent']?.failureMessages.join('\n')).toMatch(/CreateCall.*parameter `StatusCallbackEvent`.*"answerd"/);
  expect(results['stand-in: an accepted request with an unknown parameter']?.status).toBe('failed');
  expect(results['stand-in: an accepted request with an unknown parameter']?.failureMessages.join('\n')).toMatch(/parameter `Agent` is not defined by the spec/);
  expect(results['app server: a TwiML answer with beep="loud"']?.status).toBe('failed');
  expect(results['app server: a TwiML answer with beep="loud"']?.failureMessages.join('\n')).toMatch(/parameter `<Conference beep>`/);
}, 120_000);

// The embedded database: builds FerretDB (a MongoDB-wire-compatible server) from the pinned tools module once, then runs it on SQLite.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths';

export const FERRETDB_VERSION = 'v1.24.2';
const TOOLS_DIR = path.join(PROJECT_ROOT, 'tools', 'ferretdb');
const CACHE_DIR = path.join(PROJECT_ROOT, '.cache');
export const FERRETDB_BINARY = path.join(CACHE_DIR, `ferretdb-${FERRETDB_VERSION}`);

type Log = (message: string) => void;

/** Go from PATH, or where the official installer puts it. */
function goCommand(): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  for (const dir of dirs) if (dir && existsSync(path.join(dir, 'go'))) return 'go';
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
}

function run(cmd: string, args: string[], cwd: string, log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    log(`  $ ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, GOFLAGS: '' } });
    child.on('error', (err) => reject(new Error(`${cmd} could not start: ${err.message} (is Go installed?)`)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args[0]} exited with code ${code}`))));
  });
}

/**
 * Makes sure the FerretDB binary exists, building it with Go on first use.
 * `go install`/`go build` of cmd/ferretdb straight from the module cache yields a binary that panics at start
 * (its embedded build/version/version.txt is empty there), so the pinned module is vendored into .cache,
 * the version file is written, and the vendored tree is built.
 */
export async function ensureFerretdbBinary(log: Log): Promise<string> {
  if (existsSync(FERRETDB_BINARY)) return FERRETDB_BINARY;
  const buildDir = path.join(CACHE_DIR, 'ferretdb-build');
  const started = Date.now();
  log(`Building FerretDB ${FERRETDB_VERSION} for the embedded database (first run only, about a minute)...`);
  rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(buildDir, { recursive: true });
  copyFileSync(path.join(TOOLS_DIR, 'go.mod'), path.join(buildDir, 'go.mod'));
  copyFileSync(path.join(TOOLS_DIR, 'go.sum'), path.join(buildDir, 'go.sum'));
  const go = goCommand();
  log('  [1/3] fetching the pinned Go modules');
  await run(go, ['mod', 'vendor'], buildDir, log);
  writeFileSync(path.join(buildDir, 'vendor/github.com/FerretDB/FerretDB/build/version/version.txt'), `${FERRETDB_VERSION}\n`);
  log('  [2/3] compiling (this is the slow part)');
  const partial = `${FERRETDB_BINARY}.partial`;
  await run(go, ['build', '-mod=vendor', '-trimpath', '-o', partial, 'github.com/FerretDB/FerretDB/cmd/ferretdb'], buildDir, log);
  copyFileSync(partial, FERRETDB_BINARY);
  rmSync(partial, { force: true });
  rmSync(buildDir, { recursive: true, force: true });
  log(`  [3/3] done in ${Math.round((Date.now() - started) / 1000)} s: ${path.relative(PROJECT_ROOT, FERRETDB_BINARY)}`);
  return FERRETDB_BINARY;
}

/** Finds a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) return reject(new Error(`FerretDB exited with code ${child.exitCode} while starting`));
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`FerretDB did not listen on port ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export interface EmbeddedDatabase {
  uri: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts FerretDB with its SQLite backend on 127.0.0.1, telemetry disabled, keeping its data in `dataDir`. */
export async function startFerretdb(options: { dataDir: string; port?: number; log: Log }): Promise<EmbeddedDatabase> {
  const binary = await ensureFerretdbBinary(options.log);
  const port = options.port ?? (await freePort());
  mkdirSync(options.dataDir, { recursive: true });
  const child = spawn(
    binary,
    [
      `--listen-addr=127.0.0.1:${port}`,
      '--handler=sqlite',
      `--sqlite-url=file:${options.dataDir.endsWith('/') ? options.dataDir : `${options.dataDir}/`}`,
      '--telemetry=disable',
      '--state-dir=-',
      '--debug-addr=-',
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DO_NOT_TRACK: '1' } },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    await waitForPort(port, child, 20000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      });
      return stopped;
    },
  };
}

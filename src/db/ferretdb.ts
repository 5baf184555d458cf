// The embedded database: builds FerretDB (a MongoDB-wire-compatible server) from the pinned tools module once, then runs and supervises it on SQLite.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths';
import { claimDataDir } from './data-dir-lock';
import { endProcess, findProcesses, listensOn } from './processes';
import { supervise, type SupervisedRun, type Supervisor, type SupervisorState } from './supervisor';

export const FERRETDB_VERSION = 'v1.24.2';
const TOOLS_DIR = path.join(PROJECT_ROOT, 'tools', 'ferretdb');
const CACHE_DIR = path.join(PROJECT_ROOT, '.cache');

/**
 * The changes made to FerretDB's source before it is built, each a line replaced (`count` times in its file), so that
 * its SQLite backend finds documents by `_id` through the `_id` index:
 * - It looked a document up by `_ferretdb_sjson->'$._id'` but built each collection's unique `_id` index on
 *   `_ferretdb_sjson->"_id"`. SQLite uses an index on an expression only for that same expression, so every find,
 *   update and delete by `_id` scanned its whole collection (EXPLAIN: `SCAN`), and cost more as the collection grew.
 *   Spelt as the index is, they use it (`SEARCH … USING INDEX`). Both spellings name the same value, so the files
 *   either build writes read the same.
 * - It handed SQLite the `_id` only of a filter that is `_id` alone; `{ _id, callSid }` (a reservation released only by
 *   its own call) scanned. Now the `_id` of any filter with other conditions too: FerretDB's handler applies the whole
 *   filter to what comes back whatever the backend used ("Filter may be ignored, or safely applied partially or
 *   entirely. Extra documents will be filtered out by the handler.", internal/backends/collection.go).
 * test/embedded-id-index.test.ts asks the running server for its plans.
 */
export const FERRETDB_PATCHES: ReadonlyArray<{ file: string; from: string; to: string; count: number }> = [
  { file: 'internal/backends/sqlite/metadata/metadata.go', from: `IDColumn = DefaultColumn + "->'$._id'"`, to: 'IDColumn = DefaultColumn + `->"_id"`', count: 1 },
  { file: 'internal/backends/sqlite/collection.go', from: 'if params.Filter.Len() == 1 {', to: 'if params.Filter.Len() >= 1 {', count: 2 },
];
/**
 * The built binary. Its name carries a digest of the patches, so a binary built from the untouched source or with
 * other patches is never taken for it.
 */
export const FERRETDB_BINARY = path.join(CACHE_DIR, `ferretdb-${FERRETDB_VERSION}-patched-${createHash('sha256').update(JSON.stringify(FERRETDB_PATCHES)).digest('hex').slice(0, 8)}`);

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
 * the version file is written, FERRETDB_PATCHES are applied, and the vendored tree is built.
 */
export async function ensureFerretdbBinary(log: Log): Promise<string> {
  if (existsSync(FERRETDB_BINARY)) return FERRETDB_BINARY;
  const buildDir = path.join(CACHE_DIR, 'ferretdb-build');
  const started = Date.now();
  log(`Building FerretDB ${FERRETDB_VERSION} (its lookups by _id made to use the _id index) for the embedded database (first run only, about a minute)...`);
  rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(buildDir, { recursive: true });
  copyFileSync(path.join(TOOLS_DIR, 'go.mod'), path.join(buildDir, 'go.mod'));
  copyFileSync(path.join(TOOLS_DIR, 'go.sum'), path.join(buildDir, 'go.sum'));
  const go = goCommand();
  log('  [1/3] fetching the pinned Go modules');
  await run(go, ['mod', 'vendor'], buildDir, log);
  writeFileSync(path.join(buildDir, 'vendor/github.com/FerretDB/FerretDB/build/version/version.txt'), `${FERRETDB_VERSION}\n`);
  for (const patch of FERRETDB_PATCHES) {
    const file = path.join(buildDir, 'vendor/github.com/FerretDB/FerretDB', patch.file);
    const parts = readFileSync(file, 'utf8').split(patch.from);
    if (parts.length - 1 !== patch.count) throw new Error(`FerretDB's ${patch.file} is not as expected (\`${patch.from}\` found ${parts.length - 1} times, not ${patch.count}): its lookups by _id could not be made to use the _id index`);
    writeFileSync(file, parts.join(patch.to));
  }
  log('  [2/3] compiling (this is the slow part)');
  const partial = `${FERRETDB_BINARY}.partial`;
  await run(go, ['build', '-mod=vendor', '-trimpath', '-o', partial, 'github.com/FerretDB/FerretDB/cmd/ferretdb'], buildDir, log);
  copyFileSync(partial, FERRETDB_BINARY);
  rmSync(partial, { force: true });
  rmSync(buildDir, { recursive: true, force: true });
  // Binaries earlier versions built (unpatched, or patched otherwise) are no longer used.
  for (const name of readdirSync(CACHE_DIR)) {
    if (name.startsWith('ferretdb-v') && !name.startsWith(path.basename(FERRETDB_BINARY))) rmSync(path.join(CACHE_DIR, name), { force: true });
  }
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

/** Waits until `port` accepts connections and, where /proc can tell, until the process `listenerPid` is the one listening. */
function waitForPort(port: number, child: ChildProcess, timeoutMs: number, listenerPid?: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const retry = (): void => {
      if (Date.now() > deadline) reject(new Error(`FerretDB did not listen on port ${port} within ${timeoutMs} ms`));
      else setTimeout(attempt, 50);
    };
    const attempt = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`FerretDB exited (${exitDescription(child)}) while starting`));
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        // Another process holding the port would answer too, while ours fails to bind and exits.
        if (listenerPid === undefined || listensOn(listenerPid, port) !== false) resolve();
        else retry();
      });
      socket.once('error', () => {
        socket.destroy();
        retry();
      });
    };
    attempt();
  });
}

function exitDescription(child: ChildProcess): string {
  if (child.signalCode) return `signal ${child.signalCode}`;
  // The watchdog reports a FerretDB ended by a signal as 128 + its number, like any shell.
  if (child.exitCode !== null && child.exitCode > 128) return `signal ${signalName(child.exitCode - 128)}`;
  return `code ${child.exitCode}`;
}

function signalName(signal: number): string {
  return Object.entries(os.constants.signals).find(([, value]) => value === signal)?.[0] ?? String(signal);
}

/**
 * Runs FerretDB under a watchdog shell that ends it when our end of its stdin pipe closes: the kernel closes that pipe
 * whenever this process goes (SIGKILL, a crash, a closed stdout) so FerretDB never outlives the app. The shell prints
 * FerretDB's pid, exits with FerretDB's status, and forwards nothing else.
 */
const WATCHDOG = [
  // fd 3: the pipe from the app; fd 4: the app's stderr pipe, for FerretDB (the shell's own job notices go nowhere).
  'exec 3<&0 4>&2 2>/dev/null',
  '"$0" "$@" </dev/null >&4 2>&4 &',
  'db=$!',
  'echo "$db"',
  '(read -r _ <&3; kill -TERM "$db" 2>/dev/null; sleep 5; kill -KILL "$db" 2>/dev/null) </dev/null >/dev/null 2>&1 4>&- &',
  'watcher=$!',
  'exec 3<&- 4>&-',
  'wait "$db"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

/**
 * SQLite settings FerretDB is given on top of its own (WAL journal, 10 s busy timeout). `synchronous(normal)`: in WAL
 * mode a commit no longer waits for the disk to flush the log, only checkpoints do. Every commit survives a crash of
 * the app or of FerretDB; a power cut or an OS crash can lose the last commits before the flush, and never corrupts
 * the file (https://www.sqlite.org/pragma.html#pragma_synchronous) — what a standalone MongoDB's default write
 * concern also allows. Writes hold SQLite's one write lock for less time, so fewer writers wait for it.
 */
export const SQLITE_PRAGMAS = ['synchronous(normal)'];

/**
 * FerretDB's Go garbage collector runs when its heap has grown by GOGC percent (Go's default: 100). It allocates a lot
 * per command, so at 400 it spends less of the shared CPU collecting, for a heap of tens of MB. A GOGC set for the app
 * wins.
 */
export const FERRETDB_GOGC = '400';

/** The data directory as FerretDB's --sqlite-url spells it (with a trailing slash), without the settings. */
function sqliteDir(dataDir: string): string {
  return `file:${dataDir.endsWith('/') ? dataDir : `${dataDir}/`}`;
}

/** FerretDB's --sqlite-url for `dataDir`: the directory and SQLITE_PRAGMAS. */
function sqliteUrl(dataDir: string): string {
  return `${sqliteDir(dataDir)}?${SQLITE_PRAGMAS.map((p) => `_pragma=${encodeURIComponent(p)}`).join('&')}`;
}

/** FerretDB processes (ours or left over from an earlier run, whatever its settings) serving `dataDir`. */
export function ferretdbProcessesOn(dataDir: string): number[] {
  const arg = `--sqlite-url=${sqliteDir(path.resolve(dataDir))}`;
  const servesDir = (a: string): boolean => a === arg || a.startsWith(`${arg}?`);
  return findProcesses((argv) => path.basename(argv[0] ?? '').startsWith('ferretdb') && argv.some(servesDir));
}

/** Starts one FerretDB under the watchdog on `port` and waits until it listens. */
async function runFerretdb(binary: string, dataDir: string, port: number, onStderr: (chunk: string) => void): Promise<SupervisedRun> {
  const args = [
    `--listen-addr=127.0.0.1:${port}`,
    '--handler=sqlite',
    `--sqlite-url=${sqliteUrl(dataDir)}`,
    '--telemetry=disable',
    '--state-dir=-',
    '--debug-addr=-',
    '--log-level=error',
  ];
  // Its own process group: a terminal's Ctrl-C reaches the app, which stops FerretDB in order, not FerretDB first.
  const child = spawn('/bin/sh', ['-c', WATCHDOG, binary, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { GOGC: FERRETDB_GOGC, ...process.env, DO_NOT_TRACK: '1' } });
  const exited = new Promise<string>((resolve) => child.once('exit', () => resolve(exitDescription(child))));
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    onStderr(chunk.toString());
  });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(Number(out.split('\n')[0]));
    });
    void exited.then((how) => reject(new Error(`FerretDB's watchdog exited (${how}) before starting it\n${stderr}`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Closing the pipe is the watchdog's signal; FerretDB is ended directly too, and killed if it lingers.
    child.stdin?.end();
    await endProcess(pid, 5000);
    await exited;
  };
  try {
    await waitForPort(port, child, 20000, pid);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return { pid, exited, stop };
}

export interface EmbeddedDatabase {
  uri: string;
  port: number;
  dataDir: string;
  /** 'running', 'restarting' after FerretDB died (until it is back), or 'stopped'. */
  state(): SupervisorState;
  /** The pid of the FerretDB running now. */
  pid(): number | undefined;
  /** How many times it has been started again after dying (the metrics' database restarts). */
  restarts(): number;
  stop(): Promise<void>;
}

/**
 * Starts FerretDB with its SQLite backend on 127.0.0.1 (telemetry disabled, data in `dataDir`) and keeps it running:
 * when it dies it is restarted on the same port and files, so clients reconnect by themselves. The directory is
 * locked to this process; a FerretDB left on it by an earlier run is ended first.
 */
export async function startFerretdb(options: { dataDir: string; port?: number; log: Log; warn?: Log }): Promise<EmbeddedDatabase> {
  const binary = await ensureFerretdbBinary(options.log);
  const dataDir = path.resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const warn = options.warn ?? options.log;
  mkdirSync(dataDir, { recursive: true });
  const lock = claimDataDir(dataDir, { binary, port });
  let runs = 0;
  const start = async (): Promise<SupervisedRun> => {
    lock.update(undefined);
    for (const stale of ferretdbProcessesOn(dataDir)) {
      warn(`ending a FerretDB left running on ${dataDir} by an earlier run (pid ${stale})`);
      await endProcess(stale);
    }
    const run = await runFerretdb(binary, dataDir, port, (chunk) => {
      for (const line of chunk.split('\n')) if (line.trim()) warn(`[ferretdb] ${line.trim()}`);
    });
    lock.update(run.pid);
    runs += 1;
    return run;
  };
  let supervisor: Supervisor;
  try {
    supervisor = await supervise({ name: 'embedded FerretDB', start, info: options.log, warn });
  } catch (err) {
    lock.release();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    dataDir,
    state: () => supervisor.state(),
    pid: () => supervisor.pid(),
    restarts: () => Math.max(0, runs - 1),
    stop() {
      stopped ??= supervisor.stop().finally(() => lock.release());
      return stopped;
    },
  };
}

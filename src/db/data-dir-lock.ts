// One owner per embedded data directory: a lock file naming the app process and its FerretDB, written atomically.
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { executableOf, isAlive } from './processes';

export const LOCK_FILE = 'warm-transfer.lock';

/** What the lock file says. */
export interface LockInfo {
  /** The app (or test run) process that owns the directory, and its executable (to tell a reused pid apart). */
  pid: number;
  executable: string;
  /** The FerretDB binary, and the pid of the one running now (absent between restarts). */
  binary: string;
  ferretdbPid?: number;
  port: number;
}

/** Another live process owns the data directory. */
export class DataDirInUseError extends Error {
  constructor(
    public readonly dataDir: string,
    public readonly ownerPid: number,
  ) {
    super(
      `The embedded database directory ${dataDir} is in use by another warm-transfer process (pid ${ownerPid}). ` +
        'Stop that one first, or give this one its own DATA_DIR.',
    );
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  /** Records the FerretDB now running (or none). */
  update(ferretdbPid: number | undefined): void;
  /** Removes the lock if it is still ours. */
  release(): void;
}

/** Directories this process holds, so that one process cannot claim a directory twice either. */
const held = new Set<string>();

function readLock(file: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockInfo>;
    return typeof info.pid === 'number' ? (info as LockInfo) : undefined;
  } catch {
    return undefined;
  }
}

function ownerIsAlive(info: LockInfo): boolean {
  if (info.pid === process.pid) return false;
  if (!isAlive(info.pid)) return false;
  // A pid reused by an unrelated program after a crash or reboot does not hold the directory.
  const exe = executableOf(info.pid);
  return exe === undefined || exe === info.executable;
}

/** Writes `info` to `file` whole: a temporary file is written, then moved (or linked, to refuse an existing one) into place. */
function writeLock(file: string, info: LockInfo, exclusive: boolean): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(info)}\n`);
  try {
    if (exclusive) linkSync(temp, file);
    else renameSync(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Claims `dataDir` for this process. A lock left by a dead owner is taken over; a live owner's lock is refused
 * with a DataDirInUseError naming it.
 */
export function claimDataDir(dataDir: string, details: { binary: string; port: number }): DataDirLock {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, LOCK_FILE);
  if (held.has(dir)) throw new DataDirInUseError(dir, process.pid);
  const info: LockInfo = { pid: process.pid, executable: process.execPath, binary: details.binary, port: details.port };
  for (let attempt = 0; ; attempt += 1) {
    try {
      writeLock(file, info, true);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
    }
    const existing = readLock(file);
    if (existing && ownerIsAlive(existing)) throw new DataDirInUseError(dir, existing.pid);
    rmSync(file, { force: true });
  }
  held.add(dir);
  let released = false;
  return {
    update(ferretdbPid) {
      if (!released) writeLock(file, { ...info, ...(ferretdbPid ? { ferretdbPid } : {}) }, false);
    },
    release() {
      if (released) return;
      released = true;
      held.delete(dir);
      if (readLock(file)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}

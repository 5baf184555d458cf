// Small questions about other processes, answered from /proc on Linux (elsewhere only "is it alive?" is known).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** True while `pid` runs (zombies count as gone: they only wait for their parent to reap them). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The argument vector of `pid`, or undefined when it is gone or /proc is not there. */
export function commandLineOf(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((arg, i, all) => i < all.length - 1 || arg !== '');
  } catch {
    return undefined;
  }
}

/** The executable file of `pid`, or undefined when it cannot be read. */
export function executableOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/** Every live process whose command line satisfies `match` (none where there is no /proc). */
export function findProcesses(match: (argv: string[]) => boolean): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const argv = commandLineOf(pid);
    if (argv && match(argv) && isAlive(pid)) found.push(pid);
  }
  return found;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Asks `pid` to stop (SIGTERM), and kills it (SIGKILL) if it is still there after `graceMs`. Resolves once it is gone. */
export async function endProcess(pid: number, graceMs = 3000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const killDeadline = Date.now() + 2000;
  while (isAlive(pid) && Date.now() < killDeadline) await sleep(20);
}

/**
 * Whether `pid` holds the listening TCP socket on `port` (from /proc/net/tcp{,6} and the process's fds), or undefined
 * where /proc cannot tell. A port that accepts connections may belong to someone else who took it first.
 */
export function listensOn(pid: number, port: number): boolean | undefined {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (socket) inodes.add(socket[1]!);
      } catch {
        // The descriptor closed while we looked.
      }
    }
  } catch {
    return undefined;
  }
  let tables = 0;
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    tables += 1;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A') continue; // 0A: LISTEN
      if (parseInt(cols[1]!.split(':')[1]!, 16) === port && inodes.has(cols[9]!)) return true;
    }
  }
  return tables > 0 ? false : undefined;
}

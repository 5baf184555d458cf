// Live updates: every change is appended to the shared change feed, and each app instance polls the feed and pushes
// what it finds to the pages connected to it (server-sent events) — so a change made by any instance reaches every page.
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { changeIdAt, type ChangeStore } from '../models/event';

export type ChangeListener = (topics: string[]) => void;

export interface ChangeHub {
  /** Records that `topics` changed (in the background: a page update never fails the request that caused it). */
  publish(...topics: string[]): void;
  /** Calls `listener` with every change seen from now on, from any instance; returns the unsubscribe. */
  subscribe(listener: ChangeListener): () => void;
  /** Starts polling the feed. */
  start(): void;
  /** Stops polling and waits for the last poll and publications. */
  stop(): Promise<void>;
}

/** How often each instance reads the feed, and how long entries are kept. */
export interface ChangeHubSettings {
  pollMs: number;
  /** How long entries stay in the feed (pages only need the last few seconds). */
  keepMs: number;
  /** Changes published within this window are written as one entry. */
  batchMs: number;
}

export function createChangeHub(store: ChangeStore, logger: Logger, settings: ChangeHubSettings = { pollMs: 250, keepMs: 15_000, batchMs: 50 }): ChangeHub {
  const listeners = new Set<ChangeListener>();
  const seen = new Map<string, number>();
  const pending = new Set<Promise<unknown>>();
  // Entries can land slightly out of order across instances: read back a little and drop what was seen.
  const LOOKBACK_MS = 3000;
  let cursor = changeIdAt(Date.now() - LOOKBACK_MS);
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let lastPrune = 0;
  let failing = false;
  const batch = new Set<string>();
  let batchTimer: NodeJS.Timeout | undefined;

  function deliver(topics: string[]): void {
    for (const listener of listeners) {
      try {
        listener(topics);
      } catch (err) {
        logger.warn('change listener failed', { error: errorMessage(err) });
      }
    }
  }

  async function poll(): Promise<void> {
    const now = Date.now();
    try {
      const entries = await store.since(cursor);
      failing = false;
      const fresh: string[] = [];
      for (const entry of entries) {
        if (seen.has(entry._id)) continue;
        seen.set(entry._id, now);
        fresh.push(...entry.topics);
      }
      cursor = changeIdAt(now - LOOKBACK_MS);
      for (const [id, at] of seen) if (now - at > LOOKBACK_MS * 3) seen.delete(id);
      if (fresh.length > 0) deliver([...new Set(fresh)]);
      if (now - lastPrune > 5_000) {
        lastPrune = now;
        await store.prune(new Date(now - settings.keepMs));
      }
    } catch (err) {
      if (!failing) logger.warn('change feed unreadable; pages will catch up when the database is back', { error: errorMessage(err) });
      failing = true;
    }
  }

  function schedule(): void {
    timer = setTimeout(() => {
      polling = poll().finally(() => {
        polling = undefined;
        if (timer) schedule();
      });
    }, settings.pollMs);
  }

  return {
    publish(...topics) {
      // Changes made within one batch window share one entry: a busy minute is a few hundred small documents, not
      // thousands, so every instance's poll stays a short scan.
      for (const topic of topics) batch.add(topic);
      if (batchTimer) return;
      batchTimer = setTimeout(() => {
        batchTimer = undefined;
        const written = [...batch];
        batch.clear();
        const write = store.append(written).catch((err: unknown) => {
          logger.warn('could not record a change for live pages', { error: errorMessage(err) });
        });
        pending.add(write);
        void write.finally(() => pending.delete(write));
      }, settings.batchMs);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      if (!timer) schedule();
    },
    async stop() {
      if (batchTimer) {
        clearTimeout(batchTimer);
        batchTimer = undefined;
        if (batch.size > 0) {
          const write = store.append([...batch]).catch(() => undefined);
          batch.clear();
          pending.add(write);
        }
      }
      clearTimeout(timer);
      timer = undefined;
      await polling;
      await Promise.allSettled([...pending]);
      listeners.clear();
    },
  };
}

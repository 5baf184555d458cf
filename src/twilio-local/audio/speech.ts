// <Say> spoken: eSpeak NG compiled to WebAssembly (npm `espeak-ng`, nothing to install on the system), run in a worker
// thread so that synthesis never delays the mixer's 20 ms ticks. Results are kept per text.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseWav, toTelephone } from './codec';

/**
 * Words per minute. The engine lets a <Say> last about 15 characters a second (media.ts); at 175 wpm eSpeak's
 * en-us voice takes 10–15 % less, so a phrase is not cut off when its audio starts a little after the verb.
 */
const WORDS_PER_MINUTE = 175;
const MAX_CACHED = 200;

// espeak-ng is an ES module that runs its command line once per instance: `-w` writes a WAV into its in-memory FS.
// Its 18 MB WebAssembly (the voices are inside it) is compiled once, when the worker starts, and instantiated per text.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const loaded = import(workerData.url);
const compiled = WebAssembly.compile(readFileSync(workerData.wasm));
compiled.catch(() => undefined);
function speak(ESpeakNG, text) {
  return new Promise((resolve, reject) => {
    ESpeakNG({
      arguments: ['-v', 'en-us', '-s', String(workerData.wpm), '-w', '/say.wav', text],
      print() {},
      printErr() {},
      instantiateWasm(imports, receive) {
        compiled.then((m) => WebAssembly.instantiate(m, imports)).then((instance) => receive(instance), reject);
        return {};
      },
    }).then(resolve, reject);
  });
}
parentPort.on('message', async ({ id, text }) => {
  try {
    const { default: ESpeakNG } = await loaded;
    if (text === null) {
      await compiled;
      parentPort.postMessage({ id, wav: new Uint8Array(0) });
      return;
    }
    const speech = await speak(ESpeakNG, text);
    const wav = speech.FS.readFile('/say.wav');
    parentPort.postMessage({ id, wav }, [wav.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
  }
});
`;

/** Text → 8 kHz speech. */
export class Speech {
  private worker?: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (wav: Uint8Array) => void; reject: (err: Error) => void }>();
  private readonly cache = new Map<string, Promise<Int16Array>>();
  private stopped = false;
  private warming?: Promise<void>;

  /** The speech for `text`; the same promise for the same text while it is cached. */
  speak(text: string): Promise<Int16Array> {
    let pcm = this.cache.get(text);
    if (!pcm) {
      pcm = this.synthesize(text).then((wav) => toTelephone(parseWav(wav), 0.9));
      pcm.catch(() => this.cache.delete(text));
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(text, pcm);
    }
    return pcm;
  }

  /** Whether the speech for `text` is ready (spoken ahead, or once already). */
  async isReady(text: string): Promise<boolean> {
    const pcm = this.cache.get(text);
    if (!pcm) return false;
    return Promise.race([pcm.then(() => true, () => false), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
  }

  /**
   * Starts the worker now (loading and compiling eSpeak NG), so the first <Say> of a call is not late; then speaks
   * `phrases` into the cache one at a time, each only while no call waits for speech (a call's own <Say> waits for at
   * most one phrase), so the app's usual prompts play at once the first time too.
   */
  warm(phrases: readonly string[] = []): void {
    this.ready().catch(() => undefined);
    if (this.prefetching || phrases.length === 0) return;
    this.prefetching = true;
    void (async () => {
      for (const text of phrases) {
        while (this.waiting.size > 0 && !this.stopped) await new Promise((resolve) => setTimeout(resolve, 50));
        if (this.stopped) return;
        await this.speak(text).catch(() => undefined);
      }
    })();
  }
  private prefetching = false;

  /** Resolves once the worker has eSpeak NG loaded and compiled. */
  ready(): Promise<void> {
    this.warming ??= this.synthesize(null).then(() => undefined);
    this.warming.catch(() => (this.warming = undefined));
    return this.warming;
  }

  /** Ends the worker; pending requests fail. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    const worker = this.worker;
    this.worker = undefined;
    for (const w of this.waiting.values()) w.reject(new Error('speech stopped'));
    this.waiting.clear();
    if (worker) await worker.terminate();
  }

  private synthesize(text: string | null): Promise<Uint8Array> {
    const worker = this.ensureWorker();
    if (!worker) return Promise.reject(new Error('speech stopped'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, text });
    });
  }

  private ensureWorker(): Worker | undefined {
    if (this.stopped) return undefined;
    if (this.worker) return this.worker;
    const script = require.resolve('espeak-ng');
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { url: pathToFileURL(script).href, wasm: path.join(path.dirname(script), 'espeak-ng.wasm'), wpm: WORDS_PER_MINUTE },
    });
    worker.unref();
    worker.on('message', (m: { id: number; wav?: Uint8Array; error?: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.wav) w?.resolve(m.wav);
      else w?.reject(new Error(m.error ?? 'speech failed'));
    });
    const fail = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('speech worker exited')));
    this.worker = worker;
    return worker;
  }
}

// Benchmark: the stand-in's audio. For a growing number of simultaneous legs — pairs of phone calls, each pair in a
// conference hearing each other, every page a werift peer sending a tone every 20 ms from this process — the stand-in
// runs in its own process (bench/audio-server.ts) and reports its CPU and its mixer's clock over 10 s:
//   - CPU per leg (ms of CPU per second of call), against a baseline in the same run: the same peers and clock with
//     no engine and no mixing (every leg sent silence) — the ratio is what mixing adds to carrying the audio at all;
//   - late ticks: 20 ms slots sent more than 20 ms after they were due (≤ 1 % is the target);
//   - the mixer's own time per leg (its ticks: the rule, mixing, µ-law, handing packets to werift);
//   - the largest leg count with ≤ 1 % late ticks, and the legs one core would carry at the marginal CPU per leg.
// Late ticks also count the time this machine's other work keeps the stand-in off a core: the load average is printed.
// BENCH_AUDIO_LEGS=8,16,32 sets the counts (default: 8, 16, 32, 48, 64, 96; it stops early once the stand-in uses a core);
// BENCH_AUDIO_SECONDS the measuring window (default 10).
import os from 'node:os';
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { HOLD_MUSIC_PEDAL_HZ } from '../src/twilio-local/audio/hold-music';
import { connectAudio, toneDb, type AudioClient } from '../test/helpers/audio-client';
import { SUPPORT_NUMBER, type AudioServerSample } from './audio-server';
import { runBench } from './servers';

const SECONDS = Number(process.env.BENCH_AUDIO_SECONDS ?? 10);
const COUNTS = (process.env.BENCH_AUDIO_LEGS ?? '8,16,32,48,64,96').split(',').map(Number).filter((n) => n > 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Server {
  child: ChildProcess;
  url: string;
  measure(): Promise<AudioServerSample>;
  stop(): Promise<void>;
}

async function startServer(mode: 'standin' | 'bare'): Promise<Server> {
  const child = fork(path.join(__dirname, 'audio-server.js'), [mode], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`audio-server exited with ${code}`)));
  });
  return {
    child,
    url,
    measure: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as AudioServerSample));
        child.send('measure');
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Connects `legs` pages to `server`; for the stand-in, pairs of phone calls whose pages speak 1100 and 1450 Hz. */
async function connectLegs(server: Server, mode: 'standin' | 'bare', legs: number): Promise<AudioClient[]> {
  const clients: AudioClient[] = [];
  for (let i = 0; i < legs; i++) {
    const hz = i % 2 === 0 ? 1100 : 1450;
    if (mode === 'bare') {
      clients.push(await connectAudio(`${server.url}/offer`, hz));
      continue;
    }
    const from = `+1555${String(Math.floor(i / 2)).padStart(7, '0')}`;
    const res = await fetch(`${server.url}/twilio-local/local/phone/calls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ from, to: SUPPORT_NUMBER, audio: true }) });
    const { callSid } = (await res.json()) as { callSid: string };
    clients.push(await connectAudio(`${server.url}/twilio-local/local/phone/calls/${callSid}/media`, hz));
  }
  await Promise.all(clients.map((c) => Promise.race([c.connected, sleep(10_000)])));
  return clients;
}

interface Run {
  legs: number;
  cores: number;
  cpuMsPerLegSecond: number;
  mixerMsPerLegSecond: number;
  latePct: number;
  load: number;
  ticks: number;
  /** The pages' side (this process) meanwhile: it shares the machine's cores with the server. */
  clientCores: number;
  /** Stand-in only: the first pair's pages hear each other's tone (dB) and no hold music. */
  check?: string;
}

async function run(mode: 'standin' | 'bare', legs: number): Promise<Run> {
  const server = await startServer(mode);
  let clients: AudioClient[] = [];
  try {
    clients = await connectLegs(server, mode, legs);
    await sleep(3000); // the pairs' conferences start; the jitter buffers settle
    const a = await server.measure();
    const clientCpu = process.cpuUsage();
    await sleep(SECONDS * 1000);
    const b = await server.measure();
    const clientDelta = process.cpuUsage(clientCpu);
    const wall = b.wallMs - a.wallMs;
    const cpu = b.cpuMs - a.cpuMs;
    const ticks = b.ticks - a.ticks;
    const slots = ticks + (b.skipped - a.skipped); // a skipped slot is late and was never mixed
    const result: Run = {
      legs: b.legs,
      cores: cpu / wall,
      cpuMsPerLegSecond: cpu / (wall / 1000) / Math.max(1, b.legs),
      mixerMsPerLegSecond: (b.busyCpuMs - a.busyCpuMs) / (wall / 1000) / Math.max(1, b.legs),
      load: os.loadavg()[0] ?? 0,
      latePct: (100 * (b.late - a.late)) / Math.max(1, slots),
      ticks,
      clientCores: (clientDelta.user + clientDelta.system) / 1000 / wall,
    };
    if (mode === 'standin' && clients.length >= 2) {
      const first = clients[0]!.heard(1000);
      const second = clients[1]!.heard(1000);
      result.check = `pair 1 hears each other at ${toneDb(first, 1450).toFixed(1)} / ${toneDb(second, 1100).toFixed(1)} dB, own tone ${toneDb(first, 1100).toFixed(1)} dB, music ${toneDb(first, HOLD_MUSIC_PEDAL_HZ).toFixed(1)} dB`;
    }
    return result;
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await server.stop();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`warm-transfer audio benchmark: the stand-in with N legs (pairs in started conferences, PCMU over loopback WebRTC), ${SECONDS} s per count; pages in this process; ${os.cpus().length} cores, Node ${process.version}\n`);
  process.stdout.write('  legs │ stand-in: cores  CPU ms/leg/s  mixer ms/leg/s  late ticks │ baseline: cores  CPU ms/leg/s  late ticks │ CPU/leg vs baseline │ load avg\n');
  let carried = 0;
  const rows: Run[] = [];
  for (const legs of COUNTS) {
    const standin = await run('standin', legs);
    const bare = await run('bare', legs);
    rows.push(standin);
    const pct = (n: number): string => `${n.toFixed(2)} %`;
    process.stdout.write(
      `  ${String(legs).padStart(4)} │ ${standin.cores.toFixed(2).padStart(15)}  ${standin.cpuMsPerLegSecond.toFixed(2).padStart(12)}  ${standin.mixerMsPerLegSecond.toFixed(3).padStart(14)}  ${pct(standin.latePct).padStart(10)} │ ${bare.cores.toFixed(2).padStart(15)}  ${bare.cpuMsPerLegSecond.toFixed(2).padStart(12)}  ${pct(bare.latePct).padStart(10)} │ ${`${(standin.cpuMsPerLegSecond / bare.cpuMsPerLegSecond).toFixed(2)}×`.padStart(19)} │ ${standin.load.toFixed(1)}\n`,
    );
    if (standin.check) process.stdout.write(`         ${standin.check}; the pages' side used ${standin.clientCores.toFixed(2)} cores\n`);
    if (standin.latePct <= 1 && standin.legs === legs) carried = legs;
    if (standin.cores >= 1 || standin.legs !== legs) break;
  }
  // CPU alone, from the counts that kept time (a stand-in kept off a core by other work uses less CPU than it needs).
  const onTime = rows.filter((r) => r.latePct <= 1);
  const [first, last] = onTime.length >= 2 ? [onTime[0]!, onTime[onTime.length - 1]!] : [rows[0], rows[rows.length - 1]];
  if (first && last && last.legs > first.legs) {
    const marginal = (last.cores - first.cores) / (last.legs - first.legs);
    const fixed = first.cores - marginal * first.legs;
    process.stdout.write(`marginal CPU per leg ${(marginal * 1000).toFixed(2)} ms/s (${first.legs} → ${last.legs} legs), fixed ${fixed.toFixed(2)} cores: one core would carry about ${Math.floor((1 - fixed) / marginal)} legs by CPU${onTime.length >= 2 ? '' : ' (from counts that missed the 1 % target: the machine was busy)'}\n`);
  }
  process.stdout.write(`largest count measured with ≤ 1 % late ticks: ${carried} legs\n`);
}

runBench(main);

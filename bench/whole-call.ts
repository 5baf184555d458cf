// Benchmark: whole calls under load, on one instance and on three behind a load balancer (one database): signed-in
// agents with pages and softphones, customers calling at a steady rate, each call answered, a share consulted and
// completed, a share transferred cold, every one hung up by the customer. The contact-center simulator of the
// instance tests (test/helpers/contact-center-sim.ts) plays the phone network and the agents. Each webhook's p50/p99
// by path is set against a bare server answering the same webhooks at the same moments (replayed), in the same run.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { ferretdbProcessesOn, freePort, startFerretdb } from '../src/db/ferretdb';
import { PROJECT_ROOT } from '../src/paths';
import { ContactCenterSim, databaseUri, type SimCall } from '../test/helpers/contact-center-sim';
import { startLoadBalancer, type Forwarded } from '../test/helpers/load-balancer';
import { offerProblems, refusedWebhooks, scriptMix, strandedProblems } from '../test/helpers/sim-checks';
import { startDbCounter, type DbCounter } from './db-counter';
import { cpuTimeMs, percentile, spawnServer, stopServer, runBench } from './servers';

/** New calls per second. */
const RATE = Number(process.env.BENCH_CALL_RATE ?? 20);
/** Seconds of arrivals that are counted, after WARM_UP_SECONDS at the same rate that are not. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
/** How long the calls still up after the last arrival may take to end before the rest count as stranded. */
const DRAIN_SECONDS = Number(process.env.BENCH_DRAIN_SECONDS ?? 60);
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 3);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
/** Instance counts to run, e.g. "1,3". */
const INSTANCE_COUNTS = (process.env.BENCH_INSTANCES ?? '1,3').split(',').map(Number);
/** Pages given their state on every change (their event stream's `state`), as the agent page is (default: every agent's). */
const REFRESHING_PAGES = Number(process.env.BENCH_REFRESHING_PAGES ?? AGENTS);
/** Half the calls just talk; a quarter are consulted and completed; a quarter are transferred cold. */
const MIX: Array<[SimCall['script'], number]> = [['talk', 2], ['consult', 1], ['cold', 1]];
/** Ring about 0.3 s, talk 1.5 s before the step, 1 s of consult and 1 s after a transfer: about 3 agent-seconds a call. */
const TIMING = { ringMs: 300, talkMs: 1500, afterMs: 1000 };
/** The issue's goals: every webhook's p99 on one instance, and on three against one. */
const GOAL_P99_MS = 25;
/** How many kinds of database command the summary names, busiest first. */
const COMMANDS_SHOWN = Number(process.env.BENCH_COMMANDS_SHOWN ?? 8);
const GOAL_THREE_OVER_ONE = 1.5;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Where the run is, on stderr (the figures go to stdout). */
const progress = (line: string): void => void process.stderr.write(`  [${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** A webhook's path with its CallSid, agent and query taken out: '/conference/:call/agents/:agent/status'. */
function webhookPath(url: string): string {
  return url
    .split('?')[0]!
    .replace(/CA[0-9a-fA-F]{32}/g, ':call')
    .replace(/\/agents\/[^/]+\//, '/agents/:agent/')
    .replace(/\/connect\/(?!client$)[^/]+$/, '/connect/:agent');
}

interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
}

function byPath(log: Forwarded[]): Map<string, number[]> {
  const paths = new Map<string, number[]>();
  for (const r of log) paths.set(webhookPath(r.path), [...(paths.get(webhookPath(r.path)) ?? []), r.ms]);
  return paths;
}

/** The machine's busy CPU time so far, all cores, in ms (from /proc/stat: everything but idle and iowait). */
function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - fields[3]! - fields[4]!) * 10;
}

interface RunResult {
  instances: number;
  webhooks: Map<string, Stats>;
  all: Stats;
  bare: Map<string, Stats>;
  bareAll: Stats;
  firstRing: Stats;
  calls: number;
  counted: number;
  arrivalRate: number;
  stranded: string[];
  /** Problems found 2 s after the last call ended, stranded or not yet gone. */
  late: number;
  otherProblems: string[];
  toldSorry: number;
  pageRequests: Map<string, number>;
  dbCommands: Map<string, number>;
  /** Reads and writes by how FerretDB serves their filter (DbCounter.shapes). */
  dbShapes: Map<string, number>;
  /** How long the database took to answer, by command (DbCounter.latencies). */
  dbLatency: Map<string, Stats>;
  windowMs: number;
  cpu: { instances: number; ferretdb: number; bench: number; machine: number };
  /** This process's event-loop delay over the counted window (ms): the load balancer's timings include it. */
  ownLoopDelay: { p50: number; p99: number; max: number };
  loadavg: string;
}

/** Sends the recorded webhooks again, at the same moments, through a load balancer to a bare server: the baseline. */
async function replayOnBareServer(log: Forwarded[]): Promise<Forwarded[]> {
  const port = await freePort();
  const bare = await spawnServer(path.join(__dirname, 'bare-server.js'), [String(port)], process.env, port);
  const lb = await startLoadBalancer();
  lb.add({ name: 'bare', url: `http://127.0.0.1:${port}` });
  try {
    const start = Date.now();
    const first = log[0]?.at ?? 0;
    await Promise.all(
      log.map(async (r) => {
        await sleep(Math.max(0, r.at - first - (Date.now() - start)));
        const res = await fetch(`${lb.url}${r.path}`, { method: r.method, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: r.body });
        await res.text();
      }),
    );
    return lb.log;
  } finally {
    await lb.close();
    await stopServer(bare);
  }
}

/** Each instance's log, to test-artifacts/processes/ (git-ignored), to read when a figure looks wrong. */
function saveOutputs(sim: ContactCenterSim): void {
  const dir = path.join(PROJECT_ROOT, 'test-artifacts', 'processes');
  mkdirSync(dir, { recursive: true });
  for (const instance of sim.instances) writeFileSync(path.join(dir, `bench-whole-call-${sim.instances.length}-${instance.name}.log`), `${instance.output.join('\n')}\n`);
}

/** What was left behind, and each stuck call's rings and webhooks, to test-artifacts/ (git-ignored), to find out why. */
function saveStranded(sim: ContactCenterSim, problems: string[]): void {
  const sids = new Set([...problems.join(' ').matchAll(/CA[0-9a-f]{32}/g)].map((m) => m[0]));
  const stuck = [...sim.calls.values()].filter((c) => sids.has(c.callSid) || c.rings.some((r) => sids.has(r.leg)));
  const webhooks = sim.lb.log.filter((r) => [...sids].some((sid) => r.body.includes(sid) || r.path.includes(sid))).map((r) => ({ at: r.at, ms: r.ms, path: r.path, status: r.status, upstream: r.upstream, body: Object.fromEntries(new URLSearchParams(r.body)), answer: r.answer.slice(0, 300) }));
  const dir = path.join(PROJECT_ROOT, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `bench-whole-call-${sim.instances.length}-stranded.json`), JSON.stringify({ problems, calls: stuck, webhooks }, null, 1));
}

async function run(instances: number, dbUri: string, counter: DbCounter, ferretPid: number | undefined): Promise<RunResult> {
  const dbName = `whole_call_${instances}_${Date.now().toString(36)}`;
  const began = Date.now();
  progress(`${instances} instance(s): starting, signing in ${AGENTS} agents`);
  const sim = await ContactCenterSim.start({
    instances,
    agents: AGENTS,
    mongodbUri: databaseUri(counter.uri, dbName),
    env: { RING_SECONDS: '20', WRAP_UP_SECONDS: '0', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' },
    built: true,
    refreshingPages: REFRESHING_PAGES,
    timing: TIMING,
  });
  const ticker = setInterval(() => {
    const calls = [...sim.calls.values()];
    progress(`${instances} instance(s), ${((Date.now() - began) / 1000).toFixed(0)} s: ${calls.length} calls placed, ${calls.filter((c) => c.answeredBy).length} answered, ${sim.customerCallsLive().length} up; ${sim.lb.log.length} webhooks answered`);
  }, 5000);
  try {
    progress(`${instances} instance(s): agents ready after ${((Date.now() - began) / 1000).toFixed(0)} s`);
    const total = Math.round(RATE * (WARM_UP_SECONDS + SECONDS));
    const scripts = scriptMix(total, MIX);
    const calls: Array<Promise<SimCall | undefined>> = [];
    const start = Date.now();
    const countFrom = start + WARM_UP_SECONDS * 1000;
    let cpu0 = { instances: 0, ferretdb: 0, bench: 0, machine: 0 };
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    for (let i = 0; i < total; i += 1) {
      const due = start + (i * 1000) / RATE;
      await sleep(Math.max(0, due - Date.now()));
      if (i === Math.round(RATE * WARM_UP_SECONDS)) {
        counter.start();
        loopDelay.reset();
        loopDelay.enable();
        const own = process.cpuUsage();
        cpu0 = { instances: sim.instances.reduce((sum, inst) => sum + (cpuTimeMs(inst.child.pid) ?? 0), 0), ferretdb: cpuTimeMs(ferretPid) ?? 0, bench: (own.user + own.system) / 1000, machine: machineBusyMs() };
      }
      calls.push(sim.placeCall(scripts[i]!).catch((err: unknown) => void sim.problems.push(`placing a call failed: ${(err as Error).message}`)));
    }
    const arrivalsEnd = Date.now();
    const placed = (await Promise.all(calls)).filter((c): c is SimCall => c !== undefined);
    const ended = await sim.allEnded(DRAIN_SECONDS * 1000);
    await sleep(2000); // the last changes and history writes land
    const windowMs = Date.now() - countFrom;
    const own = process.cpuUsage();
    const cpu = {
      instances: sim.instances.reduce((sum, inst) => sum + (cpuTimeMs(inst.child.pid) ?? 0), 0) - cpu0.instances,
      ferretdb: (cpuTimeMs(ferretPid) ?? 0) - cpu0.ferretdb,
      bench: (own.user + own.system) / 1000 - cpu0.bench,
      machine: machineBusyMs() - cpu0.machine,
    };
    const dbCommands = counter.stop();
    loopDelay.disable();
    const ownLoopDelay = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
    const dbShapes = counter.shapes();
    const dbLatency = new Map([...counter.latencies()].map(([command, ms]) => [command, stats(ms)]));
    const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

    const counted = sim.lb.log.filter((r) => r.at >= countFrom).sort((a, b) => a.at - b.at);
    const countedCalls = placed.filter((c) => c.placedAt >= countFrom);
    const firstRings = countedCalls.map((c) => {
      const ring = c.rings.filter((r) => r.cause === 'routing').sort((a, b) => a.rangAt - b.rangAt)[0];
      return ring ? ring.rangAt - Math.min(c.placedAt, c.incomingAt ?? Infinity) : Infinity;
    });
    // A database that stopped answering (the embedded FerretDB did once, overloaded) is a finding, not a hang.
    const check = (): Promise<string[]> => Promise.race([strandedProblems(sim), sleep(30_000).then(() => ['the database did not answer the stranded-call check within 30 s'])]);
    // What is left 2 s after the last call ended may still be on its way out (a ring being cancelled behind slow
    // webhooks): it counts as stranded only if it is still there 10 s later.
    const late = await check();
    const stranded = late.length > 0 ? (await sleep(10_000), await check()) : late;
    if (stranded.length > 0) saveStranded(sim, stranded);
    if (!ended) stranded.unshift(`some calls were still up ${DRAIN_SECONDS} s after the last arrival`);
    const otherProblems = [...sim.problems, ...offerProblems(sim), ...refusedWebhooks(sim)];
    const result: RunResult = {
      instances,
      webhooks: new Map([...byPath(counted)].map(([p, ms]) => [p, stats(ms)])),
      all: stats(counted.map((r) => r.ms)),
      bare: new Map(),
      bareAll: stats([]),
      firstRing: stats(firstRings),
      calls: placed.length,
      counted: countedCalls.length,
      arrivalRate: countedCalls.length / ((arrivalsEnd - countFrom) / 1000),
      stranded,
      late: late.length,
      otherProblems,
      toldSorry: sim.toldSorry().length,
      pageRequests: new Map(sim.pageRequests),
      dbCommands,
      dbShapes,
      dbLatency,
      windowMs,
      cpu,
      ownLoopDelay,
      loadavg,
    };
    clearInterval(ticker);
    await sim.stop();
    saveOutputs(sim);
    progress(`${instances} instance(s): the same ${counted.length} webhooks again, to a bare server`);
    const bare = await replayOnBareServer(counted);
    result.bare = new Map([...byPath(bare)].map(([p, ms]) => [p, stats(ms)]));
    result.bareAll = stats(bare.map((r) => r.ms));
    return result;
  } catch (err) {
    clearInterval(ticker);
    await sim.stop();
    saveOutputs(sim);
    throw err;
  }
}

const f = (ms: number): string => (Number.isFinite(ms) ? (ms < 10 ? ms.toFixed(1) : ms.toFixed(0)) : '∞');

function report(r: RunResult): void {
  const secs = r.windowMs / 1000;
  console.log(`\n${r.instances} instance${r.instances > 1 ? 's' : ''}${r.instances > 1 ? ' behind the load balancer' : ''}: ${r.counted} calls counted at ${r.arrivalRate.toFixed(1)}/s (${r.calls} placed with the warm-up), ${r.all.n} webhooks counted; load average at the end ${r.loadavg}`);
  console.log(`${'webhook (ms)'.padEnd(42)} ${'n'.padStart(5)} ${'p50'.padStart(6)} ${'p99'.padStart(6)} ${'max'.padStart(6)}   bare p50/p99   ×bare p50  ×bare p99`);
  const rows = [...r.webhooks].sort((a, b) => b[1].n - a[1].n);
  rows.push(['every webhook', r.all]);
  for (const [p, s] of rows) {
    const bare = p === 'every webhook' ? r.bareAll : r.bare.get(p);
    console.log(`${`POST ${p}`.padEnd(42)} ${String(s.n).padStart(5)} ${f(s.p50).padStart(6)} ${f(s.p99).padStart(6)} ${f(s.max).padStart(6)}   ${bare ? `${f(bare.p50)}/${f(bare.p99)}`.padStart(12) : '-'.padStart(12)}   ${bare ? `x${(s.p50 / bare.p50).toFixed(1)}`.padStart(8) : ''}  ${bare ? `x${(s.p99 / bare.p99).toFixed(1)}`.padStart(8) : ''}`);
  }
  console.log(`call -> first agent's phone ringing: p50=${f(r.firstRing.p50)}ms p99=${f(r.firstRing.p99)}ms max=${f(r.firstRing.max)}ms (n=${r.firstRing.n})`);
  console.log(`calls stranded: ${r.stranded.length}${r.stranded.length > 0 ? ` (${r.stranded.slice(0, 5).join('; ')})` : ''} (2 s after the last call: ${r.late}, 10 s later: ${r.stranded.length}); told sorry: ${r.toldSorry}; other problems: ${r.otherProblems.length}${r.otherProblems.length > 0 ? ` (${r.otherProblems.slice(0, 3).join('; ')})` : ''}`);
  const pages = [...r.pageRequests].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`page requests over the whole run: ${pages}`);
  const commands = [...r.dbCommands.values()].reduce((a, b) => a + b, 0);
  const perCall = (key: string): string => ((r.dbCommands.get(key) ?? 0) / r.counted).toFixed(1);
  const top = [...r.dbCommands].sort((a, b) => b[1] - a[1]).slice(0, COMMANDS_SHOWN).map(([k, n]) => `${k} ${(n / secs).toFixed(0)}/s`).join(', ');
  console.log(`database commands: ${(commands / secs).toFixed(0)}/s, ${(commands / r.counted).toFixed(0)} per call counted; most: ${top}`);
  // FerretDB reads every document of a collection for any filter but `{ _id }` alone: those scans are its cost.
  const scans = [...r.dbShapes].filter(([k]) => k.includes(' scan')).sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.BENCH_SCANS_SHOWN ?? 10));
  console.log(`database scans (every document read): ${scans.map(([k, n]) => `${k} ${(n / secs).toFixed(1)}/s`).join(', ') || 'none'}`);
  console.log(`per call: lease inserts ${perCall('insert call_leases')}, lease waits (a lease found held, read) ${perCall('find call_leases')}, call reads ${perCall('find calls')}, call updates ${perCall('update calls')}`);
  const cores = os.cpus().length;
  const ours = r.cpu.instances + r.cpu.ferretdb + r.cpu.bench;
  const slowest = [...r.dbLatency].sort((a, b) => b[1].n * b[1].p50 - a[1].n * a[1].p50).slice(0, 6);
  console.log(`database answer times (ms, as the app sees them through the counting proxy): ${slowest.map(([k, st]) => `${k} p50 ${st.p50.toFixed(1)} p99 ${st.p99.toFixed(0)}`).join(', ')}`);
  console.log(`this process's event-loop delay (in every timing above, as the load balancer is here): p50 ${r.ownLoopDelay.p50.toFixed(0)} ms, p99 ${r.ownLoopDelay.p99.toFixed(0)} ms, max ${r.ownLoopDelay.max.toFixed(0)} ms`);
  console.log(`CPU over ${secs.toFixed(0)} s (${cores} cores = ${(cores * 100).toFixed(0)} %): app instances ${((r.cpu.instances / r.windowMs) * 100).toFixed(0)} %, FerretDB ${((r.cpu.ferretdb / r.windowMs) * 100).toFixed(0)} %, this process (simulator, stand-in, load balancer) ${((r.cpu.bench / r.windowMs) * 100).toFixed(0)} %; whole machine ${((r.cpu.machine / r.windowMs) * 100).toFixed(0)} %, of which others ${(((r.cpu.machine - ours) / r.windowMs) * 100).toFixed(0)} %`);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-bench-whole-call-'));
  const server = await startFerretdb({ dataDir, log: () => undefined });
  const counter = await startDbCounter(server.uri);
  const ferretPid = ferretdbProcessesOn(dataDir)[0];
  const results: RunResult[] = [];
  try {
    console.log(`warm-transfer whole-call benchmark: ${AGENTS} signed-in agents (${REFRESHING_PAGES} pages given their state on every change), ${RATE} new calls/s for ${SECONDS} s after a ${WARM_UP_SECONDS} s warm-up, ${DRAIN_SECONDS} s for the last calls to end; mix talk/consult+complete/cold = ${MIX.map(([, n]) => n).join('/')}; ring ~${TIMING.ringMs} ms, talk ${TIMING.talkMs} ms, ${TIMING.afterMs} ms after each step; customers hang up; embedded FerretDB; ${os.cpus().length} cores, Node ${process.version}; load average before: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    for (const n of INSTANCE_COUNTS) {
      const r = await run(n, server.uri, counter, ferretPid);
      results.push(r);
      report(r);
    }
    const one = results.find((r) => r.instances === 1);
    const three = results.find((r) => r.instances === 3);
    console.log('');
    if (one) {
      const worst = [...one.webhooks].sort((a, b) => b[1].p99 - a[1].p99)[0];
      const met = worst ? worst[1].p99 < GOAL_P99_MS : false;
      console.log(`goal, one instance: every webhook p99 < ${GOAL_P99_MS} ms at ${RATE} calls/s: ${met ? 'met' : 'missed'} (worst: POST ${worst?.[0]} p99 ${f(worst?.[1].p99 ?? NaN)} ms${met ? '' : `, x${((worst?.[1].p99 ?? NaN) / GOAL_P99_MS).toFixed(1)} the goal`})`);
    }
    if (one && three) {
      const worst = [...three.webhooks].map(([p, s]) => [p, s.p99 / (one.webhooks.get(p)?.p99 ?? NaN)] as const).sort((a, b) => b[1] - a[1])[0];
      const met = (worst?.[1] ?? Infinity) <= GOAL_THREE_OVER_ONE;
      console.log(`goal, three instances: every webhook p99 within ${GOAL_THREE_OVER_ONE}x one instance's: ${met ? 'met' : 'missed'} (worst: POST ${worst?.[0]} x${(worst?.[1] ?? NaN).toFixed(2)}); every webhook p99 three/one: x${(three.all.p99 / one.all.p99).toFixed(2)}`);
    }
    const stranded = results.reduce((sum, r) => sum + r.stranded.length, 0);
    console.log(`calls stranded: ${stranded} (must be 0)`);
  } finally {
    await counter.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);

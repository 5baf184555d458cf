// GET /metrics: Prometheus's text format, read by a real text-format parser; webhooks by route pattern and status
// with latency histograms, the line, agents by presence, the database; REST outcomes; and who may read it — loopback
// without a token, anyone with METRICS_TOKEN, nobody else.
import os from 'node:os';
import express from 'express';
import request from 'supertest';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { fakeSid, useAppSuite } from './helpers/app';
import { createOpsMetrics, restOutcomeOf, webhookRouteOf } from '../src/observability/prometheus';
import { metricsRouter } from '../src/routes/metrics';
import type { TwilioRest } from '../src/twilio/rest';

const suite = useAppSuite({ env: { HOST: '0.0.0.0' } });

const family = (text: string, name: string) => parsePrometheusTextFormat(text).find((f) => f.name === name);

/**
 * A histogram's series counts by their labels ('route=…,method=…'), from its `_count` lines: the parser keeps the
 * family and its type but folds a labelled histogram's series into one (it follows prom2json's unlabelled shape).
 */
function histogramCounts(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_count\\{([^}]*)\\} (\\S+)$`, 'gm'))) out.set(m[1]!.replaceAll('"', ''), Number(m[2]));
  return out;
}

test('when this machine reads /metrics after calls came in, then the text parses and has the webhooks, the line, agents and the database — and no caller number', async () => {
  const callSid = fakeSid();
  await suite.app.webhook('/conference/connect/client', { CallSid: callSid, From: '+15550009999', To: '+15557654321', CallStatus: 'ringing' }).expect(200);
  await suite.app.http().post('/conference/connect/client').type('form').send({ CallSid: fakeSid() }).expect(400);

  const res = await suite.app.http().get('/metrics');

  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  const parsed = parsePrometheusTextFormat(res.text);
  expect(parsed.length).toBeGreaterThan(10);
  const webhooks = family(res.text, 'warm_transfer_webhook_duration_seconds')!;
  expect(webhooks.type).toBe('HISTOGRAM');
  expect(Object.keys(webhooks.metrics[0]!.buckets!)).toContain('0.05');
  const byRoute = histogramCounts(res.text, 'warm_transfer_webhook_duration_seconds');
  expect(byRoute.get('route=/conference/connect/client,method=POST,status=200')).toBe(1);
  expect(byRoute.get('route=/conference/connect/client,method=POST,status=400')).toBe(1);
  expect(family(res.text, 'warm_transfer_calls_waiting')!.metrics[0]!.value).toBe('1');
  expect(family(res.text, 'warm_transfer_agents')!.metrics.map((m) => m.labels!.presence).sort()).toEqual(['available', 'away', 'offline', 'on-call', 'ringing', 'wrap-up']);
  expect(family(res.text, 'warm_transfer_database_ready')!.metrics[0]!.value).toBe('1');
  expect(family(res.text, 'warm_transfer_database_restarts_total')!.type).toBe('COUNTER');
  expect(family(res.text, 'warm_transfer_process_cpu_seconds_total')).toBeDefined();
  expect(res.text).not.toContain('+1555');
  expect(res.text).not.toContain(callSid);
});

test('when a client that is not this machine reads /metrics without a token, then it is refused and reads nothing', async () => {
  const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
  const viaProxy = await suite.app.http().get('/metrics').set('X-Forwarded-For', '203.0.113.9');

  expect(viaProxy.status).toBe(403);
  expect(viaProxy.text).not.toContain('warm_transfer_');
  // A browser on this machine sent there by another site (DNS rebinding) names that site as the Host.
  const rebound = await suite.app.http().get('/metrics').set('Host', 'evil.example');
  expect(rebound.status).toBe(403);
  expect(rebound.text).not.toContain('warm_transfer_');
  expect((await suite.app.http().get('/metrics').set('Host', 'localhost:9')).status).toBe(200);
  if (external) {
    const remote = await request(`http://${external.address}:${suite.app.running.port}`).get('/metrics');
    expect(remote.status).toBe(403);
    expect(remote.text).toContain('METRICS_TOKEN');
  }
});

test('when METRICS_TOKEN is set, then only a scraper presenting it as a bearer token reads the metrics, from anywhere', async () => {
  const ops = createOpsMetrics({ defaultMetrics: false });
  const app = express().use(metricsRouter({ registry: ops.registry, token: 'scrape-token-0123456789' }));

  const none = await request(app).get('/metrics');
  const wrong = await request(app).get('/metrics').set('Authorization', 'Bearer scrape-token-wrong-000000');
  const right = await request(app).get('/metrics').set('Authorization', 'Bearer scrape-token-0123456789').set('X-Forwarded-For', '203.0.113.9');

  expect(none.status).toBe(401);
  expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
  expect(wrong.status).toBe(401);
  expect(right.status).toBe(200);
  expect(parsePrometheusTextFormat(right.text).map((f) => f.name)).toContain('warm_transfer_twilio_rest_requests_total');
});

test('when REST calls to Twilio succeed or fail, then each is counted by operation and outcome, and timed', async () => {
  const ops = createOpsMetrics({ defaultMetrics: false });
  const failures = [Object.assign(new Error('rate'), { status: 429 }), Object.assign(new Error('down'), { status: 503 }), Object.assign(new Error('gone'), { status: 404 }), new Error('socket hang up')];
  const fake: TwilioRest = {
    dial: async () => ({ sid: 'CA1' }),
    hangUp: async () => {
      throw failures.shift();
    },
    callStatus: async () => 'completed',
    redirect: async () => undefined,
    hold: async () => undefined,
    addParticipant: async () => ({ callSid: 'CA2' }),
    updateParticipant: async () => undefined,
  };
  const rest = ops.countRest(fake);

  await rest.dial({ to: 'client:ada', from: '+15557654321', url: 'https://example.test/x' });
  for (let i = 0; i < 4; i += 1) await rest.hangUp('CA2').catch(() => undefined);
  const text = await ops.registry.metrics();

  const counted = family(text, 'warm_transfer_twilio_rest_requests_total')!.metrics.map((m) => `${m.labels!.operation} ${m.labels!.outcome} ${m.value}`).sort();
  expect(counted).toEqual(['dial success 1', 'hang_up client_error 1', 'hang_up no_answer 1', 'hang_up rate_limited 1', 'hang_up server_error 1']);
  expect(family(text, 'warm_transfer_twilio_rest_duration_seconds')!.type).toBe('HISTOGRAM');
  expect(histogramCounts(text, 'warm_transfer_twilio_rest_duration_seconds').get('operation=hang_up')).toBe(4);
  expect(restOutcomeOf({ status: 500 })).toBe('server_error');
  expect(webhookRouteOf('/CA123/agents/ada/status')).toBe('/conference/:conferenceId/agents/:agentId/status');
  expect(webhookRouteOf('/nothing/here/at/all')).toBe('other');
});

// Start-up on the embedded defaults and a clean stop: what `npm start` does with no configuration.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import request from 'supertest';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startServer } from '../src/runtime';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('when nothing is configured, then the app starts its own FerretDB and the demo stand-in, and stopping it stops both', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'warm-transfer-lifecycle-'));
  const logs: string[] = [];
  const config = parseConfig({ PORT: '0', DATA_DIR: dataDir });

  const running = await startServer({ config, logger: createLogger('info', (line) => logs.push(line)), accessLog: false });
  try {
    const embedded = running.db.embedded!;
    expect(embedded).toBeDefined();
    expect(await accepts(embedded.port)).toBe(true);
    expect(existsSync(path.join(dataDir, 'ferretdb'))).toBe(true);
    expect((await request(running.url).get('/healthz')).body).toEqual({ ok: true, mode: 'local' });
    expect((await request(running.url).get('/phone')).status).toBe(200);
    const credentials = running.config.twilio;
    const rest = await request(running.url).get(`/twilio-local/2010-04-01/Accounts/${credentials.accountSid}/Calls.json`).auth(credentials.apiKey, credentials.apiSecret);
    expect(rest.status).toBe(200);
    expect(rest.body.calls).toEqual([]);

    await running.stop();
    await running.stop(); // idempotent

    expect(await accepts(embedded.port)).toBe(false);
    expect(await accepts(running.port)).toBe(false);
    expect(logs.some((line) => line.includes('embedded FerretDB started'))).toBe(true);
  } finally {
    await running.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

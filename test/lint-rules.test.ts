// The lint rule that keeps the domain pure, checked by linting code that breaks it (the eslint CLI, the project's config).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** The no-restricted-imports messages eslint gives `source` as if it were `file`. */
function problems(file: string, source: string): string[] {
  const run = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/eslint/bin/eslint.js'), '--stdin', '--stdin-filename', file, '--format', 'json'], { cwd: ROOT, input: source, encoding: 'utf8' });
  const [result] = JSON.parse(run.stdout) as Array<{ messages: Array<{ ruleId: string | null; message: string }> }>;
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('when domain code imports mongoose, express, twilio or a model, service or route, then lint refuses it; elsewhere it may', () => {
  const source = ["import { Schema } from 'mongoose';", "import express from 'express';", "import twilio from 'twilio';", "import type { CallStore } from '../models/call-store';", "import type { Routing } from '../services/routing';", 'export const used: unknown[] = [Schema, express, twilio, {} as CallStore, {} as Routing];', ''].join('\n');

  expect(problems('src/contact-center/probe.ts', source)).toHaveLength(5);
  expect(problems('src/services/probe.ts', source)).toEqual([]);
  expect(problems('src/contact-center/probe.ts', "import { agentLabel } from './participants';\nexport const label = agentLabel('ana');\n")).toEqual([]);
}, 60_000);

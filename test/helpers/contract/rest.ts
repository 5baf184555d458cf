// Checks one REST request (or answer) against its operation in Twilio's OpenAPI spec: known parameters only, required
// ones present, enums and formats valid, repeated form keys read as arrays.
import Ajv, { type ErrorObject } from 'ajv';
import { findOperation, SPEC_SOURCE, type ParameterRule } from './spec';
import type { Violation } from './registry';

/** Form or query parameters as parsed: a key given more than once is an array. */
export type FormParams = Record<string, string | string[] | undefined>;

export interface RestRequest {
  method: string;
  /** The request path; anything before /2010-04-01/ (a mount point) is ignored. */
  path: string;
  form: FormParams;
  query?: FormParams;
}

export interface RestAnswer {
  method: string;
  path: string;
  status: number;
  /** The parsed JSON body (undefined or '' for none). */
  body: unknown;
}

/** Twilio's error body (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions). */
const ERROR_SOURCE = 'https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions';
const validateErrorBody = new Ajv({ allErrors: true }).compile({
  type: 'object',
  required: ['code', 'message', 'more_info', 'status'],
  properties: { code: { type: 'integer' }, message: { type: 'string' }, more_info: { type: 'string' }, status: { type: 'integer' } },
  additionalProperties: false,
});

function values(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The name of the parameter (or property path) an ajv error is about. */
function subject(error: ErrorObject): string | undefined {
  if (error.keyword === 'required') return String((error.params as { missingProperty: string }).missingProperty);
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    return error.instancePath ? `${error.instancePath.slice(1).replace(/\//g, '.')}.${extra}` : extra;
  }
  return error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : undefined;
}

function describe(error: ErrorObject, data: unknown): string {
  if (error.keyword === 'required') return 'is required but missing';
  if (error.keyword === 'additionalProperties') return 'is not defined by the spec for this operation';
  let value: unknown = data;
  for (const part of error.instancePath.split('/').slice(1)) value = (value as Record<string, unknown> | undefined)?.[part];
  const shown = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  if (error.keyword === 'enum') return `must be one of ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}${shown}`;
  return `${error.message ?? 'is invalid'}${shown}`;
}

function toViolations(where: string, errors: ErrorObject[] | null | undefined, data: unknown, source: string): Violation[] {
  return (errors ?? []).map((e) => ({ where, parameter: subject(e), message: describe(e, data), source }));
}

function checkDescribedValues(where: string, rule: ParameterRule, items: string[]): Violation[] {
  if (!rule.describedValues) return [];
  return items
    .filter((item) => !rule.describedValues?.includes(item))
    .map((item) => ({
      where,
      parameter: rule.name,
      message: `must be one of ${JSON.stringify(rule.describedValues)} as its spec description says (got ${JSON.stringify(item)})`,
      source: SPEC_SOURCE,
    }));
}

/** Every way `request` leaves the spec; empty when it is valid. */
export function checkRestRequest(request: RestRequest): Violation[] {
  const found = findOperation(request.method, request.path);
  if (!found) {
    return [{ where: `REST request ${request.method} ${request.path}`, message: 'matches no operation of the 2010-04-01 API', source: SPEC_SOURCE }];
  }
  const { operation, pathParams } = found;
  const where = `REST request ${operation.operationId} (${operation.method} ${operation.template})`;
  const out: Violation[] = [];

  for (const p of operation.pathParameters) {
    const value = pathParams[p.name];
    if (!p.validate(value)) out.push(...toViolations(where, p.validate.errors, value, SPEC_SOURCE).map((v) => ({ ...v, parameter: p.name })));
  }

  for (const [name, value] of Object.entries(request.query ?? {})) {
    const q = operation.queryParameters.get(name);
    if (!q) out.push({ where, parameter: name, message: 'is not a query parameter of this operation', source: SPEC_SOURCE });
    else if (!q.validate(values(value)[0])) out.push(...toViolations(where, q.validate.errors, values(value)[0], SPEC_SOURCE).map((v) => ({ ...v, parameter: name })));
  }

  const keys = Object.keys(request.form).filter((k) => request.form[k] !== undefined);
  if (!operation.body) {
    for (const k of keys) out.push({ where, parameter: k, message: 'is sent, but this operation takes no form body', source: SPEC_SOURCE });
    return out;
  }
  const data: Record<string, unknown> = {};
  for (const name of keys) {
    const given = values(request.form[name]);
    const rule = operation.body.rules.get(name);
    if (!rule) {
      out.push({ where, parameter: name, message: 'is not defined by the spec for this operation', source: SPEC_SOURCE });
      continue;
    }
    if (rule.repeatable) {
      const items = rule.spaceSeparated ? given.flatMap((v) => v.split(/\s+/).filter(Boolean)) : given;
      out.push(...checkDescribedValues(where, rule, items));
      data[name] = items;
    } else {
      if (given.length > 1) out.push({ where, parameter: name, message: `is repeated ${given.length} times but takes one value`, source: SPEC_SOURCE });
      out.push(...checkDescribedValues(where, rule, given.slice(0, 1)));
      data[name] = given[0];
    }
  }
  if (!operation.body.validate(data)) out.push(...toViolations(where, operation.body.validate.errors, data, SPEC_SOURCE));
  return out;
}

/** Every way `answer` leaves the spec's response for its operation and status; empty when it is valid. */
export function checkRestAnswer(answer: RestAnswer): Violation[] {
  const found = findOperation(answer.method, answer.path);
  if (!found) {
    return [{ where: `REST answer to ${answer.method} ${answer.path}`, message: 'matches no operation of the 2010-04-01 API', source: SPEC_SOURCE }];
  }
  const { operation } = found;
  const where = `REST answer ${answer.status} to ${operation.operationId} (${operation.method} ${operation.template})`;
  if (answer.status >= 400) {
    return validateErrorBody(answer.body) ? [] : toViolations(where, validateErrorBody.errors, answer.body, ERROR_SOURCE);
  }
  const expected = operation.responses.get(answer.status);
  if (!expected) {
    const listed = [...operation.responses.keys()].join(', ');
    return [{ where, message: `status ${answer.status} is not a response of this operation (the spec lists ${listed})`, source: SPEC_SOURCE }];
  }
  if (expected === 'empty') {
    const empty = answer.body === undefined || answer.body === null || answer.body === '';
    return empty ? [] : [{ where, message: 'must have no body', source: SPEC_SOURCE }];
  }
  return expected(answer.body) ? [] : toViolations(where, expected.errors, answer.body, SPEC_SOURCE);
}

// Twilio's own OpenAPI definition of the 2010-04-01 REST API (twilio-oai, shipped in an npm package), compiled into
// JSON-schema validators for each operation's form body, path parameters and responses.
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { DOMParser } from '@xmldom/xmldom';

const SPEC_PACKAGE = '@twilio-alpha/mcp';
const SPEC_FILE = 'twilio-oai/spec/json/twilio_api_v2010.json';
const FORM = 'application/x-www-form-urlencoded';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface SpecParameter {
  name: string;
  in: string;
  required?: boolean;
  schema: JsonObject;
}

interface SpecOperation {
  operationId: string;
  parameters?: SpecParameter[];
  requestBody?: { content: Record<string, { schema: JsonObject }> };
  responses: Record<string, { content?: Record<string, { schema: JsonObject }> }>;
}

interface Spec {
  paths: Record<string, Partial<Record<'get' | 'post' | 'delete', SpecOperation>>>;
  components: { schemas: Record<string, JsonObject> };
}

function loadSpec(): { spec: Spec; source: string } {
  const pkgJson = require.resolve(`${SPEC_PACKAGE}/package.json`);
  const version = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const file = path.join(path.dirname(pkgJson), SPEC_FILE);
  return { spec: JSON.parse(fs.readFileSync(file, 'utf8')) as Spec, source: `${SPEC_FILE} (npm ${SPEC_PACKAGE}@${version})` };
}

const loaded = loadSpec();
/** Names the artefact every REST rule comes from. */
export const SPEC_SOURCE = loaded.source;
const SCHEMA_ID = 'twilio_api_v2010';

// ---------- formats ----------

/** E.164, as Twilio writes phone numbers (https://www.twilio.com/docs/glossary/what-e164). */
const E164 = /^\+[1-9]\d{1,14}$/;
/** RFC 2822 dates as Twilio writes them, e.g. `Tue, 31 Aug 2010 20:36:28 +0000`. */
const RFC2822 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;

/** A TwiML document: well-formed XML whose root is <Response> (https://www.twilio.com/docs/voice/twiml#the-response-element). */
export function isTwimlDocument(xml: string): boolean {
  let ok = true;
  try {
    const doc = new DOMParser({ onError: (level) => void (level !== 'warning' && (ok = false)) }).parseFromString(xml, 'text/xml');
    return ok && doc.documentElement?.nodeName === 'Response';
  } catch {
    return false; // xmldom throws on fatal errors
  }
}

/**
 * The spec's own formats. `endpoint` (To/From): an E.164 number, `client:<identity>` or a `sip:` address, per the
 * CreateCall `To` description. `uri` is an absolute http(s) URL in requests (Twilio calls it back), but a reference in
 * responses (Twilio answers `uri`, `first_page_uri`, … relative to https://api.twilio.com).
 */
function addTwilioFormats(ajv: Ajv, uri: 'absolute' | 'reference'): void {
  addFormats(ajv, ['uri', 'uri-reference', 'date', 'date-time', 'int64']);
  if (uri === 'absolute') ajv.addFormat('uri', { type: 'string', validate: (s: string) => /^https?:\/\/[^\s/]+/i.test(s) && URL.canParse(s) });
  else ajv.addFormat('uri', { type: 'string', validate: (s: string) => s.startsWith('/') || URL.canParse(s) });
  ajv.addFormat('date-time-rfc-2822', { type: 'string', validate: (s: string) => RFC2822.test(s) });
  ajv.addFormat('http-method', { type: 'string', validate: (s: string) => /^(GET|POST|PUT|DELETE|HEAD|PATCH)$/.test(s) });
  ajv.addFormat('phone-number', { type: 'string', validate: (s: string) => E164.test(s) });
  ajv.addFormat('endpoint', { type: 'string', validate: (s: string) => E164.test(s) || /^client:[^\s]+$/.test(s) || /^sip:[^\s@]+@[^\s]+$/.test(s) });
  ajv.addFormat('twiml', { type: 'string', validate: isTwimlDocument });
  ajv.addFormat('iso-country-code', { type: 'string', validate: (s: string) => /^[A-Z]{2}$/.test(s) });
  ajv.addFormat('currency', { type: 'string', validate: (s: string) => /^[A-Z]{3}$/.test(s) });
  // Formats the spec puts on objects (never strings): nothing to check beyond the schema itself.
  for (const name of ['uri-map', 'phone-number-capabilities', 'ice-server']) ajv.addFormat(name, { type: 'string', validate: () => true });
}

const KNOWN_FORMATS = new Set(['uri', 'uri-reference', 'date', 'date-time', 'int64', 'date-time-rfc-2822', 'http-method', 'phone-number', 'endpoint', 'twiml', 'iso-country-code', 'currency', 'uri-map', 'phone-number-capabilities', 'ice-server']);

// A new format in a newer spec must be given a meaning here, never silently skipped.
JSON.stringify(loaded.spec, (_key, value: unknown) => {
  const format = (value as { format?: unknown } | null)?.format;
  if (typeof format === 'string' && !KNOWN_FORMATS.has(format)) throw new Error(`contract checker: the Twilio spec uses format "${format}", which the checker does not know`);
  return value;
});

// ---------- schema preparation ----------

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Points the spec's local refs (#/components/...) at the shared schema document. */
function rebaseRefs(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, `"$ref":"${SCHEMA_ID}#/`)) as Json;
}

/** Answers may carry only the properties the spec names: every object schema with `properties` is closed. */
function closeObjects(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (!schema || typeof schema !== 'object') return schema;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' && v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, closeObjects(s)])) : closeObjects(v);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/**
 * OpenAPI 3.0 cannot mark a `$ref` nullable, so the spec's enum schemas never admit null, although some say in their
 * own description that they can be null (e.g. conference_enum_reason_conference_ended: "When a conference is in
 * progress, will be `null`"). Those, and only those, admit null here.
 */
function admitDocumentedNulls(schemas: Record<string, JsonObject>): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const saysNull = Array.isArray(schema.enum) && typeof schema.description === 'string' && /will be `null`/.test(schema.description);
    out[name] = saysNull ? { ...schema, nullable: true, enum: [...(schema.enum as Json[]), null] } : schema;
  }
  return out;
}

/**
 * The values a string parameter's own spec description lists ("Can be: `a`, `b`, or `c`."): the spec leaves several
 * enums in prose only (StatusCallbackEvent, ConferenceStatusCallbackEvent, Beep, …), so the checker reads them there.
 */
export function documentedValues(description: string | undefined): string[] | undefined {
  const sentence = /Can be:\s*([^.]*(?:\.(?!\s|$)[^.]*)*)/.exec(description ?? '')?.[1];
  if (!sentence) return undefined;
  const values = [...sentence.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
  return values.length > 0 ? values : undefined;
}

/** Request parameter schema plus what the checker learns from its description. */
export interface ParameterRule {
  name: string;
  /** A repeatable parameter (an array in the spec): each form value is one item. */
  repeatable: boolean;
  /** "Separate multiple values with a space": one form value may hold several items. */
  spaceSeparated: boolean;
  /** Values listed in the parameter's spec description, when the schema itself has no enum. */
  describedValues?: string[];
}

function parameterRules(properties: Record<string, JsonObject>): Map<string, ParameterRule> {
  const rules = new Map<string, ParameterRule>();
  for (const [name, schema] of Object.entries(properties)) {
    const description = typeof schema.description === 'string' ? schema.description : undefined;
    const repeatable = schema.type === 'array';
    const itemSchema = (repeatable ? schema.items : schema) as JsonObject | undefined;
    const stringish = itemSchema?.type === 'string' && !itemSchema.enum && !itemSchema.$ref && !itemSchema.format;
    rules.set(name, {
      name,
      repeatable,
      spaceSeparated: repeatable && /separate multiple values with a space/i.test(description ?? ''),
      describedValues: stringish ? documentedValues(description) : undefined,
    });
  }
  return rules;
}

// ---------- operations ----------

/** One operation of the spec with its compiled validators. */
export interface Operation {
  operationId: string;
  method: string;
  /** The spec's path template, e.g. /2010-04-01/Accounts/{AccountSid}/Calls.json */
  template: string;
  match(pathname: string): Record<string, string> | undefined;
  pathParameters: Array<{ name: string; validate: ValidateFunction }>;
  queryParameters: Map<string, { required: boolean; validate: ValidateFunction }>;
  /** Undefined when the operation takes no form body. */
  body?: { validate: ValidateFunction; rules: Map<string, ParameterRule> };
  responses: Map<number, ValidateFunction | 'empty'>;
}

const requestAjv = new Ajv({ strict: false, allErrors: true, coerceTypes: true });
const responseAjv = new Ajv({ strict: false, allErrors: true });
addTwilioFormats(requestAjv, 'absolute');
addTwilioFormats(responseAjv, 'reference');
requestAjv.addSchema({ $id: SCHEMA_ID, components: rebaseRefs(clone(loaded.spec.components) as unknown as Json) }, SCHEMA_ID);
const answerComponents = { ...loaded.spec.components, schemas: admitDocumentedNulls(loaded.spec.components.schemas) };
responseAjv.addSchema({ $id: SCHEMA_ID, components: rebaseRefs(closeObjects(clone(answerComponents) as unknown as Json)) }, SCHEMA_ID);

function templateMatcher(template: string): (pathname: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const m = /^\{([^}]+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1] as string);
      return '([^/]+)';
    })
    .join('');
  const re = new RegExp(`^${source}$`);
  return (pathname) => {
    const m = re.exec(pathname);
    if (!m) return undefined;
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1] as string)]));
  };
}

interface Entry {
  method: string;
  match(pathname: string): Record<string, string> | undefined;
  /** Compiled on first use: the spec has hundreds of operations and a test run touches a handful. */
  operation(): Operation;
}

function compileOperation(method: 'get' | 'post' | 'delete', template: string, op: SpecOperation): Operation {
  const params = op.parameters ?? [];
  const formSchema = op.requestBody?.content[FORM]?.schema;
  const responses = new Map<number, ValidateFunction | 'empty'>();
  for (const [status, response] of Object.entries(op.responses)) {
    const schema = response.content?.['application/json']?.schema;
    responses.set(Number(status), schema ? responseAjv.compile(rebaseRefs(closeObjects(clone(schema) as Json)) as object) : 'empty');
  }
  return {
    operationId: op.operationId,
    method: method.toUpperCase(),
    template,
    match: templateMatcher(template),
    pathParameters: params.filter((p) => p.in === 'path').map((p) => ({ name: p.name, validate: requestAjv.compile(rebaseRefs(p.schema) as object) })),
    queryParameters: new Map(
      params.filter((p) => p.in === 'query').map((p) => [p.name, { required: p.required === true, validate: requestAjv.compile(rebaseRefs(p.schema) as object) }]),
    ),
    body: formSchema
      ? {
          validate: requestAjv.compile({ ...(rebaseRefs(clone(formSchema)) as JsonObject), additionalProperties: false }),
          rules: parameterRules((formSchema.properties ?? {}) as Record<string, JsonObject>),
        }
      : undefined,
    responses,
  };
}

const entries: Entry[] = [];
for (const [template, item] of Object.entries(loaded.spec.paths)) {
  for (const method of ['get', 'post', 'delete'] as const) {
    const op = item[method];
    if (!op) continue;
    let compiled: Operation | undefined;
    entries.push({ method: method.toUpperCase(), match: templateMatcher(template), operation: () => (compiled ??= compileOperation(method, template, op)) });
  }
}

/** The spec's operation for `method` and a request path (anything before /2010-04-01/ — a mount point — is ignored). */
export function findOperation(method: string, requestPath: string): { operation: Operation; pathParams: Record<string, string> } | undefined {
  const at = requestPath.indexOf('/2010-04-01/');
  const pathname = at >= 0 ? requestPath.slice(at) : requestPath;
  for (const entry of entries) {
    if (entry.method !== method.toUpperCase()) continue;
    const pathParams = entry.match(pathname);
    if (pathParams) return { operation: entry.operation(), pathParams };
  }
  return undefined;
}

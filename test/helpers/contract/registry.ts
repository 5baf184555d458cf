// The process-wide record of contract violations: checkers write to it, the jest setup file fails the test that caused them.

/** One departure from Twilio's published contract. */
export interface Violation {
  /** What was checked, e.g. `REST request CreateCall (POST /2010-04-01/Accounts/{AccountSid}/Calls.json)`. */
  where: string;
  /** The parameter, property or attribute at fault, when there is one. */
  parameter?: string;
  /** What is wrong, in words. */
  message: string;
  /** The Twilio artefact the rule comes from (the OpenAPI spec, or a doc page URL). */
  source: string;
}

const KEY = Symbol.for('warm-transfer.contract-violations');
type Store = { violations: Violation[] };
const store: Store = ((globalThis as Record<symbol, Store>)[KEY] ??= { violations: [] });

/** Records violations; the running test fails at its end (see setup.ts). */
export function recordViolations(violations: readonly Violation[]): void {
  store.violations.push(...violations);
}

/** Returns and clears everything recorded so far. */
export function takeViolations(): Violation[] {
  return store.violations.splice(0);
}

/** One line per violation, naming where, the parameter, what is wrong and the rule's source. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations
    .map((v) => `- ${v.where}: ${v.parameter ? `parameter \`${v.parameter}\` ` : ''}${v.message} [${v.source}]`)
    .join('\n');
}

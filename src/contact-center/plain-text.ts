// Text that people type and others read or hear (names of agents, queues and wrap-up codes, greetings): control
// characters do not print, and XML (so TwiML) cannot hold most of them; text-direction controls turn the text around
// them on every page.

/** C0 and C1 control characters (tab and newline included: a name or greeting is one line). */
const CONTROL_CHARACTERS = /[\u0000-\u001F\u007F-\u009F]/;
/** Text-direction controls (U+202A–U+202E, U+2066–U+2069). */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;

/** Why `text` cannot be shown or spoken to others as one line, in words about `what` ("The display name"), or undefined. */
export function unfitText(text: string, what: string): string | undefined {
  if (CONTROL_CHARACTERS.test(text)) return `${what} may not contain control characters (such as a tab, a line break or U+0000): they do not print, and a call cannot speak them.`;
  if (BIDI_CONTROLS.test(text)) return `${what} may not contain text-direction control characters: they would turn the text around it on every page.`;
  return undefined;
}

/** A form field's check (zod's superRefine) that refuses unfit text, in words about `what`. */
export function refuseUnfit(what: string) {
  return (text: string, ctx: { addIssue(issue: { code: 'custom'; message: string }): void }): void => {
    const unfit = unfitText(text, what);
    if (unfit) ctx.addIssue({ code: 'custom', message: unfit });
  };
}

/** Characters XML 1.0 cannot hold: most C0 controls, U+FFFE, U+FFFF and unpaired surrogates. */
const NOT_IN_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `text` as TwiML's <Say> can hold it: characters XML cannot hold become spaces. Names are checked when they are
 * saved (unfitText); this keeps a call from failing on one stored before that check, or typed anywhere else.
 */
export function sayable(text: string): string {
  return text.replace(NOT_IN_XML, ' ');
}

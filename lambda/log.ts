/**
 * Structured JSON logs. A token must never reach a log line: callers log names,
 * ARNs, request ids and steps, and this module drops any field whose name says
 * it could hold a credential, as a second line of defence.
 */
const FORBIDDEN_FIELDS = new Set(['key', 'token', 'secretstring', 'secret', 'authorization', 'responseurl']);

export type LogFields = Record<string, unknown>;

function scrub(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [name, value] of Object.entries(fields)) {
    if (FORBIDDEN_FIELDS.has(name.toLowerCase())) continue;
    out[name] = value;
  }
  return out;
}

export function log(level: 'info' | 'warn' | 'error', message: string, fields: LogFields = {}): void {
  const line = JSON.stringify({ level, message, ...scrub(fields) });
  if (level === 'error') console.error(line);
  else console.log(line);
}

/** The name and message of an error, without its stack or request payload. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

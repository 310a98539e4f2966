/**
 * A service error as the stand-ins answer it. How it is put on the wire
 * depends on the protocol (see index.ts):
 * - Amazon Managed Grafana (restJson1): HTTP `status`, header
 *   `x-amzn-ErrorType: <type>`, body `{"message": ..., ...fields}`.
 * - Secrets Manager (awsJson1.1): HTTP `status` (400 for client errors, 500
 *   for InternalServiceError), body `{"__type": <type>, "Message": ...}`.
 */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    /** Extra members of the error structure (e.g. resourceId, resourceType, reason). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }
}

/**
 * Collects model-constraint violations the way AWS's front ends report them:
 * "2 validation errors detected: Value 'x' at 'keyName' failed to satisfy
 * constraint: Member must have length less than or equal to 100; ...".
 */
export class ConstraintChecker {
  readonly problems: Array<{ name: string; message: string }> = [];

  private add(name: string, value: unknown, constraint: string, sensitive = false): void {
    if (sensitive) {
      // AWS leaves sensitive members' values out of validation messages.
      this.problems.push({ name, message: `Value at '${name}' failed to satisfy constraint: ${constraint}` });
      return;
    }
    const shown = value === undefined || value === null ? 'null' : `'${String(value).length > 64 ? `${String(value).slice(0, 64)}...` : String(value)}'`;
    const lead = value === undefined || value === null ? 'Value null' : `Value ${shown}`;
    this.problems.push({ name, message: `${lead} at '${name}' failed to satisfy constraint: ${constraint}` });
  }

  required(name: string, value: unknown): boolean {
    if (value === undefined || value === null) {
      this.add(name, value, 'Member must not be null');
      return false;
    }
    return true;
  }

  string(name: string, value: unknown, opts: { required?: boolean; min?: number; max?: number; pattern?: RegExp; patternText?: string; enum?: readonly string[]; sensitive?: boolean } = {}): value is string {
    const sens = !!opts.sensitive;
    if (value === undefined || value === null) {
      if (opts.required) this.add(name, value, 'Member must not be null');
      return false;
    }
    if (typeof value !== 'string') {
      this.add(name, value, 'Member must be a string', sens);
      return false;
    }
    let ok = true;
    if (opts.min !== undefined && value.length < opts.min) { this.add(name, value, `Member must have length greater than or equal to ${opts.min}`, sens); ok = false; }
    if (opts.max !== undefined && value.length > opts.max) { this.add(name, value, `Member must have length less than or equal to ${opts.max}`, sens); ok = false; }
    if (opts.pattern && !opts.pattern.test(value)) { this.add(name, value, `Member must satisfy regular expression pattern: ${opts.patternText ?? opts.pattern.source}`, sens); ok = false; }
    if (opts.enum && !opts.enum.includes(value)) { this.add(name, value, `Member must satisfy enum value set: [${opts.enum.join(', ')}]`, sens); ok = false; }
    return ok;
  }

  integer(name: string, value: unknown, opts: { required?: boolean; min?: number; max?: number } = {}): value is number {
    if (value === undefined || value === null) {
      if (opts.required) this.add(name, value, 'Member must not be null');
      return false;
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.add(name, value, 'Member must be an integer');
      return false;
    }
    let ok = true;
    if (opts.min !== undefined && value < opts.min) { this.add(name, value, `Member must have value greater than or equal to ${opts.min}`); ok = false; }
    if (opts.max !== undefined && value > opts.max) { this.add(name, value, `Member must have value less than or equal to ${opts.max}`); ok = false; }
    return ok;
  }

  list(name: string, value: unknown, opts: { required?: boolean; min?: number; max?: number } = {}): value is unknown[] {
    if (value === undefined || value === null) {
      if (opts.required) this.add(name, value, 'Member must not be null');
      return false;
    }
    if (!Array.isArray(value)) {
      this.add(name, value, 'Member must be a list');
      return false;
    }
    let ok = true;
    if (opts.min !== undefined && value.length < opts.min) { this.add(name, `[${value.length} items]`, `Member must have length greater than or equal to ${opts.min}`); ok = false; }
    if (opts.max !== undefined && value.length > opts.max) { this.add(name, `[${value.length} items]`, `Member must have length less than or equal to ${opts.max}`); ok = false; }
    return ok;
  }

  /** Throws the collected problems, if any, as `makeError(message, fieldList)`. */
  throwIfAny(makeError: (message: string, fieldList: Array<{ name: string; message: string }>) => ServiceError): void {
    if (this.problems.length === 0) return;
    const n = this.problems.length;
    const message = `${n} validation error${n === 1 ? '' : 's'} detected: ${this.problems.map((p) => p.message).join('; ')}`;
    throw makeError(message, [...this.problems]);
  }
}

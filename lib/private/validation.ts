/** Synth-time validation. Each error names the property, the allowed range and the value given. */
import { Duration, Token } from 'aws-cdk-lib';
import { GRAFANA_ROLES, LIMITS, NAME_SUFFIX_LENGTH, WORKSPACE_ID_PATTERN } from './contract';

export function validateWorkspaceId(owner: string, workspaceId: string): void {
  if (Token.isUnresolved(workspaceId)) return;
  if (!WORKSPACE_ID_PATTERN.test(workspaceId)) {
    throw new Error(`${owner}: workspaceId must be 'g-' followed by 10 lowercase hex digits (e.g. g-0123456789), got '${workspaceId}'`);
  }
}

export function validateRole(owner: string, prop: string, role: string): void {
  if (Token.isUnresolved(role)) return;
  if (!(GRAFANA_ROLES as readonly string[]).includes(role)) {
    throw new Error(`${owner}: ${prop} must be one of GrafanaRole.${GRAFANA_ROLES.join(', GrafanaRole.')}, got '${role}'`);
  }
}

/** Returns the time to live in whole seconds. */
export function validateTimeToLive(owner: string, timeToLive: Duration): number {
  const ms = timeToLive.toMilliseconds();
  const seconds = ms / 1000;
  if (!Number.isInteger(seconds)) {
    throw new Error(`${owner}: timeToLive must be a whole number of seconds, got ${timeToLive.toHumanString()}`);
  }
  if (seconds < 1 || seconds > LIMITS.maxSecondsToLive) {
    throw new Error(`${owner}: timeToLive must be between 1 second and 30 days (${LIMITS.maxSecondsToLive} seconds), got ${timeToLive.toHumanString()} (${seconds} seconds)`);
  }
  return seconds;
}

export function validateNamePrefix(owner: string, prop: string, prefix: string, maxNameLength: number): void {
  if (Token.isUnresolved(prefix)) return;
  const max = maxNameLength - NAME_SUFFIX_LENGTH;
  if (prefix.length < 1 || prefix.length > max) {
    throw new Error(`${owner}: ${prop} must be 1 to ${max} characters, leaving room for the ${NAME_SUFFIX_LENGTH}-character unique suffix within ${maxNameLength}; got ${prefix.length} characters`);
  }
}

export interface RotationSchedule {
  /** Secrets Manager schedule expression, e.g. rate(25 days) or rate(20 hours). */
  readonly scheduleExpression: string;
  /** How long the rotation window stays open after the scheduled time. */
  readonly windowSeconds: number;
  readonly rotateAfterSeconds: number;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * The default rotation interval: five sixths of the lifetime, so the outgoing
 * credential overlaps its successor for a sixth of its life, in the whole
 * hours (under a day) or whole days that Secrets Manager schedules in.
 */
export function defaultRotateAfterSeconds(ttlSeconds: number): number {
  const target = (ttlSeconds * 5) / 6;
  const rounded = target >= DAY ? Math.floor(target / DAY) * DAY : Math.floor(target / HOUR) * HOUR;
  return Math.max(LIMITS.minRotationSeconds, rounded);
}

export function rotationSchedule(owner: string, ttlSeconds: number, rotateAfter: Duration | undefined): RotationSchedule {
  const ttlText = `timeToLive (${Duration.seconds(ttlSeconds).toHumanString()})`;
  if (ttlSeconds <= LIMITS.minRotationSeconds) {
    throw new Error(`${owner}: ${ttlText} is too short to rotate: Secrets Manager rotates at most every 4 hours. Use a timeToLive over 4 hours, or set rotate: false`);
  }
  let seconds: number;
  if (rotateAfter === undefined) {
    seconds = defaultRotateAfterSeconds(ttlSeconds);
  } else {
    seconds = rotateAfter.toMilliseconds() / 1000;
    const given = `rotateAfter (${rotateAfter.toHumanString()})`;
    if (seconds < LIMITS.minRotationSeconds) {
      throw new Error(`${owner}: ${given} must be at least 4 hours, Secrets Manager's shortest rotation interval`);
    }
    if (seconds >= ttlSeconds) {
      throw new Error(`${owner}: ${given} must be shorter than ${ttlText}, or the key expires before it is replaced. Use a rotateAfter of at most ${Duration.seconds(defaultRotateAfterSeconds(ttlSeconds)).toHumanString()}, or a longer timeToLive`);
    }
    if (seconds < DAY ? seconds % HOUR !== 0 : seconds % DAY !== 0) {
      throw new Error(`${owner}: ${given} must be whole hours under a day, or whole days: Secrets Manager schedules rotation with rate(N hours) or rate(N days)`);
    }
  }
  const scheduleExpression = seconds < DAY ? `rate(${seconds / HOUR} hours)` : `rate(${seconds / DAY} days)`;
  // Hour schedules get a one-hour window; day schedules a window up to the end of the UTC day.
  const windowSeconds = seconds < DAY ? HOUR : DAY;
  return { scheduleExpression, windowSeconds, rotateAfterSeconds: seconds };
}

/**
 * The stack-level settings of the credential handler, wherever in the app
 * they are set (GrafanaCredentialsHandler.configure). They live beside the
 * handler, never in its id: a deployed custom resource's ServiceToken cannot
 * change, so no option may pick another function.
 */
import { Duration, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { GrafanaCredentialsHandlerOptions } from '../credential-handler';

export const DEFAULT_MEMORY_SIZE = 256;
export const DEFAULT_HEALTH_CHECK_INTERVAL = Duration.days(1);

type Listener = () => void;

export class HandlerSettings extends Construct {
  static readonly ID = 'GrafanaCredentialsHandlerSettings';

  static of(scope: Construct): HandlerSettings {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(HandlerSettings.ID) as HandlerSettings | undefined) ?? new HandlerSettings(stack, HandlerSettings.ID);
  }

  private readonly options: { -readonly [K in keyof GrafanaCredentialsHandlerOptions]?: GrafanaCredentialsHandlerOptions[K] } = {};
  private readonly listeners: Listener[] = [];

  get healthCheck(): boolean { return this.options.healthCheck ?? true; }
  get healthCheckInterval(): Duration { return this.options.healthCheckInterval ?? DEFAULT_HEALTH_CHECK_INTERVAL; }

  /** Where a metric took the default interval as its period: a later interval would leave that metric's period stale. */
  private periodTakenBy?: string;

  /** The period of a credential's metric: the interval as configured now. */
  metricPeriod(owner: string): Duration {
    if (this.options.healthCheckInterval === undefined) this.periodTakenBy ??= owner;
    return this.healthCheckInterval;
  }
  get memorySize(): number { return this.options.memorySize ?? DEFAULT_MEMORY_SIZE; }
  get reservedConcurrentExecutions(): number | undefined { return this.options.reservedConcurrentExecutions; }

  /** Runs `listener` now and after every change. */
  subscribe(listener: Listener): void {
    this.listeners.push(listener);
    listener();
  }

  configure(options: GrafanaCredentialsHandlerOptions): void {
    const owner = `GrafanaCredentialsHandler.configure(${Stack.of(this).node.path})`;
    validate(owner, options);
    if (options.healthCheckInterval !== undefined && this.options.healthCheckInterval === undefined && this.periodTakenBy !== undefined) {
      throw new Error(`${owner}: healthCheckInterval is set after ${this.periodTakenBy} made a metric with the default period ` +
        `(${DEFAULT_HEALTH_CHECK_INTERVAL.toHumanString()}), which would no longer match the checks. Call configure() before any metric*() method`);
    }
    for (const [name, value] of Object.entries(options) as Array<[keyof GrafanaCredentialsHandlerOptions, unknown]>) {
      if (value === undefined) continue;
      const before = this.options[name];
      if (before !== undefined && text(before) !== text(value)) {
        throw new Error(`${owner}: ${name} is already ${text(before)} from an earlier configure() call of this stack, got ${text(value)}. ` +
          'The stack has one handler: set each option once');
      }
      (this.options as Record<string, unknown>)[name] = value;
    }
    this.listeners.forEach((listener) => listener());
  }
}

const text = (value: unknown) => (value instanceof Duration ? value.toHumanString() : String(value));

function validate(owner: string, options: GrafanaCredentialsHandlerOptions): void {
  const { healthCheckInterval: interval, memorySize, reservedConcurrentExecutions: reserved } = options;
  if (interval !== undefined && !interval.isUnresolved()) {
    const hours = interval.toMilliseconds() / 3_600_000;
    if (!Number.isInteger(hours) || hours < 1 || hours > 24) {
      throw new Error(`${owner}: healthCheckInterval must be whole hours from 1 hour to 1 day (a CloudWatch alarm's period is at most a day), got ${interval.toHumanString()}`);
    }
  }
  if (memorySize !== undefined && !Token.isUnresolved(memorySize) && (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240)) {
    throw new Error(`${owner}: memorySize must be a whole number of MiB from 128 to 10240, got ${memorySize}`);
  }
  if (reserved !== undefined && !Token.isUnresolved(reserved) && (!Number.isInteger(reserved) || reserved < 1)) {
    throw new Error(`${owner}: reservedConcurrentExecutions must be a whole number of at least 1 (0 would stop every CloudFormation event and rotation), got ${reserved}`);
  }
}

import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { HandlerSettings } from './private/handler-settings';

/**
 * Settings of the one handler function a stack's credentials share. They
 * configure that function and its health check; they never pick another
 * function, so changing one never replaces a credential.
 */
export interface GrafanaCredentialsHandlerOptions {
  /**
   * Whether the handler checks every credential of the stack on a schedule and
   * publishes `SecondsUntilExpiry`, `CredentialWorks` and `RotationOverdue`
   * (namespace `GrafanaCredentials`, dimension `SecretName`). Turned off, the
   * schedule, its invoke permission and the handler's `secretsmanager:ListSecrets`
   * permission are not created.
   * @default true
   */
  readonly healthCheck?: boolean;

  /**
   * How often the health check runs: whole hours, from 1 hour to 1 day. The
   * constructs' `metric*()` methods use it as their period, so set it before
   * calling any of them (synth fails otherwise).
   * @default Duration.days(1)
   */
  readonly healthCheckInterval?: Duration;

  /**
   * Memory of the handler function, in MiB: a whole number from 128 to 10,240.
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Concurrent executions reserved for the handler function: a whole number of
   * at least 1. It also caps the function, so CloudFormation events, rotation
   * steps and the health check queue behind one another beyond it.
   * @default - no reserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
}

/** The stack's one credential handler function, configured. */
export class GrafanaCredentialsHandler {
  /**
   * Configures the handler function of the stack that `scope` is in, before or
   * after its credentials are defined. Each option may be set once per stack;
   * setting it again to another value fails at synth.
   */
  static configure(scope: Construct, options: GrafanaCredentialsHandlerOptions): void {
    HandlerSettings.of(scope).configure(options);
  }

  private constructor() {}
}

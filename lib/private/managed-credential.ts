import { Annotations, CustomResource, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { CredentialOptions, SecretOptions } from '../credential-options';
import type { HandlerPlacementOptions } from '../handler-placement';
import { ATTRIBUTES } from './contract';
import { CredentialHandler } from './handler-function';
import { claimUniqueName, parseWorkspaceUrl, rotationSchedule as scheduleFor, validateSecretName } from './validation';

export interface ManagedCredentialOptions {
  readonly owner: string;
  readonly kind: string;
  readonly resourceType: string;
  /** The Amazon Managed Grafana workspace, for the AMG kinds; undefined for self-managed Grafana and kinds outside a workspace. */
  readonly workspaceId?: string;
  /** Kind-specific custom-resource properties (e.g. Role, ServiceAccountId). */
  readonly properties: Record<string, string>;
  readonly namePrefix: string;
  /** Whole seconds; 0 or undefined for a credential that never expires. */
  readonly secondsToLive?: number;
  readonly grafanaActions?: readonly string[];
  readonly secretDescription: string;
  /** What the user set: secret, rotation and (for Grafana kinds) verification options. */
  readonly options: CredentialOptions | SecretOptions;
  /** Where the handler runs; credentials with equal placements share one function. */
  readonly placement?: HandlerPlacementOptions;
  /**
   * Set up on the handler before the custom resource: grants what the kind
   * needs outside a workspace and returns the kind-specific properties that
   * depend on the handler (self-managed Grafana's server, API Gateway's owner tag).
   */
  readonly prepareHandler?: (handler: CredentialHandler) => Record<string, string>;
}

/** Stands in for the lifetime of a credential that never expires when its rotation schedule is checked. */
const NEVER_EXPIRES_SECONDS = Number.MAX_SAFE_INTEGER;
/** How long after issue a credential that never expires is rotated, unless rotateAfter says otherwise. */
const NEVER_EXPIRES_ROTATE_AFTER = Duration.days(30);

export interface ManagedCredential {
  readonly secret: secretsmanager.Secret;
  readonly resource: CustomResource;
  readonly rotationSchedule?: secretsmanager.CfnRotationSchedule;
  /** Name of the credential issued by the latest deployment. */
  readonly credentialName: string;
  /** Name of the secret: the dimension of the credential's metrics. */
  readonly secretName: string;
}

/**
 * What every credential construct is made of, as children of `scope`: a
 * secret, the custom resource that issues into it, and (unless turned off)
 * the rotation schedule that keeps it fresh. Three resources per credential;
 * the handler function is shared by the whole stack.
 */
export function createManagedCredential(scope: Construct, options: ManagedCredentialOptions): ManagedCredential {
  {
    const { secretName: givenSecretName, encryptionKey, removalPolicy, rotateAfter, logRetention } = options.options;
    const { workspaceUrl, verifyRotatedKey: verifyOption } = options.options as CredentialOptions;
    const handler = CredentialHandler.of(scope, options.placement);
    handler.requestLogRetention(logRetention, scope, options.owner);
    const rotate = options.options.rotate ?? true;
    const verifyRotatedKey = verifyOption ?? true;
    const neverExpires = !options.secondsToLive;
    const schedule = !rotate ? undefined : neverExpires
      ? scheduleFor(options.owner, NEVER_EXPIRES_SECONDS, rotateAfter ?? NEVER_EXPIRES_ROTATE_AFTER)
      : scheduleFor(options.owner, options.secondsToLive!, rotateAfter);

    if (givenSecretName !== undefined) validateSecretName(scope, options.owner, givenSecretName);
    // The normalised URL is what the handler compares against the function's environment.
    const verifyUrl = workspaceUrl !== undefined && !Token.isUnresolved(workspaceUrl) ? parseWorkspaceUrl(options.owner, workspaceUrl) : workspaceUrl;

    const secretName = givenSecretName
      ?? `${handler.secretNamePrefix}${scope.node.path.split('/').slice(1).join('/')}`.replace(/[^A-Za-z0-9/_+=.@-]/g, '-').slice(0, 512);
    // Two ids can derive one default name ('A B' and 'A-B'), so default names are claimed too.
    claimUniqueName(scope, {
      owner: options.owner, prop: 'secretName', name: secretName, within: '', withinText: '',
      reason: 'secret names are unique per account and region',
    });
    const secret = new secretsmanager.Secret(scope, 'Secret', {
      secretName,
      description: options.secretDescription,
      encryptionKey,
      removalPolicy: removalPolicy ?? RemovalPolicy.DESTROY,
    });
    const cfnSecret = secret.node.defaultChild as secretsmanager.CfnSecret;
    // An empty secret: the handler writes its first version. A generated placeholder would only be noise.
    cfnSecret.addPropertyDeletionOverride('GenerateSecretString');

    if (options.workspaceId !== undefined && options.grafanaActions) handler.grantWorkspace(options.workspaceId, options.grafanaActions, options.owner);
    const handlerProperties = options.prepareHandler?.(handler) ?? {};
    // Where rotation may send a token is the template's to say: never a tag or the secret's value.
    if (verifyUrl) handler.allowVerifyUrl(verifyUrl);
    handler.grantSecret(givenSecretName === undefined ? handler.secretNamePrefix : givenSecretName, encryptionKey, options.owner);

    const resource = new CustomResource(scope, 'Resource', {
      serviceToken: handler.function.functionArn,
      resourceType: options.resourceType,
      serviceTimeout: Duration.minutes(5),
      properties: {
        Kind: options.kind,
        SecretArn: secret.secretArn,
        ...(options.workspaceId !== undefined ? { WorkspaceId: options.workspaceId } : {}),
        NamePrefix: options.namePrefix,
        ...(options.secondsToLive !== undefined ? { SecondsToLive: String(options.secondsToLive) } : {}),
        ...(verifyUrl ? { VerifyUrl: verifyUrl } : {}),
        ...(verifyRotatedKey ? {} : { VerifyRotatedKey: 'false' }),
        ...options.properties,
        ...handlerProperties,
      },
    });
    // Permissions must exist before the first event arrives.
    resource.node.addDependency(handler.function);
    const credentialName = resource.getAttString(ATTRIBUTES.credentialName);

    let rotationSchedule: secretsmanager.CfnRotationSchedule | undefined;
    if (!schedule) handler.checkUnrotated(secretName, options.owner);
    if (schedule) {
      const permission = handler.allowRotation(secretName, options.owner);
      rotationSchedule = new secretsmanager.CfnRotationSchedule(scope, 'RotationSchedule', {
        secretId: secret.secretArn,
        rotationLambdaArn: handler.function.functionArn,
        rotationRules: { scheduleExpression: schedule.scheduleExpression },
        // Creating the resource already issued a credential; the next one is due on schedule.
        rotateImmediatelyOnUpdate: false,
      });
      rotationSchedule.node.addDependency(resource);
      rotationSchedule.node.addDependency(permission);
      if (!neverExpires && schedule.rotateAfterSeconds + schedule.windowSeconds > options.secondsToLive!) {
        Annotations.of(scope).addWarningV2('grafana-credentials:rotationWindow',
          `rotation runs ${Duration.seconds(schedule.rotateAfterSeconds).toHumanString()} after issue within a window of up to ${Duration.seconds(schedule.windowSeconds).toHumanString()}, ` +
          `which can end after the ${Duration.seconds(options.secondsToLive!).toHumanString()} lifetime: consumers may briefly hold an expired credential. Shorten rotateAfter.`);
      }
    }
    return { secret, resource, rotationSchedule, credentialName, secretName };
  }
}

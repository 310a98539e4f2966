import { Names, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CredentialBase } from './credential-base';
import { SecretOptions } from './credential-options';
import { CredentialKind, LIMITS, NAME_SUFFIX_LENGTH, normaliseHttpsUrl, RESOURCE_TYPES } from './private/contract';
import { createManagedCredential } from './private/managed-credential';
import { claimUniqueName, validateNamePrefix } from './private/validation';

/** Properties of a RotatingApiKey. */
export interface RotatingApiKeyProps extends SecretOptions {
  /**
   * The usage plans the key belongs to: at least 1 and at most 10 (API
   * Gateway's limit per key), each at most once. The handler adds every key it
   * issues to each of them. Changing the list keeps the key: the handler adds
   * it to the plans added and removes it from the plans removed (both keys
   * during a rotation overlap).
   */
  readonly usagePlans: apigateway.IUsagePlan[];

  /**
   * Prefix of the names of the keys this construct issues. Each key is named
   * the prefix plus `-` and 10 hex digits. 1 to 117 ASCII letters, digits,
   * `-`, `_` and `.`, unique among the RotatingApiKeys of one account and
   * region. Changing it issues a new key.
   * @default - derived from the construct path
   */
  readonly apiKeyNamePrefix?: string;

  /**
   * Description of each key in API Gateway. Changing it issues a new key.
   * @default - no description
   */
  readonly description?: string;

  /**
   * AWS Marketplace customer identifier of the keys, when the API is sold
   * through the AWS SaaS Marketplace. Changing it issues a new key.
   * @default - none
   */
  readonly customerId?: string;

  /**
   * Whether callers may use the keys. Changing it issues a new key.
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * An https URL of the API that rotation calls with the new key in the
   * `x-api-key` header before promoting it: rotation fails, and the current
   * key stays, if the API answers 403. Without it rotation still checks that
   * the new key exists, is enabled and is in every usage plan. The URL is
   * taken only from the template; changing it issues a new key.
   * @default - no request to the API
   */
  readonly verifyUrl?: string;
}

/**
 * An Amazon API Gateway REST API key whose value lives only in AWS Secrets
 * Manager. The key is created on create, in every usage plan given; it is
 * reissued when what it is changes, rotated with an overlap (the outgoing key
 * keeps working as AWSPREVIOUS until the next rotation), and deleted with the
 * stack, together with its usage-plan associations.
 *
 * The secret's value is JSON: `{"key", "apiKeyId", "apiKeyName", "usagePlanIds", "expiresAt"}`
 * (`usagePlanIds` comma-separated; API Gateway keys do not expire, so
 * `expiresAt` is 9999-12-31).
 *
 * This construct is deliberately not an `IApiKey`: the key's id changes at
 * every rotation, so `usagePlan.addApiKey()` (an `AWS::ApiGateway::UsagePlanKey`)
 * would point at a deleted key. Give the plans in `usagePlans` instead.
 */
export class RotatingApiKey extends CredentialBase {
  /** The secret that holds the key. Read the value with `secret.secretValueFromJson('key')`. */
  readonly secret: secretsmanager.ISecret;
  /** ARN of the secret. */
  readonly secretArn: string;
  /** Name of the secret: the `SecretName` dimension of the credential's metrics. */
  readonly secretName: string;
  /** Name of the key issued by the latest deployment (rotation issues later ones). */
  readonly apiKeyName: string;

  constructor(scope: Construct, id: string, props: RotatingApiKeyProps) {
    super(scope, id);
    const owner = `RotatingApiKey ${this.node.path}`;
    const plans = props.usagePlans ?? [];
    if (plans.length < 1 || plans.length > LIMITS.usagePlansPerKey) {
      throw new Error(`${owner}: usagePlans must name 1 to ${LIMITS.usagePlansPerKey} usage plans (API Gateway's limit per key), got ${plans.length}. ` +
        'Split the callers over more keys, or merge plans');
    }
    const planIds = plans.map((p) => p.usagePlanId);
    const repeated = plans.find((p, i) => planIds.indexOf(p.usagePlanId) !== i);
    if (repeated) throw new Error(`${owner}: usagePlans names ${repeated.node.path} twice; name each usage plan once`);
    const namePrefix = props.apiKeyNamePrefix
      ?? Names.uniqueResourceName(this, { maxLength: LIMITS.apiGatewayKeyNameMax - NAME_SUFFIX_LENGTH, separator: '-' });
    validateNamePrefix(owner, 'apiKeyNamePrefix', namePrefix, LIMITS.apiGatewayKeyNameMax);
    claimUniqueName(this, {
      owner, prop: 'apiKeyNamePrefix', name: namePrefix, within: 'apigateway', withinText: '',
      reason: 'the handler finds leftover keys by name prefix in the account and region, so each RotatingApiKey needs its own',
    });
    const verifyUrl = props.verifyUrl === undefined || Token.isUnresolved(props.verifyUrl) ? props.verifyUrl : normaliseHttpsUrl(props.verifyUrl);
    if (verifyUrl === undefined && props.verifyUrl !== undefined) {
      throw new Error(`${owner}: verifyUrl must be an absolute https URL without user name, password, query or fragment, e.g. ` +
        `https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/health; got '${props.verifyUrl}'`);
    }

    let usagePlanPolicies: iam.ManagedPolicy[] = [];
    const credential = createManagedCredential(this, {
      owner,
      kind: CredentialKind.API_GATEWAY_KEY,
      resourceType: RESOURCE_TYPES.apiGatewayKey,
      namePrefix,
      properties: {
        UsagePlanIds: planIds.join(','),
        Description: props.description ?? '',
        CustomerId: props.customerId ?? '',
        Enabled: String(props.enabled ?? true),
        ...(verifyUrl ? { VerifyUrl: verifyUrl } : {}),
      },
      prepareHandler: (handler) => {
        usagePlanPolicies = handler.grantApiGatewayKeys(planIds, owner);
        if (verifyUrl) handler.allowVerifyUrl(verifyUrl);
        return { OwnerTag: handler.apiGatewayOwnerTag };
      },
      secretDescription: `Amazon API Gateway API key, managed by ${this.node.path}`,
      options: props,
    });
    // Created before, deleted after the custom resource's update: see grantApiGatewayKeys.
    for (const policy of usagePlanPolicies) credential.resource.node.addDependency(policy);
    this.secret = credential.secret;
    this.secretArn = credential.secret.secretArn;
    this.secretName = credential.secretName;
    this.apiKeyName = credential.credentialName;
  }
}

/**
 * The stack's health-check schedule: one EventBridge rule that invokes the
 * handler with HEALTH_CHECK_EVENT, the permission for that rule alone, and
 * the handler's ListSecrets permission. One per stack, however many
 * credentials; the handler finds them itself (lambda/health-check.ts).
 */
import { Lazy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { HEALTH_CHECK_EVENT } from './contract';
import { acknowledgeFinding } from './handler-policy';
import type { HandlerSettings } from './handler-settings';

export class HealthCheckSchedule extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, fn: lambda.IFunction, role: iam.IRole, settings: HandlerSettings) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Checks every Grafana credential of the stack and publishes its health metrics (cdk-grafana-credentials)',
      schedule: events.Schedule.rate(settings.healthCheckInterval),
    });
    // The interval may be configured after the rule exists; the expression is read at synthesis.
    (this.rule.node.defaultChild as events.CfnRule).scheduleExpression = Lazy.string({
      produce: () => events.Schedule.rate(settings.healthCheckInterval).expressionString,
    });
    const input = events.RuleTargetInput.fromObject(HEALTH_CHECK_EVENT);
    this.rule.addTarget({ bind: () => ({ arn: fn.functionArn, input }) });
    new lambda.CfnPermission(this, 'Invoke', {
      action: 'lambda:InvokeFunction',
      functionName: fn.functionArn,
      principal: 'events.amazonaws.com',
      sourceArn: this.rule.ruleArn,
    });
    const list = new iam.Policy(this, 'ListSecrets', {
      statements: [new iam.PolicyStatement({ sid: 'FindCredentialSecrets', actions: ['secretsmanager:ListSecrets'], resources: ['*'] })],
    });
    role.attachInlinePolicy(list);
    acknowledgeFinding(list, 'AwsSolutions-IAM5[Resource::*]',
      "ListSecrets cannot be scoped to resources in IAM. It returns names and rotation metadata, never values; the health check uses it only to find the stack's default-named credential secrets, whose values the handler may read anyway.");
  }
}

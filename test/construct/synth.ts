/** Shared by construct tests: a stack in a fixed environment, synthesized, and its resources by type. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

export function synth(build: (stack: Stack) => void): { template: any; assert: Template; stack: Stack } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  build(stack);
  const template = app.synth().getStackByName('TestStack').template;
  return { template, assert: Template.fromJSON(template), stack };
}

/** [logical id, resource] of every resource of `type`. */
export const ofType = (template: any, type: string) => Object.entries<any>(template.Resources).filter(([, r]) => r.Type === type);

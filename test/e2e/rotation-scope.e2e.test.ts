/**
 * The deployed handler rotates only its own stack's secrets: a rotation event
 * for another secret, even one under the same path as a named secret of the
 * stack (which the invoke permission's SourceArn lets through), is refused by
 * the bundled handler before any AWS call.
 */
import { randomUUID } from 'crypto';
import { Duration } from 'aws-cdk-lib';
import { WorkspaceApiKey } from '../../lib';
import type { AwsStandIns } from '../testbed/aws/standins';
import type { CfnDriver } from '../testbed/cfn/driver';
import { rotate } from '../testbed/cfn/rotation';
import { newStack, useTestBed } from './harness';

const bed = useTestBed();
let standins: AwsStandIns;
let driver: CfnDriver;
let ws: string;
beforeEach(() => ({ standins, driver, ws } = bed));

test('a rotation event for a secret the stack does not manage is refused with 0 AWS calls; its own secrets still rotate', async () => {
  const stack = newStack();
  new WorkspaceApiKey(stack, 'Key', { workspaceId: ws, timeToLive: Duration.days(7) });
  new WorkspaceApiKey(stack, 'Named', { workspaceId: ws, timeToLive: Duration.days(7), secretName: 'team/grafana/dashboards' });
  await driver.deploy(stack);
  const neighbour = standins.cloudFormationCall('CreateSecret', { Name: 'team/grafana/someone-elses' }).ARN as string;
  const [schedule] = driver.rotationSchedules();
  const fn = driver.functionSpec(schedule.functionLogicalId);

  standins.resetCounts();
  const result = await driver.host.invoke(fn, { Step: 'createSecret', SecretId: neighbour, ClientRequestToken: randomUUID() });
  expect(result.ok).toBe(false);
  expect(result.error?.message).toMatch(new RegExp(`^Refused to rotate secret ${neighbour}: it is not one of the secrets this function manages`));
  expect(standins.counts()).toEqual({});
  expect(result.logs).toContain(`"secretArn":"${neighbour}"`);

  for (const secretArn of [driver.secretArn('KeySecret'), driver.secretArn('NamedSecret')]) {
    expect(await rotate(driver, standins, secretArn)).toMatchObject({ ok: true });
  }
});

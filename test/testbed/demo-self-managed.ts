/**
 * The demo's self-managed part (issue #16): the same lifecycle for a
 * service-account token on a Grafana server beside the workspace, with its
 * admin credential in a secret of its own. Tokens and the admin password are
 * only ever shown masked.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GrafanaRole, GrafanaServiceAccount, GrafanaTtl, SelfManagedGrafana } from '../../lib';
import { AwsStandIns } from './aws/standins';
import { CfnDriver } from './cfn/driver';
import { rotate } from './cfn/rotation';
import { GrafanaServerStandIn } from './grafana/server';

export interface DemoOutput {
  readonly say: (line?: string) => void;
  readonly bold: (text: string) => string;
  readonly check: (ok: boolean, what: string) => void;
  readonly mask: (token: string) => string;
}

export async function selfManagedDemo(standins: AwsStandIns, out: DemoOutput): Promise<void> {
  const { say, check, mask } = out;
  const grafana = await GrafanaServerStandIn.start({ version: '11.3.0', now: () => standins.clock.now() });
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 30_000 });
  try {
    const adminSecretArn: string = standins.cloudFormationCall('CreateSecret', {
      Name: 'ops/grafana-admin', SecretString: JSON.stringify({ user: grafana.adminUser, password: grafana.adminPassword }),
    }).ARN;
    say(`  a self-managed Grafana ${grafana.version} on ${grafana.url}; its admin user and password (${mask(grafana.adminPassword)}) in secret ops/grafana-admin`);
    const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'SelfManagedDemo', { env: { account: '123456789012', region: 'us-east-1' } });
    const server = SelfManagedGrafana.fromAttributes(stack, 'Grafana', {
      url: grafana.url, adminSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', adminSecretArn),
    });
    new GrafanaServiceAccount(stack, 'Ci', { grafana: server, grafanaRole: GrafanaRole.EDITOR }).addToken('Deploy', { timeToLive: GrafanaTtl.parse('1M') });

    const calls = () => {
      const aws = Object.entries(standins.counts()).filter(([k]) => k !== 'GrafanaApiOrg').map(([k, v]) => `${k}×${v}`).join(', ');
      const server = Object.entries(grafana.counts()).map(([k, v]) => `${k}×${v}`).join(', ');
      return `AWS: ${aws || 'none'}; Grafana server: ${server || 'none'}`;
    };
    const current = () => JSON.parse(standins.secret(driver.secretArn('CiDeploySecret'))!.versions.find((v) => v.stages.includes('AWSCURRENT'))!.secretString!);

    say(`    create: GrafanaServiceAccount + addToken('Deploy', { timeToLive: GrafanaTtl.parse('1M') })`);
    standins.resetCounts();
    grafana.resetCounts();
    const created = await driver.deploy(stack);
    check(created.ok, `stack ${created.status}${created.failures.length ? `: ${created.failures.join('; ')}` : ''}`);
    say(`    ${calls()}`);
    const first = current();
    say(`    token ${first.tokenName} of service account ${first.serviceAccountId}, expires ${first.expiresAt} (30 days), AWSCURRENT ${mask(first.key)}`);
    check(grafana.isValid(first.key), 'the token works on the server');

    say('    rotation, 25 simulated days later: verified at GET /api/access-control/user/permissions before promotion');
    standins.clock.advance(25 * 86400 * 1000);
    standins.resetCounts();
    grafana.resetCounts();
    const rotation = await rotate(driver, standins, driver.secretArn('CiDeploySecret'));
    check(rotation.ok, `rotation ${rotation.ok ? 'finished' : `failed at ${rotation.failedStep}: ${rotation.error}`}`);
    say(`    ${calls()}`);
    const second = current();
    check(grafana.isValid(second.key) && grafana.isValid(first.key), `the new token ${second.tokenName} works, and the outgoing one still does (overlap)`);

    standins.resetCounts();
    grafana.resetCounts();
    const destroyed = await driver.destroy();
    check(destroyed.ok, `delete: stack ${destroyed.status}`);
    say(`    ${calls()}`);
    check(grafana.existing().length === 0 && grafana.serviceAccounts().length === 0, `${grafana.existing().length} tokens and ${grafana.serviceAccounts().length} service accounts left on the server`);
    const leaked = grafana.secrets().some((t) => [...driver.responses(), ...driver.logs()].some((text) => text.includes(t)));
    check(!leaked, 'neither a token nor the admin password appeared in any CloudFormation response or handler log line');
  } finally {
    await driver.stop();
    await grafana.stop();
  }
}

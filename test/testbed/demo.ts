/**
 * `npm run demo`: deploys the example app (bin/app.ts) into local stand-ins of
 * Amazon Managed Grafana, Secrets Manager and API Gateway with the real, bundled handler,
 * and shows each step as it happens. No AWS account needed. Tokens are only
 * ever shown masked. Exits non-zero if any step misbehaves.
 */
import * as fs from 'fs';
import * as https from 'https';
import { App, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { buildExampleStack } from '../../bin/app';
import { GrafanaRole, RotatingApiKey } from '../../lib';
import { AwsStandIns } from './aws/standins';
import { CfnDriver } from './cfn/driver';
import { rotate } from './cfn/rotation';
import { selfManagedDemo } from './demo-self-managed';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(`${s}\n`);
let problems = 0;
function check(ok: boolean, what: string): void {
  say(`    ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) problems++;
}

function mask(token: string): string {
  return `${token.slice(0, 4)}…(${token.length} chars, masked)`;
}

function apiOrg(s: AwsStandIns, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(`${s.grafanaHttpsUrl}/api/org`, { headers: { authorization: `Bearer ${token}` }, ca: fs.readFileSync(s.caCertPath) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

function current(s: AwsStandIns, secretArn: string, stage = 'AWSCURRENT'): Record<string, string> {
  const v = s.secret(secretArn)!.versions.find((x) => x.stages.includes(stage));
  return JSON.parse(v!.secretString!);
}

function calls(s: AwsStandIns): string {
  const c = s.counts();
  delete c.GrafanaApiOrg;
  delete c.ApiGatewayEndpoint;
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  return `${total} AWS calls: ${Object.entries(c).map(([k, v]) => `${k}×${v}`).join(', ') || 'none'}`;
}

async function show(s: AwsStandIns, label: string, secretArn: string): Promise<string> {
  const v = current(s, secretArn);
  const name = v.keyName ?? v.tokenName;
  const role = v.keyRole ?? `${s.liveKeys().find((k) => k.name === name)?.role} (its service account's)`;
  say(`    ${label}: ${name}  role ${role}  expires ${v.expiresAt}`);
  say(`      secret ${secretArn.split(':').pop()}  AWSCURRENT ${mask(v.key)}`);
  const status = await apiOrg(s, v.key);
  check(status === 200, `GET /api/org with this ${label} answers ${status}`);
  return v.key;
}

// --- issue #17: an API Gateway key beside the Grafana credentials ---

/** Adds a usage plan and a RotatingApiKey, verified at the stand-in REST API, to the example stack. */
function withApiKey(stack: Stack, s: AwsStandIns): Stack {
  const plan = new apigateway.UsagePlan(stack, 'PartnersPlan', { name: 'partners' });
  new RotatingApiKey(stack, 'PartnerApiKey', { usagePlans: [plan], apiKeyNamePrefix: 'partner', verifyUrl: `${s.apiGatewayEndpointUrl}/health` });
  return stack;
}

function callApi(s: AwsStandIns, value: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(`${s.apiGatewayEndpointUrl}/orders`, { headers: { 'x-api-key': value }, ca: fs.readFileSync(s.caCertPath) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

async function showApiKey(s: AwsStandIns, secretArn: string): Promise<string> {
  const v = current(s, secretArn);
  say(`    API Gateway key: ${v.apiKeyName} (${v.apiKeyId})  usage plans ${v.usagePlanIds}`);
  say(`      secret ${secretArn.split(':').pop()}  AWSCURRENT ${mask(v.key)}`);
  const status = await callApi(s, v.key);
  check(status === 200, `GET /orders on the REST API with x-api-key answers ${status}`);
  return v.key;
}

async function main() {
  const started = Date.now();
  say(bold('grafana-credentials demo: the example app, deployed into local AWS stand-ins'));
  const standins = await AwsStandIns.start({ startTime: Date.now() });
  const workspace = standins.addWorkspace({ grafanaVersion: '10.4' });
  say(`  stand-ins on ${standins.url} (Grafana control plane, Secrets Manager) and ${standins.grafanaHttpsUrl} (workspace HTTP API)`);
  say(`  workspace ${workspace.id}, Grafana 10.4`);
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 30_000 });
  const stack = (role?: GrafanaRole) => withApiKey(buildExampleStack(new App({ context: { 'aws:cdk:enable-asset-metadata': true } }), workspace.id, { keyRole: role }), standins);
  try {
    say();
    say(bold('1. create: cdk deploy'));
    let result = await driver.deploy(stack());
    check(result.ok, `stack ${result.status}${result.failures.length ? `: ${result.failures.join('; ')}` : ''}`);
    say(`    ${calls(standins)}`);
    const keySecret = driver.secretArn('DashboardsKeySecret');
    const tokenSecret = driver.secretArn('ReportingReportingTokenSecret');
    const firstKey = await show(standins, 'API key', keySecret);
    await show(standins, 'service-account token', tokenSecret);
    check(standins.liveKeys(workspace.id).length === 2, `${standins.liveKeys(workspace.id).length} credentials exist in the workspace`);
    const apiKeySecret = driver.secretArn('PartnerApiKeySecret');
    const firstApiKey = await showApiKey(standins, apiKeySecret);

    say();
    say(bold('2. update: the key\'s role changes from EDITOR to ADMIN, so it is reissued'));
    standins.resetCounts();
    result = await driver.deploy(stack(GrafanaRole.ADMIN));
    check(result.ok, `stack ${result.status}`);
    say(`    ${calls(standins)}`);
    const secondKey = await show(standins, 'API key', keySecret);
    check(await apiOrg(standins, firstKey) === 401, 'the replaced key was deleted at cleanup (401)');
    check(standins.liveKeys(workspace.id).length === 2, 'still exactly one key per credential');

    say();
    say(bold('3. rotation: Secrets Manager runs createSecret, setSecret, testSecret, finishSecret'));
    standins.resetCounts();
    standins.clock.advance(25 * 86400 * 1000);
    say('    (25 simulated days later: the key is due)');
    const rotation = await rotate(driver, standins, keySecret);
    check(rotation.ok, `rotation ${rotation.ok ? 'finished' : `failed at ${rotation.failedStep}: ${rotation.error}`}`);
    say(`    ${calls(standins)}, plus ${standins.counts().GrafanaApiOrg ?? 0} verification call(s) to /api/org`);
    await show(standins, 'API key', keySecret);
    const previous = current(standins, keySecret, 'AWSPREVIOUS');
    check(previous.keyName !== undefined && await apiOrg(standins, secondKey) === 200, `the outgoing key ${previous.keyName} still works as AWSPREVIOUS (overlap)`);
    const tokenRotation = await rotate(driver, standins, tokenSecret);
    check(tokenRotation.ok, `service-account token rotation ${tokenRotation.ok ? 'finished' : `failed at ${tokenRotation.failedStep}: ${tokenRotation.error}`}`);
    standins.resetCounts();
    const apiKeyRotation = await rotate(driver, standins, apiKeySecret);
    check(apiKeyRotation.ok, `API Gateway key rotation ${apiKeyRotation.ok ? 'finished' : `failed at ${apiKeyRotation.failedStep}: ${apiKeyRotation.error}`}`);
    say(`    ${calls(standins)}`);
    await showApiKey(standins, apiKeySecret);
    check(await callApi(standins, firstApiKey) === 200, 'the outgoing API Gateway key still works as AWSPREVIOUS (overlap)');

    say();
    say(bold('4. health check: the stack\'s daily rule, and a token revoked in Grafana\'s UI'));
    const healthCheck = async () => {
      const lines = (await driver.fireScheduledRules()).flatMap((run) => run.logs.split('\n'))
        .filter((line) => line.startsWith('{"_aws"')).map((line) => JSON.parse(line) as Record<string, any>);
      for (const m of lines) {
        const expiry = m.SecondsUntilExpiry === undefined ? 'never expires' : `expires in ${(m.SecondsUntilExpiry / 86400).toFixed(1)} days`;
        say(`    ${m.SecretName}: CredentialWorks ${m.CredentialWorks}, ${expiry}, RotationOverdue ${m.RotationOverdue}`);
      }
      return lines;
    };
    const before = await healthCheck();
    check(before.length === 3 && before.every((m) => m.CredentialWorks === 1), 'every credential of the stack works (metrics in Embedded Metric Format)');
    standins.revokeOutOfBand(workspace.id, current(standins, tokenSecret).tokenName);
    say('    (someone deletes the service-account token in Grafana\'s UI)');
    const after = await healthCheck();
    const tokenName = standins.secret(tokenSecret)!.name;
    check(after.find((m) => m.SecretName === tokenName)?.CredentialWorks === 0, 'CredentialWorks drops to 0 for that token: an alarm on metricCredentialWorks() fires before a consumer gets a 401');

    say();
    say(bold('5. delete: cdk destroy'));
    standins.resetCounts();
    result = await driver.destroy();
    check(result.ok, `stack ${result.status}`);
    say(`    ${calls(standins)}`);
    check(standins.existingKeys().length === 0, `${standins.existingKeys().length} keys or tokens left in the workspace`);
    check(standins.serviceAccounts(workspace.id).length === 0, 'the service account is gone');
    check(standins.apiGateway.liveKeys().length === 0, `${standins.apiGateway.liveKeys().length} API Gateway keys left`);

    const leaked = standins.allIssuedTokens().some((t) => [...driver.responses(), ...driver.logs()].some((text) => text.includes(t)));
    check(!leaked, 'no token appeared in any CloudFormation response or handler log line');

    say();
    say(bold('6. beside the workspace: a self-managed Grafana server, the same lifecycle'));
    await selfManagedDemo(standins, { say, bold, check, mask });
  } finally {
    await driver.stop();
    await standins.stop();
  }
  say();
  say(problems ? bold(`demo: ${problems} step(s) misbehaved`) : bold(`demo: every step behaved (${((Date.now() - started) / 1000).toFixed(1)} s)`));
  process.exit(problems ? 1 : 0);
}

main().catch((err) => { console.error(err); process.exit(1); });

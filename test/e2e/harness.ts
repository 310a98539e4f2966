/** Shared set-up for end-to-end tests: stand-ins, the CloudFormation driver, and leak checks. */
import * as fs from 'fs';
import * as https from 'https';
import { App, Stack } from 'aws-cdk-lib';
import { AwsStandIns } from '../testbed/aws/standins';
import { CfnDriver } from '../testbed/cfn/driver';

export const E2E_CONTEXT = { 'aws:cdk:enable-asset-metadata': true };

export function newStack(name = 'E2EStack'): Stack {
  const app = new App({ context: E2E_CONTEXT });
  return new Stack(app, name, { env: { account: '123456789012', region: 'us-east-1' } });
}

export interface CurrentCredential {
  readonly versionId: string;
  readonly value: Record<string, any>;
}

/** The secret's version with `stage`, parsed. */
export function versionWith(standins: AwsStandIns, secretArn: string, stage = 'AWSCURRENT'): CurrentCredential | undefined {
  const v = standins.secret(secretArn)?.versions.find((x) => x.stages.includes(stage));
  return v?.secretString ? { versionId: v.versionId, value: JSON.parse(v.secretString) } : undefined;
}

/** GET /api/org on the stand-in workspace with `token`: 200 for a working key. */
export function apiOrg(standins: AwsStandIns, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(`${standins.grafanaHttpsUrl}/api/org`, { headers: { authorization: `Bearer ${token}` }, ca: fs.readFileSync(standins.caCertPath) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

/**
 * What must hold after every scenario: no response body and no log line
 * carries a token, and every response fits CloudFormation's 4,096 bytes.
 */
export function assertNoLeaks(standins: AwsStandIns, driver: CfnDriver): void {
  const tokens = standins.allIssuedTokens();
  const haystacks = [...driver.responses(), ...driver.logs()];
  for (const token of tokens) {
    for (const text of haystacks) {
      if (text.includes(token)) throw new Error(`a token leaked into a response or log line: ${text.slice(0, 200)}`);
    }
  }
  for (const body of driver.responses()) expect(Buffer.byteLength(body)).toBeLessThan(4096);
}

export async function withBed(opts: { lambdaTimeoutMs?: number; serviceTimeoutMs?: number } = {}) {
  const standins = await AwsStandIns.start();
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 20_000, ...opts });
  return { standins, driver, stop: async () => { await driver.stop(); await standins.stop(); } };
}

export interface TestBed {
  readonly standins: AwsStandIns;
  readonly driver: CfnDriver;
  /** A workspace created for each test. */
  readonly ws: string;
}

/**
 * A fresh test bed and workspace for each test of the calling file; after each
 * test the leak checks run and the bed is stopped, even when a check fails.
 */
export function useTestBed(grafanaVersion?: string): TestBed {
  const bed = {} as { standins: AwsStandIns; driver: CfnDriver; ws: string };
  let stop: () => Promise<void> = async () => undefined;
  beforeEach(async () => {
    const b = await withBed();
    Object.assign(bed, { standins: b.standins, driver: b.driver, ws: b.standins.addWorkspace({ grafanaVersion }).id });
    stop = b.stop;
  });
  afterEach(async () => {
    try {
      assertNoLeaks(bed.standins, bed.driver);
    } finally {
      await stop();
    }
  });
  return bed;
}

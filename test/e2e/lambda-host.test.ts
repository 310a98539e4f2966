/**
 * The test bed's Lambda host itself: how it treats a function that fails
 * during init, and that the handler's HTTPS trusts the stand-ins' CA only
 * because the host passes it (NODE_EXTRA_CA_CERTS): certificate checks stay on.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AwsStandIns } from '../testbed/aws/standins';
import { FunctionSpec, LambdaHost } from '../testbed/cfn/lambda-host';

let s: AwsStandIns;
let dir: string;

beforeAll(async () => {
  s = await AwsStandIns.start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-host-'));
  fs.mkdirSync(path.join(dir, 'broken'));
  fs.writeFileSync(path.join(dir, 'broken', 'index.mjs'), "throw new Error('init failed on purpose');\n");
  fs.mkdirSync(path.join(dir, 'https'));
  fs.writeFileSync(path.join(dir, 'https', 'index.mjs'), [
    "import * as https from 'https';",
    'export const handler = (event) => new Promise((resolve, reject) => {',
    "  https.get(event.url, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);",
    '});',
  ].join('\n'));
});
afterAll(async () => {
  await s.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const fn = (asset: string): FunctionSpec => ({ functionName: asset, assetDir: path.join(dir, asset), handler: 'index.handler', timeoutMs: 10_000, environment: {} });

test('a function that fails during init fails its invocations; the host goes on', async () => {
  const host = new LambdaHost(() => s.env());
  try {
    for (let i = 0; i < 3; i++) {
      const result = await host.invoke(fn('broken'), {});
      expect(result.ok).toBe(false);
      expect(result.logs + (result.error?.message ?? '')).toContain('init failed on purpose');
    }
  } finally {
    host.dispose();
  }
});

test("HTTPS to the stand-ins works with the stand-ins' CA, and fails without it", async () => {
  const url = `${s.grafanaHttpsUrl}/api/org`;
  const trusted = new LambdaHost(() => s.env());
  const { NODE_EXTRA_CA_CERTS: _ca, ...withoutCa } = s.env();
  const untrusted = new LambdaHost(() => withoutCa);
  try {
    expect(await trusted.invoke(fn('https'), { url })).toMatchObject({ ok: true });
    const refused = await untrusted.invoke(fn('https'), { url });
    expect(refused.ok).toBe(false);
    expect(refused.error?.message).toMatch(/certificate/i);
  } finally {
    trusted.dispose();
    untrusted.dispose();
  }
});

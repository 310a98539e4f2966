/** The API Gateway key issuer (issue #17) against a mocked SDK, and its custom-resource properties. */
import {
  APIGatewayClient, CreateApiKeyCommand, CreateUsagePlanKeyCommand, DeleteApiKeyCommand, DeleteUsagePlanKeyCommand, GetApiKeyCommand, GetApiKeysCommand, GetUsagePlanKeyCommand,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { apiGatewayKeyIssuer } from '../../lambda/issuers/api-gateway-key';
import { NameInUseError } from '../../lambda/issuers/types';
import { CredentialKind, HANDLER_ENV, parseProperties } from '../../lib/private/contract';

const apigw = mockClient(APIGatewayClient);
const TAG = 'grafana-credentials:owner';
const definition = { namePrefix: 'partner', usagePlanIds: 'plan1,plan2', description: '', customerId: '', enabled: 'true', ownerTag: 'Stack' };
const notFound = () => Object.assign(new Error('Invalid Usage Plan ID specified'), { name: 'NotFoundException' });

beforeEach(() => {
  apigw.reset();
  delete process.env[HANDLER_ENV.verifyUrls];
});

describe('issue', () => {
  test('a key of that name with the owner tag means the name is taken; one without the tag is not ours and is ignored', async () => {
    apigw.on(GetApiKeysCommand).resolves({ items: [{ id: 'k1', name: 'partner-0123456789', tags: { [TAG]: 'Stack' } }] });
    await expect(apiGatewayKeyIssuer.issue(definition, 'partner-0123456789')).rejects.toBeInstanceOf(NameInUseError);
    expect(apigw.commandCalls(CreateApiKeyCommand)).toHaveLength(0);

    apigw.on(GetApiKeysCommand).resolves({ items: [{ id: 'k2', name: 'partner-0123456789', tags: { [TAG]: 'OtherStack' } }] });
    apigw.on(CreateApiKeyCommand).resolves({ id: 'k3', value: 'v'.repeat(40) });
    apigw.on(CreateUsagePlanKeyCommand).resolves({});
    const issued = await apiGatewayKeyIssuer.issue(definition, 'partner-0123456789');
    expect(issued.fields).toEqual({ apiKeyId: 'k3', apiKeyName: 'partner-0123456789', usagePlanIds: 'plan1,plan2' });
    expect(apigw.commandCalls(CreateApiKeyCommand)[0].args[0].input).toEqual({ name: 'partner-0123456789', enabled: true, tags: { [TAG]: 'Stack' } });
    expect(apigw.commandCalls(CreateUsagePlanKeyCommand).map((c) => c.args[0].input)).toEqual([
      { usagePlanId: 'plan1', keyId: 'k3', keyType: 'API_KEY' }, { usagePlanId: 'plan2', keyId: 'k3', keyType: 'API_KEY' },
    ]);
  });

  test('a missing usage plan: the new key is deleted before the error, which names the plan', async () => {
    apigw.on(GetApiKeysCommand).resolves({ items: [] });
    apigw.on(CreateApiKeyCommand).resolves({ id: 'k3', value: 'v'.repeat(40) });
    apigw.on(CreateUsagePlanKeyCommand, { usagePlanId: 'plan2' }).rejects(notFound());
    apigw.on(CreateUsagePlanKeyCommand, { usagePlanId: 'plan1' }).resolves({});
    apigw.on(DeleteApiKeyCommand).resolves({});
    await expect(apiGatewayKeyIssuer.issue(definition, 'partner-0123456789')).rejects.toThrow(/Usage plan plan2 not found \(NotFoundException\) while adding API key partner-0123456789/);
    expect(apigw.commandCalls(DeleteApiKeyCommand).map((c) => c.args[0].input)).toEqual([{ apiKey: 'k3' }]);
  });
});

describe('reconfigure', () => {
  const record = (usagePlanIds: string) => ({
    key: 'v'.repeat(40), expiresAt: '9999-12-31T23:59:59.000Z', fields: { apiKeyId: 'k3', apiKeyName: 'partner-0123456789', usagePlanIds },
    lifecycle: { kind: CredentialKind.API_GATEWAY_KEY, generation: 'partner-0123456789', slot: 0, definition: { ...definition, usagePlanIds } },
  });
  const to = (usagePlanIds: string) => ({ ...definition, usagePlanIds });
  const added = () => apigw.commandCalls(CreateUsagePlanKeyCommand).map((c) => c.args[0].input.usagePlanId);
  const removed = () => apigw.commandCalls(DeleteUsagePlanKeyCommand).map((c) => c.args[0].input.usagePlanId);

  test('joins the plans added, leaves the plans removed (one deleted out of band is fine), and names the new plans in the fields', async () => {
    expect(apiGatewayKeyIssuer.inPlaceFields).toEqual(['usagePlanIds']);
    apigw.on(CreateUsagePlanKeyCommand).resolves({});
    apigw.on(DeleteUsagePlanKeyCommand, { usagePlanId: 'plan1' }).rejects(notFound());
    apigw.on(DeleteUsagePlanKeyCommand, { usagePlanId: 'plan2' }).resolves({});
    const fields = await apiGatewayKeyIssuer.reconfigure!(record('plan1,plan2'), to('plan3'), to('plan1,plan2'));
    expect(fields).toEqual({ apiKeyId: 'k3', apiKeyName: 'partner-0123456789', usagePlanIds: 'plan3' });
    expect(added()).toEqual(['plan3']);
    expect(removed()).toEqual(['plan1', 'plan2']);
    expect(apigw.commandCalls(CreateApiKeyCommand)).toHaveLength(0);
  });

  test('after an event that died half-way (record and old properties disagree), every plan either names is settled', async () => {
    apigw.on(CreateUsagePlanKeyCommand).resolves({});
    apigw.on(DeleteUsagePlanKeyCommand).resolves({});
    // The record says plan1; CloudFormation's old properties say plan1,plan2 (the update added plan2, then died). Rollback to plan1:
    await apiGatewayKeyIssuer.reconfigure!(record('plan1'), to('plan1'), to('plan1,plan2'));
    expect(added()).toEqual([]);
    expect(removed()).toEqual(['plan2']);
  });

  test('a key that is already gone counts as reconfigured; any other failure names the key and the plan', async () => {
    apigw.on(CreateUsagePlanKeyCommand).rejects(Object.assign(new Error('Invalid API Key identifier specified'), { name: 'NotFoundException' }));
    apigw.on(GetApiKeyCommand).rejects(Object.assign(new Error('Invalid API Key identifier specified'), { name: 'NotFoundException' }));
    expect(await apiGatewayKeyIssuer.reconfigure!(record('plan1'), to('plan1,plan2'), to('plan1'))).toEqual(record('plan1').fields);
    apigw.reset();
    apigw.on(CreateUsagePlanKeyCommand).resolves({});
    apigw.on(DeleteUsagePlanKeyCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    await expect(apiGatewayKeyIssuer.reconfigure!(record('plan1,plan2'), to('plan1'), to('plan1,plan2')))
      .rejects.toThrow(/Removing API key partner-0123456789 from usage plan plan2 failed \(AccessDeniedException/);
  });
});

describe('verify', () => {
  const record = (verifyUrl?: string) => ({
    key: 'v'.repeat(40), expiresAt: '9999-12-31T23:59:59.000Z', fields: { apiKeyId: 'k3', apiKeyName: 'partner-0123456789', usagePlanIds: 'plan1,plan2' },
    lifecycle: { kind: CredentialKind.API_GATEWAY_KEY, generation: 'partner-0123456789', slot: 0, definition: { ...definition, ...(verifyUrl ? { verifyUrl } : {}) } },
  });

  test('a verifyUrl the template does not name is refused before any request carries the key', async () => {
    apigw.on(GetApiKeyCommand).resolves({ id: 'k3', enabled: true });
    apigw.on(GetUsagePlanKeyCommand).resolves({ id: 'k3' });
    process.env[HANDLER_ENV.verifyUrls] = JSON.stringify(['https://api.example.com/prod/health']);
    await expect(apiGatewayKeyIssuer.verify(record('https://attacker.example.net/x'))).rejects.toThrow(/Refusing to send API key partner-0123456789 to https:\/\/attacker.example.net: it is not a verifyUrl this stack's template names/);
  });

  test('without verifyUrl: enabled and in every plan is enough; a disabled key fails', async () => {
    apigw.on(GetApiKeyCommand).resolves({ id: 'k3', enabled: true });
    apigw.on(GetUsagePlanKeyCommand).resolves({ id: 'k3' });
    await expect(apiGatewayKeyIssuer.verify(record())).resolves.toBe(true);
    expect(apigw.commandCalls(GetUsagePlanKeyCommand)).toHaveLength(2);
    apigw.on(GetApiKeyCommand).resolves({ id: 'k3', enabled: false });
    await expect(apiGatewayKeyIssuer.verify(record())).rejects.toThrow(/is disabled/);
  });
});

describe('properties of kind apigateway-api-key', () => {
  const props = { Kind: 'apigateway-api-key', SecretArn: 'arn:s', NamePrefix: 'partner', UsagePlanIds: 'b2,a1', Enabled: 'true', OwnerTag: 'Stack' };
  test('need no workspace or lifetime; plan ids come back sorted', () => {
    expect(parseProperties(props)).toEqual({ ...props, UsagePlanIds: 'a1,b2', Description: '', CustomerId: '' });
  });
  test('refused: 11 plans, a repeated plan, Enabled not a boolean, no owner tag', () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `p${i}`).join(',');
    expect(() => parseProperties({ ...props, UsagePlanIds: eleven })).toThrow(/must be 1 to 10 distinct usage plan ids/);
    expect(() => parseProperties({ ...props, UsagePlanIds: 'a1,a1' })).toThrow(/must be 1 to 10 distinct usage plan ids/);
    expect(() => parseProperties({ ...props, Enabled: 'yes' })).toThrow(/Enabled 'yes' must be 'true' or 'false'/);
    expect(() => parseProperties({ ...props, OwnerTag: undefined })).toThrow(/Property OwnerTag is required/);
  });
});

/**
 * The service-account custom resource on a self-managed Grafana server
 * (issue #16). Like its Amazon Managed Grafana sibling (service-account.ts) it
 * holds no secret and does not go through the lifecycle engine; Grafana has
 * no rename, so any change replaces the account (a new physical id) and
 * CloudFormation deletes the old one at cleanup.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { ATTRIBUTES, parseServerServiceAccountProperties, SERVER_ROLE_NAMES } from '../lib/private/contract';
import { FAILED_CREATE_ID, Outcome } from './engine/cfn-events';
import { callAsAdmin, explainRefusal, Server, serverDefinition, serverOf } from './issuers/grafana-server';
import { ServiceError } from './issuers/types';
import { log } from './log';

interface Spec { readonly server: Server; readonly name: string; readonly role: string }

function specFrom(raw: unknown): Spec {
  const props = parseServerServiceAccountProperties(raw);
  return { server: serverOf(serverDefinition(props)), name: props.ServiceAccountName, role: props.Role };
}

const same = (a: Spec, b: Spec) => a.server.url === b.server.url && a.server.orgId === b.server.orgId && a.name === b.name && a.role === b.role;

export async function handleServerServiceAccountEvent(event: CloudFormationCustomResourceEvent): Promise<Outcome> {
  if (event.RequestType === 'Delete') {
    if (event.PhysicalResourceId !== FAILED_CREATE_ID) await deleteServiceAccount(specFrom(event.ResourceProperties).server, event.PhysicalResourceId);
    return { physicalResourceId: event.PhysicalResourceId };
  }
  const spec = specFrom(event.ResourceProperties);
  if (event.RequestType === 'Update') {
    let old: Spec | undefined;
    try { old = specFrom(event.OldResourceProperties); } catch { old = undefined; }
    if (old && same(old, spec)) return outcome(event.PhysicalResourceId);
  }
  return outcome(await createServiceAccount(spec, event.RequestType === 'Update' ? event.PhysicalResourceId : undefined));
}

function outcome(id: string): Outcome {
  return { physicalResourceId: id, data: { [ATTRIBUTES.serviceAccountId]: id } };
}

async function createServiceAccount(spec: Spec, replacing: string | undefined): Promise<string> {
  const { server, name, role } = spec;
  const action = `Creating service account ${name}`;
  const answer = await callAsAdmin(server, 'POST', '/api/serviceaccounts', action, { name, role: SERVER_ROLE_NAMES[role], isDisabled: false });
  if (answer.status === 200 || answer.status === 201) {
    const id = answer.body?.id;
    if (id === undefined) throw new ServiceError(`${action} on ${new URL(server.url).origin} returned no id`);
    log('info', 'created service account', { grafanaUrl: server.url, serviceAccountName: name, serviceAccountId: String(id), role });
    return String(id);
  }
  // Grafana answers a taken name with 409 (older versions with 400): a retried request finds the account it created.
  if (answer.status !== 409 && answer.status !== 400) throw explainRefusal(answer, server, action);
  const existing = await findByName(server, name);
  if (!existing) throw explainRefusal(answer, server, action);
  if (existing.id !== replacing && existing.role === SERVER_ROLE_NAMES[role]) {
    log('info', 'service account already created by an earlier attempt', { grafanaUrl: server.url, serviceAccountName: name, serviceAccountId: existing.id });
    return existing.id;
  }
  throw new ServiceError(`Service account name '${name}' is already in use on ${new URL(server.url).origin}` +
    (existing.id === replacing ? ' by the account this update replaces: give the replacement a new serviceAccountName' : ': choose another serviceAccountName'));
}

async function findByName(server: Server, name: string): Promise<{ id: string; role?: string } | undefined> {
  for (let page = 1; page <= 100; page++) {
    const path = `/api/serviceaccounts/search?perpage=100&page=${page}&query=${encodeURIComponent(name)}`;
    const answer = await callAsAdmin(server, 'GET', path, 'Searching service accounts');
    if (answer.status !== 200) throw explainRefusal(answer, server, 'Searching service accounts');
    const accounts: any[] = Array.isArray(answer.body?.serviceAccounts) ? answer.body.serviceAccounts : [];
    const hit = accounts.find((sa) => sa?.name === name);
    if (hit) return { id: String(hit.id), role: hit.role };
    if (accounts.length < 100) return undefined;
  }
  return undefined;
}

async function deleteServiceAccount(server: Server, serviceAccountId: string): Promise<void> {
  const action = `Deleting service account ${serviceAccountId}`;
  const answer = await callAsAdmin(server, 'DELETE', `/api/serviceaccounts/${encodeURIComponent(serviceAccountId)}`, action);
  if (answer.status === 200 || answer.status === 404) {
    log('info', 'deleted service account and, with it, its tokens', { grafanaUrl: server.url, serviceAccountId });
    return;
  }
  throw explainRefusal(answer, server, action);
}

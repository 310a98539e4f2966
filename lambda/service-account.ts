/**
 * The service-account custom resource. A service account is not a credential:
 * it holds no secret, so it does not go through the lifecycle engine. Grafana
 * has no update call, so any change replaces it (a new physical id), and
 * CloudFormation deletes the old one at cleanup.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { ATTRIBUTES, parseProperties } from '../lib/private/contract';
import { grafanaClient, grafanaSdk, isServiceError } from './clients/aws';
import { explainGrafanaError } from './issuers/grafana';
import { InputError, ServiceError } from './issuers/types';
import { FAILED_CREATE_ID, Outcome } from './engine/cfn-events';
import { log } from './log';

interface ServiceAccountSpec { workspaceId: string; name: string; role: string }

function specFrom(raw: unknown): ServiceAccountSpec {
  const props = parseProperties(raw);
  if (!('ServiceAccountName' in props)) throw new InputError(`Kind '${props.Kind}' is not a service account`);
  return { workspaceId: props.WorkspaceId, name: props.ServiceAccountName, role: props.Role };
}

const same = (a: ServiceAccountSpec, b: ServiceAccountSpec) => a.workspaceId === b.workspaceId && a.name === b.name && a.role === b.role;

export async function handleServiceAccountEvent(event: CloudFormationCustomResourceEvent): Promise<Outcome> {
  if (event.RequestType === 'Delete') {
    if (event.PhysicalResourceId !== FAILED_CREATE_ID) {
      await deleteServiceAccount(specFrom(event.ResourceProperties).workspaceId, event.PhysicalResourceId);
    }
    return { physicalResourceId: event.PhysicalResourceId };
  }
  const spec = specFrom(event.ResourceProperties);
  if (event.RequestType === 'Update') {
    let old: ServiceAccountSpec | undefined;
    try { old = specFrom(event.OldResourceProperties); } catch { old = undefined; }
    if (old && same(old, spec)) return outcome(event.PhysicalResourceId);
  }
  const replacing = event.RequestType === 'Update' ? event.PhysicalResourceId : undefined;
  return outcome(await createServiceAccount(spec, replacing));
}

function outcome(id: string): Outcome {
  return { physicalResourceId: id, data: { [ATTRIBUTES.serviceAccountId]: id } };
}

async function createServiceAccount(spec: ServiceAccountSpec, replacing: string | undefined): Promise<string> {
  const { workspaceId, name, role } = spec;
  try {
    const out = await (await grafanaClient()).send(new (await grafanaSdk()).CreateWorkspaceServiceAccountCommand({ workspaceId, name, grafanaRole: role as never }));
    if (!out.id) throw new ServiceError(`CreateWorkspaceServiceAccount returned no id for ${name} in workspace ${workspaceId}`);
    log('info', 'created service account', { workspaceId, serviceAccountName: name, serviceAccountId: out.id, role });
    return out.id;
  } catch (err) {
    if (!(isServiceError(err, 'ConflictException'))) throw explainGrafanaError(err, workspaceId, `Creating service account ${name}`);
    // A retried request finds the account it created; anything else holding the name is not ours to take.
    const existing = await findByName(workspaceId, name);
    if (existing && existing.id !== replacing && existing.role === role) {
      log('info', 'service account already created by an earlier attempt', { workspaceId, serviceAccountName: name, serviceAccountId: existing.id });
      return existing.id;
    }
    throw new ServiceError(`Service account name '${name}' is already in use in workspace ${workspaceId}` +
      (existing?.id === replacing ? ' by the account this update replaces: give the replacement a new serviceAccountName' : ': choose another serviceAccountName'));
  }
}

async function findByName(workspaceId: string, name: string): Promise<{ id: string; role?: string } | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await (await grafanaClient()).send(new (await grafanaSdk()).ListWorkspaceServiceAccountsCommand({ workspaceId, nextToken }));
    const hit = page.serviceAccounts?.find((sa) => sa.name === name);
    if (hit?.id) return { id: hit.id, role: hit.grafanaRole };
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

async function deleteServiceAccount(workspaceId: string, serviceAccountId: string): Promise<void> {
  try {
    await (await grafanaClient()).send(new (await grafanaSdk()).DeleteWorkspaceServiceAccountCommand({ workspaceId, serviceAccountId }));
    log('info', 'deleted service account and, with it, its tokens', { workspaceId, serviceAccountId });
  } catch (err) {
    if (isServiceError(err, 'ResourceNotFoundException')) return;
    throw explainGrafanaError(err, workspaceId, `Deleting service account ${serviceAccountId}`);
  }
}

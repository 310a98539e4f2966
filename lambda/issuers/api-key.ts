/** Amazon Managed Grafana workspace API keys (Grafana 8 to 10). */
import { grafanaClient, grafanaSdk, isServiceError } from '../clients/aws';
import { CredentialKind, LIMITS } from '../../lib/private/contract';
import type { CredentialRecord } from '../engine/ledger';
import { describeWorkspace, expiresAt, explainGrafanaError, grafanaMajorVersion, verificationFrom, verifyAtWorkspace } from './grafana';
import { Definition, Issued, Issuer, NameInUseError, ServiceError } from './types';

export const apiKeyIssuer: Issuer = {
  kind: CredentialKind.API_KEY,
  noun: 'API key',
  maxNameLength: LIMITS.apiKeyNameMax,

  definitionFrom(props) {
    return {
      workspaceId: props.WorkspaceId ?? '',
      keyRole: props.Role ?? '',
      secondsToLive: props.SecondsToLive ?? '',
      namePrefix: props.NamePrefix,
      ...verificationFrom(props),
    };
  },

  namePrefix: (definition) => definition.namePrefix,

  async issue(definition: Definition, name: string): Promise<Issued> {
    const { workspaceId, keyRole, secondsToLive } = definition;
    try {
      const out = await (await grafanaClient()).send(new (await grafanaSdk()).CreateWorkspaceApiKeyCommand({
        workspaceId, keyName: name, keyRole, secondsToLive: Number(secondsToLive),
      }));
      if (!out.key) throw new ServiceError(`CreateWorkspaceApiKey returned no key for ${name} in workspace ${workspaceId}`);
      return {
        token: out.key,
        expiresAt: expiresAt(secondsToLive),
        fields: { keyName: name, keyRole, workspaceId },
      };
    } catch (err) {
      if (isServiceError(err, 'ConflictException')) throw new NameInUseError(name);
      if (isServiceError(err, 'ValidationException')) throw await explainRefusal(err, workspaceId);
      throw explainGrafanaError(err, workspaceId, `Creating API key ${name}`);
    }
  },

  async revokeByName(definition, name) {
    await deleteKey(definition.workspaceId, name);
  },

  async revoke(record: CredentialRecord) {
    await deleteKey(record.fields.workspaceId, record.fields.keyName);
  },

  nameOf: (record) => record.fields.keyName,

  verify: (record) => verifyAtWorkspace(record.lifecycle.definition, record.key, `API key ${record.fields.keyName}`),
};

async function deleteKey(workspaceId: string, keyName: string): Promise<void> {
  try {
    await (await grafanaClient()).send(new (await grafanaSdk()).DeleteWorkspaceApiKeyCommand({ workspaceId, keyName }));
  } catch (err) {
    if (isServiceError(err, 'ResourceNotFoundException')) return; // the key or its workspace is gone: revoked
    throw explainGrafanaError(err, workspaceId, `Deleting API key ${keyName}`);
  }
}

/** A refused CreateWorkspaceApiKey on Grafana 11+ means the workspace has no API keys at all. */
async function explainRefusal(err: unknown, workspaceId: string): Promise<Error> {
  const { grafanaVersion } = await describeWorkspace(workspaceId).catch(() => ({ grafanaVersion: undefined }));
  const major = grafanaMajorVersion(grafanaVersion);
  if (major !== undefined && major >= 11) {
    return new ServiceError(
      `Workspace ${workspaceId} runs Grafana ${grafanaVersion}, which has no API keys (Amazon Managed Grafana documents them for Grafana 8 to 10): ` +
      'use WorkspaceServiceAccount with WorkspaceServiceAccountToken instead');
  }
  return explainGrafanaError(err, workspaceId, 'Creating an API key');
}

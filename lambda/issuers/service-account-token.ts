/** Grafana service-account tokens in Amazon Managed Grafana workspaces (Grafana 9 and later). */
import { grafanaClient, grafanaSdk, isServiceError } from '../clients/aws';
import { CredentialKind, LIMITS } from '../../lib/private/contract';
import type { CredentialRecord } from '../engine/ledger';
import { expiresAt, explainGrafanaError, verificationFrom, verifyAtWorkspace } from './grafana';
import { Definition, Issued, Issuer, NameInUseError, ServiceError } from './types';

export const serviceAccountTokenIssuer: Issuer = {
  kind: CredentialKind.SERVICE_ACCOUNT_TOKEN,
  noun: 'service-account token',
  maxNameLength: LIMITS.tokenNameMax,

  definitionFrom(props) {
    return {
      workspaceId: props.WorkspaceId ?? '',
      serviceAccountId: props.ServiceAccountId ?? '',
      secondsToLive: props.SecondsToLive ?? '',
      namePrefix: props.NamePrefix,
      ...verificationFrom(props),
    };
  },

  namePrefix: (definition) => definition.namePrefix,

  async issue(definition: Definition, name: string): Promise<Issued> {
    const { workspaceId, serviceAccountId, secondsToLive } = definition;
    try {
      const out = await (await grafanaClient()).send(new (await grafanaSdk()).CreateWorkspaceServiceAccountTokenCommand({
        workspaceId, serviceAccountId, name, secondsToLive: Number(secondsToLive),
      }));
      const token = out.serviceAccountToken;
      if (!token?.key || !token.id) throw new ServiceError(`CreateWorkspaceServiceAccountToken returned no token for ${name} in workspace ${workspaceId}`);
      return {
        token: token.key,
        expiresAt: expiresAt(secondsToLive),
        fields: { tokenName: name, tokenId: token.id, serviceAccountId, workspaceId },
      };
    } catch (err) {
      if (isServiceError(err, 'ConflictException')) throw new NameInUseError(name);
      if (isServiceError(err, 'ResourceNotFoundException')) {
        throw new ServiceError(`Service account ${serviceAccountId} in workspace ${workspaceId} not found (ResourceNotFoundException): check serviceAccount and workspaceId`);
      }
      throw explainGrafanaError(err, workspaceId, `Creating service-account token ${name} for service account ${serviceAccountId}`);
    }
  },

  async revokeByName(definition, name) {
    const tokens = await listTokens(definition.workspaceId, definition.serviceAccountId);
    for (const token of tokens ?? []) {
      if (token.name === name) await deleteToken(definition.workspaceId, definition.serviceAccountId, token.id);
    }
  },

  async revoke(record: CredentialRecord) {
    const { workspaceId, serviceAccountId, tokenId } = record.fields;
    await deleteToken(workspaceId, serviceAccountId, tokenId);
  },

  nameOf: (record) => record.fields.tokenName,

  verify: (record) => verifyAtWorkspace(record.lifecycle.definition, record.key, `service-account token ${record.fields.tokenName}`),

  async listIssuedNames(definition) {
    const pattern = new RegExp(`^${escapeRegExp(definition.namePrefix)}-[0-9a-f]{10}$`);
    const tokens = await listTokens(definition.workspaceId, definition.serviceAccountId);
    return tokens?.filter((t) => pattern.test(t.name)).map((t) => t.name);
  },
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every token of a service account; undefined when the account (or workspace) is gone. */
async function listTokens(workspaceId: string, serviceAccountId: string): Promise<Array<{ id: string; name: string }> | undefined> {
  const out: Array<{ id: string; name: string }> = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await (await grafanaClient()).send(new (await grafanaSdk()).ListWorkspaceServiceAccountTokensCommand({ workspaceId, serviceAccountId, nextToken }));
      for (const t of page.serviceAccountTokens ?? []) if (t.id && t.name) out.push({ id: t.id, name: t.name });
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (err) {
    if (isServiceError(err, 'ResourceNotFoundException')) return undefined;
    throw explainGrafanaError(err, workspaceId, `Listing tokens of service account ${serviceAccountId}`);
  }
  return out;
}

async function deleteToken(workspaceId: string, serviceAccountId: string, tokenId: string): Promise<void> {
  try {
    await (await grafanaClient()).send(new (await grafanaSdk()).DeleteWorkspaceServiceAccountTokenCommand({ workspaceId, serviceAccountId, tokenId }));
  } catch (err) {
    if (isServiceError(err, 'ResourceNotFoundException')) return; // the token, its account or its workspace is gone: revoked
    throw explainGrafanaError(err, workspaceId, `Deleting token ${tokenId} of service account ${serviceAccountId}`);
  }
}

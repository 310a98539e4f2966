/**
 * The model's credential kind: a Grafana workspace API key (lambda/issuers/api-key.ts) that also belongs to a set
 * of plans, an in-place field (Issuer.inPlaceFields) the way an API Gateway key's usage plans are
 * (lambda/issuers/api-gateway-key.ts). The fake Grafana tracks each key's plans (FakeWorkspace.plans); a key joins
 * or leaves one plan per call, and a deleted key leaves them all, as in API Gateway. Every call goes through the
 * interleaving's scheduler, so it can be delayed, fail, or land after its invocation crashed.
 *
 * The properties carry the plans as UsagePlanIds (the adapter lets them through the amg-api-key parser); the role
 * still reissues.
 */
import { isServiceError } from '../../lambda/clients/aws';
import type { CredentialRecord } from '../../lambda/engine/ledger';
import { apiKeyIssuer } from '../../lambda/issuers/api-key';
import { Definition, Issuer } from '../../lambda/issuers/types';

/** One plan call, made through the scheduler (the adapter wires it). */
export type PlanCall = (op: 'AddKeyToPlan' | 'RemoveKeyFromPlan', input: { workspaceId: string; keyName: string; planId: string }) => Promise<unknown>;

export const plansOf = (definition: Definition): string[] => (definition.plans ?? '').split(',').filter((id) => id.length > 0);

export function plannedKeyIssuer(call: PlanCall): Issuer {
  return {
    ...apiKeyIssuer,
    definitionFrom: (props) => ({ ...apiKeyIssuer.definitionFrom(props), plans: props.UsagePlanIds ?? '' }),

    async issue(definition, name) {
      const issued = await apiKeyIssuer.issue(definition, name);
      try {
        for (const planId of plansOf(definition)) await call('AddKeyToPlan', { workspaceId: definition.workspaceId, keyName: name, planId });
      } catch (err) {
        // A key outside its plans must not live on (as api-gateway-key.ts does).
        await apiKeyIssuer.revokeByName(definition, name).catch(() => undefined);
        throw err;
      }
      return { ...issued, fields: { ...issued.fields, plans: definition.plans } };
    },

    inPlaceFields: ['plans'],

    /** The algorithm of apiGatewayKeyIssuer.reconfigure: join the plans added, leave every other plan either definition names. */
    async reconfigure(record: CredentialRecord, definition: Definition, replaced: Definition) {
      const { keyName, workspaceId } = record.fields;
      const target = plansOf(definition);
      const recorded = plansOf(record.lifecycle.definition);
      const known = recorded.filter((id) => plansOf(replaced).includes(id));
      try {
        for (const planId of target.filter((id) => !known.includes(id))) await call('AddKeyToPlan', { workspaceId, keyName, planId });
        for (const planId of new Set([...recorded, ...plansOf(replaced)])) {
          if (!target.includes(planId)) await call('RemoveKeyFromPlan', { workspaceId, keyName, planId });
        }
      } catch (err) {
        if (isServiceError(err, 'ResourceNotFoundException')) return record.fields; // the key is gone: nothing to reconfigure
        throw err;
      }
      return { ...record.fields, plans: target.join(',') };
    },
  };
}

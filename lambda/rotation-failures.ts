/**
 * Rotation failures as a metric. The entry point hands the rotation steps
 * observed dependencies: the first call that throws says why the step failed
 * (the credential's service refused, the new credential failed verification,
 * Secrets Manager refused), whatever the issuer, and without the engine
 * knowing. A failed step then publishes RotationFailures with the step and
 * that cause.
 */
import { FailureCause, METRICS } from '../lib/private/contract';
import { isLabelConflict, SecretStore } from './clients/secrets-manager';
import { isServiceError } from './clients/aws';
import type { EngineDeps } from './engine/cfn-events';
import type { Issuer } from './issuers/types';
import { emfLine, LineWriter, secretNameOf, stdoutWriter } from './metrics';

export type FailureCauseValue = typeof FailureCause[keyof typeof FailureCause];

/** Wraps every method of `target` that returns a promise, reporting a rejection to `onError` before passing it on. */
function observed<T extends object>(target: T, onError: (method: string, err: unknown) => void): T {
  return new Proxy(target, {
    get(t, property, receiver) {
      const value = Reflect.get(t, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = value.apply(t, args);
        if (result instanceof Promise) return result.catch((err: unknown) => { onError(String(property), err); throw err; });
        return result;
      };
    },
  });
}

function storeCause(err: unknown): FailureCauseValue {
  return isLabelConflict(err) || isServiceError(err, 'ResourceExistsException') ? FailureCause.SECRETS_MANAGER_CONFLICT : FailureCause.OTHER;
}

/** Engine dependencies that remember the cause of the first failed call. */
export function observeFailures(deps: EngineDeps): { readonly deps: EngineDeps; readonly cause: () => FailureCauseValue } {
  let first: FailureCauseValue | undefined;
  const note = (cause: FailureCauseValue) => { first ??= cause; };
  const store = observed<SecretStore>(deps.store, (_method, err) => note(storeCause(err)));
  const issuerFor = (kind: unknown): Issuer => observed(deps.issuerFor(kind), (method) =>
    note(method === 'verify' ? FailureCause.VERIFICATION_FAILED : FailureCause.SERVICE_REFUSED));
  return { deps: { ...deps, store, issuerFor }, cause: () => first ?? FailureCause.OTHER };
}

/** Publishes one RotationFailures for the secret, by secret alone and by secret, step and cause. */
export function publishRotationFailure(secretId: string, step: string, cause: FailureCauseValue, write: LineWriter = stdoutWriter, now = Date.now()): void {
  write(emfLine(
    { [METRICS.secretDimension]: secretNameOf(secretId), [METRICS.stepDimension]: step, [METRICS.causeDimension]: cause },
    [[METRICS.secretDimension], [METRICS.secretDimension, METRICS.stepDimension, METRICS.causeDimension]],
    [{ name: METRICS.rotationFailures, value: 1, unit: 'Count' }], now));
}

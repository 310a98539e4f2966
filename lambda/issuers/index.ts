/** The credential kinds this handler can issue, by the Kind property the constructs write. */
import { apiKeyIssuer } from './api-key';
import { apiGatewayKeyIssuer } from './api-gateway-key';
import { serverApiKeyIssuer, serverServiceAccountTokenIssuer } from './grafana-server';
import { serviceAccountTokenIssuer } from './service-account-token';
import { InputError, Issuer } from './types';

const ISSUERS: ReadonlyMap<string, Issuer> = new Map([
  apiKeyIssuer, serviceAccountTokenIssuer,
  // Self-managed Grafana (issue #16)
  serverApiKeyIssuer, serverServiceAccountTokenIssuer,
  // Amazon API Gateway keys (issue #17)
  apiGatewayKeyIssuer,
].map((issuer) => [issuer.kind, issuer]));

export function issuerFor(kind: unknown): Issuer {
  const issuer = typeof kind === 'string' ? ISSUERS.get(kind) : undefined;
  if (!issuer) throw new InputError(`Unknown credential kind '${String(kind)}': expected one of ${[...ISSUERS.keys()].join(', ')}`);
  return issuer;
}

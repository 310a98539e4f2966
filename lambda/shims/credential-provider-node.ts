/**
 * Build-time replacement for @aws-sdk/credential-provider-node inside the
 * handler bundle. Lambda always hands a function its role's credentials in
 * environment variables, so the default chain's SSO, INI, process and IMDS
 * providers (and the STS/SSO clients they pull in) are dead weight: about a
 * quarter of the bundle. Only the environment provider is kept.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}): ReturnType<typeof fromEnv> => fromEnv(init);
export const credentialsTreatedAsExpired = () => false;
export const credentialsWillNeedRefresh = () => false;

/** Synth-time pieces shared by the self-managed Grafana constructs (issue #16). */
import { Duration, Token } from 'aws-cdk-lib';
import type { HandlerPlacementOptions } from '../handler-placement';
import type { ISelfManagedGrafana } from '../self-managed-grafana';
import { normaliseServerUrl, SERVER_MAX_SECONDS_TO_LIVE } from './contract';
import { CredentialHandler } from './handler-function';

/** The server's URL, normalised; throws naming the property and the fix. A token URL is passed through unchecked. */
export function validateServerUrl(owner: string, value: string, allowHttp: boolean): string {
  if (Token.isUnresolved(value)) return value;
  const shown = `'${value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1***@')}'`;
  if (/^http:/i.test(value) && !allowHttp) {
    throw new Error(`${owner}: url ${shown} is plain http, which would send the admin credential and every token unencrypted. ` +
      'Use https, or set allowInsecureHttp: true for a server inside a private network');
  }
  const url = /\s/.test(value) ? undefined : normaliseServerUrl(value, allowHttp);
  if (!url) {
    throw new Error(`${owner}: url must be an absolute ${allowHttp ? 'http or https' : 'https'} URL with a host, as https://host[:port][/path], ` +
      `without user name, password, query or fragment; got ${shown}`);
  }
  return url;
}

export interface ServerTimeToLive {
  readonly timeToLive?: Duration;
  readonly neverExpires?: boolean;
}

/**
 * A self-managed credential's lifetime in whole seconds; 0 for one that never
 * expires, which must be asked for with `neverExpires: true`. No 30-day cap:
 * only the server's own limit (`limitSeconds`, from `limitSetting`) if given.
 */
export function validateServerTimeToLive(owner: string, given: ServerTimeToLive, limitSeconds: number | undefined, limitSetting: string): number {
  if (given.neverExpires) {
    if (given.timeToLive !== undefined) throw new Error(`${owner}: timeToLive and neverExpires: true contradict each other; set one of them`);
    if (limitSeconds !== undefined) {
      throw new Error(`${owner}: neverExpires: true, but the server's ${limitSetting} refuses credentials that never expire; set a timeToLive of at most ${Duration.seconds(limitSeconds).toHumanString()}`);
    }
    return 0;
  }
  const ttl = given.timeToLive ?? Duration.days(30);
  const seconds = ttl.toMilliseconds() / 1000;
  if (!Number.isInteger(seconds)) throw new Error(`${owner}: timeToLive must be a whole number of seconds, got ${ttl.toHumanString()}`);
  if (seconds === 0) {
    throw new Error(`${owner}: timeToLive is 0, which Grafana takes as a credential that never expires: a non-expiring token is what this library exists to avoid. ` +
      "Give a lifetime (e.g. GrafanaTtl.parse('30d')), or set neverExpires: true and leave timeToLive unset if you really need one");
  }
  if (seconds < 1 || seconds > SERVER_MAX_SECONDS_TO_LIVE) {
    throw new Error(`${owner}: timeToLive must be between 1 second and ${SERVER_MAX_SECONDS_TO_LIVE / 86_400} days, got ${ttl.toHumanString()}`);
  }
  if (limitSeconds !== undefined && seconds > limitSeconds) {
    throw new Error(`${owner}: timeToLive (${ttl.toHumanString()}) is longer than the server's ${limitSetting} allows (${Duration.seconds(limitSeconds).toHumanString()}); ` +
      'Grafana would refuse it. Shorten timeToLive, or raise the setting on the server and in SelfManagedGrafana.fromAttributes');
  }
  return seconds;
}

export function placementOf(grafana: ISelfManagedGrafana): HandlerPlacementOptions {
  return { vpc: grafana.vpc, vpcSubnets: grafana.vpcSubnets, securityGroups: grafana.securityGroups };
}

/** Lets the handler of `placement` talk to the server, with its admin secret; returns the custom-resource properties that name both. */
export function useServer(handler: CredentialHandler, grafana: ISelfManagedGrafana, orgId: number | undefined, owner: string): Record<string, string> {
  if (orgId !== undefined && !Token.isUnresolved(orgId) && !(Number.isInteger(orgId) && orgId >= 1)) {
    throw new Error(`${owner}: orgId must be a Grafana organization id, a whole number of at least 1; got ${orgId}`);
  }
  handler.allowServer(grafana.url, grafana.adminSecret, owner);
  return {
    GrafanaUrl: grafana.url,
    ...(orgId !== undefined ? { OrgId: String(orgId) } : {}),
    ...(grafana.allowInsecureHttp ? { AllowHttp: 'true' } : {}),
  };
}

/** workspaceUrl is an Amazon Managed Grafana option; a self-managed server is always reached at its url. */
export function refuseWorkspaceUrl(owner: string, options: { readonly workspaceUrl?: string }): void {
  if (options.workspaceUrl !== undefined) {
    throw new Error(`${owner}: workspaceUrl does not apply to a self-managed Grafana: every call and every verification goes to the url of SelfManagedGrafana.fromAttributes. Remove workspaceUrl`);
  }
}

/**
 * What a credential kind must provide to the lifecycle engine and rotation.
 * The engine never looks inside a definition or a record's fields: it only
 * stores them, compares definitions, and hands records back to the issuer.
 */
import type { CredentialResourceProperties } from '../../lib/private/contract';
import type { CredentialRecord } from '../engine/ledger';

/** The `expiresAt` an issuer writes for a credential that never expires. */
export const NEVER_EXPIRES = '9999-12-31T23:59:59.000Z';

/** Whether a credential with this `expiresAt` never expires (NEVER_EXPIRES, by its year). */
export function neverExpires(expiresAt: string): boolean {
  return expiresAt.startsWith('9999-');
}

/**
 * What a credential is. A change of any field means a new credential must be issued, except a change of only
 * the issuer's `inPlaceFields`, which reconfigure() applies to the credentials that exist. Values are strings.
 */
export type Definition = Readonly<Record<string, string>>;

export interface Issued {
  /** The token. It goes into the secret and nowhere else. */
  readonly token: string;
  readonly expiresAt: string;
  /** Non-secret fields stored beside the token, e.g. keyName, keyRole, workspaceId. */
  readonly fields: Record<string, string>;
}

export interface Issuer {
  readonly kind: string;
  /** Human name used in messages, e.g. "API key". */
  readonly noun: string;
  /** Longest credential name the service accepts. */
  readonly maxNameLength: number;
  /** The definition from properties that parseProperties (lib/private/contract.ts) has checked. */
  definitionFrom(props: CredentialResourceProperties): Definition;
  /** Prefix that every name issued under this definition starts with. */
  namePrefix(definition: Definition): string;
  /** Issues a credential called `name`. Throws NameInUseError when the name is taken. */
  issue(definition: Definition, name: string): Promise<Issued>;
  /** Revokes the credential called `name`, if it exists. */
  revokeByName(definition: Definition, name: string): Promise<void>;
  /** Revokes the credential behind a record; one that is already gone counts as revoked. */
  revoke(record: CredentialRecord): Promise<void>;
  /** The name of the credential behind a record (for logs and attributes). */
  nameOf(record: CredentialRecord): string;
  /**
   * Checks that a newly issued credential works, at a target that only the
   * template and the service decide (never a tag or the stored record alone).
   * Resolves true when verified, false when the definition turns verification
   * off; throws when the credential does not work or the target is refused.
   */
  verify(record: CredentialRecord): Promise<boolean>;
  /**
   * Names of credentials under this definition's prefix that exist in the
   * service, for issuers whose service can list them; undefined otherwise.
   */
  listIssuedNames?(definition: Definition): Promise<string[] | undefined>;
  /**
   * Definition fields that can change without issuing a new credential (e.g. an API Gateway key's usage plans).
   * When an Update changes nothing else, the engine keeps the credential and calls reconfigure() instead.
   */
  readonly inPlaceFields?: readonly string[];
  /**
   * Brings the existing credential behind `record` to `definition`, which differs from the record's definition
   * only in inPlaceFields. `replaced` is the definition CloudFormation held before this event (it can differ from
   * the record's when an earlier event died half-way). Idempotent; a credential that is already gone counts as
   * done. Resolves to the record's new fields.
   */
  reconfigure?(record: CredentialRecord, definition: Definition, replaced: Definition): Promise<Record<string, string>>;
}

/** Bad custom-resource input; the message names the property and the fix. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** The name asked for is already taken in the service (a retry, or a crash between issue and store). */
export class NameInUseError extends Error {
  constructor(readonly credentialName: string) {
    super(`${credentialName} already exists`);
    this.name = 'NameInUseError';
  }
}

/** A failure whose message is already written for the user: resource, cause, fix. */
export class ServiceError extends Error {
  constructor(message: string, readonly retryable = false) {
    super(message);
    this.name = 'ServiceError';
  }
}

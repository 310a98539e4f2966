/**
 * Every name the engine uses is derived, never random, so that whoever comes
 * next (a retry, a rollback, a Delete after a crash) can compute it again.
 *
 * A *generation* is one issue of a credential definition: ten hex digits. The
 * custom resource's physical id is `<prefix>-<generation>`, which is also the
 * name of the generation's first credential. Each generation has three
 * *slots*; rotation cycles through them, so every credential a generation can
 * ever have is `nameOf(prefix, generation, slot)` for one of three slots.
 */
import { createHash } from 'crypto';

export const SLOTS = 3;

const hex10 = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 10);

/** The generation a Create issues: derived from what the rollback Delete also carries. */
export function createGeneration(stackId: string, logicalResourceId: string): string {
  return hex10(`create:${stackId}/${logicalResourceId}`);
}

/** The generation an Update issues when it replaces `from` with a new definition (and maybe a new secret). */
export function nextGeneration(from: string, definition: Readonly<Record<string, string>>, secretArn: string): string {
  const canonical = JSON.stringify(Object.keys(definition).sort().map((k) => [k, definition[k]]));
  return hex10(`update:${from}:${secretArn}:${canonical}`);
}

/** The name of the credential in `slot` of `generation`. */
export function credentialName(prefix: string, generation: string, slot: number): string {
  return `${prefix}-${slot === 0 ? generation : hex10(`${generation}:${slot}`)}`;
}

export function physicalIdOf(prefix: string, generation: string): string {
  return credentialName(prefix, generation, 0);
}

/** The generation a physical id names, or undefined for a marker or a foreign id. */
export function generationOf(physicalId: string): string | undefined {
  return /-([0-9a-f]{10})$/.exec(physicalId)?.[1];
}

/** The custom staging label of a slot. Secrets Manager never moves it by itself. */
export function ownLabel(generation: string, slot: number): string {
  return `OWN-${generation}-${slot}`;
}

export function parseOwnLabel(label: string): { generation: string; slot: number } | undefined {
  const m = /^OWN-([0-9a-f]{10})-([0-9])$/.exec(label);
  return m ? { generation: m[1], slot: Number(m[2]) } : undefined;
}

export const nextSlot = (slot: number) => (slot + 1) % SLOTS;
export const previousSlot = (slot: number) => (slot + SLOTS - 1) % SLOTS;

/** A secret version id (a ClientRequestToken, 32 to 64 characters) for one write of one request. */
export function versionIdFor(seed: string): string {
  const h = createHash('sha256').update(`version:${seed}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

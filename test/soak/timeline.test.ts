/** The soak's key timeline: lanes show overlap, and the SVG draws exactly what happened. */
import { endOf, mostAtOnce, packLanes, renderSvg, Timeline, window } from './timeline';

const DAY = 86_400_000;
const key = (name: string, from: number, to: number, expires = to + 10) => ({ name, issuedAt: from * DAY, revokedAt: to * DAY, expiresAt: expires * DAY });

test('keys that overlap take a second lane; a key issued after one ended reuses its lane', () => {
  const keys = [key('a', 0, 6), key('b', 5, 11), key('c', 10, 16), key('d', 20, 25)];
  expect(packLanes(keys)).toEqual([0, 1, 0, 0]);
  expect(mostAtOnce(keys)).toBe(2);
  expect(mostAtOnce([key('a', 0, 6), key('b', 1, 6), key('c', 2, 6)])).toBe(3);
});

test('a key ends at its revoke or its expiry, whichever came first', () => {
  expect(endOf({ name: 'x', issuedAt: 0, revokedAt: 9 * DAY, expiresAt: 7 * DAY })).toBe(7 * DAY);
  expect(endOf({ name: 'x', issuedAt: 0, expiresAt: 7 * DAY })).toBe(7 * DAY);
});

test('the SVG has a bar per key (light when it expired before it was revoked), a tick per rotation and a line per update', () => {
  const t: Timeline = {
    credential: 'key 7d', start: 0, end: 30 * DAY,
    keys: [key('a', 0, 6), key('b', 5, 11), { name: 'c', issuedAt: 10 * DAY, expiresAt: 17 * DAY, revokedAt: 20 * DAY }],
    rotations: [5 * DAY, 10 * DAY], updates: [{ at: 12 * DAY, rolledBack: true }],
  };
  const svg = renderSvg(t);
  expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  expect(svg).toContain('key 7d: 3 keys over 30 days, at most 2 working at once');
  expect(svg.match(/fill="#4c78a8"><title>/g)).toHaveLength(2);
  expect(svg.match(/fill="#9ecae9"><title>c: issued day 10.0, expired day 17.0/g)).toHaveLength(1);
  expect(svg.match(/<title>rotation, day/g)).toHaveLength(2);
  expect(svg.match(/<title>stack update, rolled back, day 12.0/g)).toHaveLength(1);
  expect(svg.trim().endsWith('</svg>')).toBe(true);
});

test('a window keeps what overlaps it', () => {
  const t: Timeline = { credential: 'k', start: 0, end: 30 * DAY, keys: [key('a', 0, 6), key('b', 20, 25)], rotations: [3 * DAY, 22 * DAY], updates: [] };
  const w = window(t, 0, 10 * DAY);
  expect(w.keys.map((k) => k.name)).toEqual(['a']);
  expect(w.rotations).toEqual([3 * DAY]);
});

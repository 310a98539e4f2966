/**
 * One credential's keys over the soak's simulated time, drawn as an SVG: each
 * key a bar from issue to revoke (or expiry), rotations and stack updates
 * marked, so the overlap that rotation gives is visible at a glance. Keys are
 * packed into as few lanes as their lifetimes allow: two lanes mean two keys
 * were live at once.
 */

export interface TimelineKey {
  readonly name: string;
  readonly issuedAt: number;
  /** When it was revoked; undefined if it was still valid when the run ended. */
  readonly revokedAt?: number;
  readonly expiresAt: number;
}

export interface Timeline {
  readonly credential: string;
  readonly start: number;
  readonly end: number;
  readonly keys: readonly TimelineKey[];
  readonly rotations: readonly number[];
  readonly updates: ReadonlyArray<{ readonly at: number; readonly rolledBack: boolean }>;
}

const DAY = 24 * 3600_000;
const LANE = 14;
const LEFT = 8;
const TOP = 26;

/** When a key stopped working: revoked, or expired, whichever came first. */
export function endOf(key: TimelineKey): number {
  return Math.min(key.revokedAt ?? Infinity, key.expiresAt);
}

/** Assigns each key the first lane free at its issue time; returns the lane of each key, in the order given. */
export function packLanes(keys: readonly TimelineKey[]): number[] {
  const laneEnds: number[] = [];
  return keys.map((key) => {
    let lane = laneEnds.findIndex((end) => end <= key.issuedAt);
    if (lane < 0) lane = laneEnds.push(0) - 1;
    laneEnds[lane] = endOf(key);
    return lane;
  });
}

/** The most keys that worked at the same moment. */
export function mostAtOnce(keys: readonly TimelineKey[]): number {
  const edges = keys.flatMap((k) => [[k.issuedAt, 1], [endOf(k), -1]] as Array<[number, number]>)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0;
  let most = 0;
  for (const [, d] of edges) { live += d; most = Math.max(most, live); }
  return most;
}

/** The timeline cut to [start, end): keys and marks outside it are left out, bars clipped to it. */
export function window(t: Timeline, start: number, end: number): Timeline {
  return {
    ...t, start, end,
    keys: t.keys.filter((k) => k.issuedAt < end && endOf(k) > start),
    rotations: t.rotations.filter((r) => r >= start && r < end),
    updates: t.updates.filter((u) => u.at >= start && u.at < end),
  };
}

export function renderSvg(t: Timeline, widthPx = 900): string {
  const keys = [...t.keys].sort((a, b) => a.issuedAt - b.issuedAt);
  const lanes = packLanes(keys);
  const laneCount = Math.max(1, ...lanes.map((l) => l + 1));
  const span = t.end - t.start;
  const plotWidth = widthPx - LEFT - 24;
  const x = (ms: number) => LEFT + (Math.min(Math.max(ms, t.start), t.end) - t.start) / span * plotWidth;
  const plotBottom = TOP + laneCount * LANE;
  const height = plotBottom + 34;
  const days = Math.round(span / DAY);
  const tickEvery = days > 120 ? 30 : days > 30 ? 10 : 5;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${height}" viewBox="0 0 ${widthPx} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<title>${escape(t.credential)}: every key over ${days} simulated days</title>`);
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  parts.push(`<text x="${LEFT}" y="14" font-weight="bold">${escape(t.credential)}: ${keys.length} keys over ${days} days, at most ${mostAtOnce(keys)} working at once</text>`);
  for (let d = 0; d <= days; d += tickEvery) {
    const tx = x(t.start + d * DAY);
    parts.push(`<line x1="${tx.toFixed(1)}" y1="${TOP - 4}" x2="${tx.toFixed(1)}" y2="${plotBottom}" stroke="#eee"/>`);
    parts.push(`<text x="${tx.toFixed(1)}" y="${plotBottom + 12}" text-anchor="middle" fill="#666">day ${d}</text>`);
  }
  keys.forEach((key, i) => {
    const y = TOP + lanes[i] * LANE;
    const x1 = x(key.issuedAt);
    const x2 = x(endOf(key));
    const how = key.revokedAt !== undefined && key.revokedAt <= key.expiresAt ? 'revoked' : 'expired';
    parts.push(`<rect x="${x1.toFixed(1)}" y="${y}" width="${Math.max(1, x2 - x1).toFixed(1)}" height="${LANE - 4}" rx="2" fill="${how === 'revoked' ? '#4c78a8' : '#9ecae9'}">` +
      `<title>${escape(key.name)}: issued day ${dayOf(t, key.issuedAt)}, ${how} day ${dayOf(t, endOf(key))}</title></rect>`);
  });
  for (const r of t.rotations) {
    parts.push(`<line x1="${x(r).toFixed(1)}" y1="${TOP - 6}" x2="${x(r).toFixed(1)}" y2="${TOP - 1}" stroke="#333"><title>rotation, day ${dayOf(t, r)}</title></line>`);
  }
  for (const u of t.updates) {
    parts.push(`<line x1="${x(u.at).toFixed(1)}" y1="${TOP - 6}" x2="${x(u.at).toFixed(1)}" y2="${plotBottom}" stroke="${u.rolledBack ? '#f58518' : '#54a24b'}" stroke-dasharray="3,2">` +
      `<title>stack update${u.rolledBack ? ', rolled back' : ''}, day ${dayOf(t, u.at)}</title></line>`);
  }
  const ly = plotBottom + 26;
  const legend: Array<[number, string, string]> = [
    [0, '<rect width="10" height="8" fill="#4c78a8"/>', 'key, from issue until revoked'],
    [200, '<rect width="10" height="8" fill="#9ecae9"/>', 'key, until it expired (revoked later)'],
    [445, '<line x1="5" y1="0" x2="5" y2="8" stroke="#333"/>', 'rotation'],
    [520, '<line x1="5" y1="0" x2="5" y2="8" stroke="#f58518" stroke-dasharray="3,2"/>', 'stack update, rolled back'],
    [690, '<line x1="5" y1="0" x2="5" y2="8" stroke="#54a24b" stroke-dasharray="3,2"/>', 'stack update'],
  ];
  for (const [dx, mark, text] of legend) {
    parts.push(`<g transform="translate(${LEFT + dx},${ly - 8})">${mark}<text x="14" y="8">${text}</text></g>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function dayOf(t: Timeline, ms: number): string {
  return ((ms - t.start) / DAY).toFixed(1);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

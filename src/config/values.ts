// Parsers for config values. Each throws ValueProblem with the problem alone; the section reader adds file:line and key.

export class ValueProblem extends Error {
  override name = 'ValueProblem';
}

/** Largest id kidfs hands out: 4294967295 is (uid_t)-1 and 4294967294 is the NFS "nobody" of many servers. */
export const MAX_ID = 4294967293;

function parseId(value: string, kind: 'uid' | 'gid'): number {
  if (!/^\d+$/.test(value)) throw new ValueProblem(`${kind} ${JSON.stringify(value)} is not a number`);
  const id = Number(value);
  if (id === 0) {
    throw new ValueProblem(
      kind === 'uid' ? `uid "0" is not allowed (uid 0 is never mapped)` : `gid "0" is not allowed (root's group is never mapped)`,
    );
  }
  if (id > MAX_ID) throw new ValueProblem(`${kind} ${JSON.stringify(value)} is too large (at most ${MAX_ID})`);
  return id;
}

export const parseUid = (value: string): number => parseId(value, 'uid');
export const parseGid = (value: string): number => parseId(value, 'gid');

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `5m`, `1h` -> milliseconds. A unit is required so nobody guesses. */
export function parseDuration(value: string): number {
  const match = /^(\d+)\s*(ms|s|m|h)$/.exec(value);
  if (!match) throw new ValueProblem(`${JSON.stringify(value)} is not a duration: write e.g. 500ms, 30s, 5m or 1h`);
  return Number(match[1]) * durationUnits[match[2]!]!;
}

export function parseBoolean(value: string): boolean {
  if (value === 'yes' || value === 'true') return true;
  if (value === 'no' || value === 'false') return false;
  throw new ValueProblem(`${JSON.stringify(value)} is not yes or no`);
}

export function parseChoice<const C extends string>(choices: readonly C[]): (value: string) => C {
  return (value) => {
    if ((choices as readonly string[]).includes(value)) return value as C;
    throw new ValueProblem(`${JSON.stringify(value)} is not one of: ${choices.join(', ')}`);
  };
}

export function parseNonEmpty(value: string): string {
  if (value === '') throw new ValueProblem('is empty');
  return value;
}

const sizeUnits: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** `4096B`, `512KiB`, `64MiB`, `1GiB` -> bytes. A unit is required, as for durations. */
export function parseSize(value: string): number {
  const match = /^(\d+)\s*(B|KiB|MiB|GiB)$/.exec(value);
  if (!match) throw new ValueProblem(`${JSON.stringify(value)} is not a size: write e.g. 512KiB, 64MiB or 1GiB`);
  const bytes = Number(match[1]) * sizeUnits[match[2]!]!;
  if (!Number.isSafeInteger(bytes)) throw new ValueProblem(`${JSON.stringify(value)} is too large`);
  return bytes;
}

/** A whole number from 1 to 100000. */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 100_000)
    throw new ValueProblem(`${JSON.stringify(value)} is not a whole number from 1 to 100000`);
  return Number(value);
}

/** Bytes per second as a size (`50MiB`), at least 64KiB; `none`: no limit. */
export function parseByteRate(value: string): number | undefined {
  if (value === 'none') return undefined;
  const bytes = parseSize(value);
  if (bytes < 64 * 1024)
    throw new ValueProblem(`${JSON.stringify(value)} is below 64KiB (per second), too slow for one read; write none for no limit`);
  return bytes;
}

/** Operations per second, or `none` (no limit). */
export function parseOpRate(value: string): number | undefined {
  return value === 'none' ? undefined : parseCount(value);
}

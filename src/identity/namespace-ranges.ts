// The uid ranges cluster admins set on Namespace objects, read from one list of all namespaces so that
// overlaps are seen: a range overlapping another namespace's is refused for both.
import type { V1Namespace } from '@kubernetes/client-node';
import { IdentityError } from './identity.ts';
import { formatRange, parseUidRange, rangesOverlap, type UidRange } from './uid-range.ts';

export interface NamespaceRanges {
  readonly valid: ReadonlyMap<string, UidRange>;
  /** Namespaces whose annotation is there but unusable, with why. */
  readonly invalid: ReadonlyMap<string, string>;
  /** The annotation read, for messages. */
  readonly annotation: string;
}

export function readNamespaceRanges(namespaces: readonly V1Namespace[], annotation: string, minUid: number): NamespaceRanges {
  const parsed = new Map<string, UidRange>();
  const invalid = new Map<string, string>();
  for (const namespace of namespaces) {
    const name = namespace.metadata?.name;
    const text = namespace.metadata?.annotations?.[annotation];
    if (!name || text === undefined) continue;
    try {
      parsed.set(name, parseUidRange(text, minUid));
    } catch (err) {
      invalid.set(name, `its ${annotation} annotation ${(err as Error).message}`);
    }
  }
  const valid = new Map(parsed);
  for (const [name, range] of parsed) {
    for (const [other, otherRange] of parsed) {
      if (other !== name && rangesOverlap(range, otherRange)) {
        valid.delete(name);
        invalid.set(name, `its ${annotation} ${formatRange(range)} overlaps namespace ${other}'s ${formatRange(otherRange)}`);
        break;
      }
    }
  }
  return { valid, invalid, annotation };
}

/** The namespace's range, or a refusal saying what a cluster admin has to do. */
export function rangeOf(ranges: NamespaceRanges, namespace: string, serviceAccount: string): UidRange {
  const range = ranges.valid.get(namespace);
  if (range) return range;
  const problem = ranges.invalid.get(namespace);
  if (problem) throw new IdentityError('refused', `namespace ${namespace}: ${problem}; a cluster admin must correct it`);
  throw new IdentityError(
    'refused',
    `namespace ${namespace} has no ${ranges.annotation} annotation: a cluster admin sets one ` +
      `(kubectl annotate namespace ${namespace} ${ranges.annotation}=<first uid>/<count>) or lists ${namespace}/${serviceAccount} in [static]`,
  );
}

/** The namespace whose range holds `id`, if any. */
export function namespaceHolding(ranges: NamespaceRanges, id: number): string | undefined {
  for (const [name, range] of ranges.valid) if (id >= range.first && id < range.first + range.count) return name;
  return undefined;
}

// A namespace's uid range, set by a cluster admin as a Namespace annotation `<first>/<count>`
// (the format of OpenShift's openshift.io/sa.scc.uid-range). The first id is the namespace's group;
// service accounts get uids from the rest.
import { MAX_ID } from '../config/index.ts';

export interface UidRange {
  readonly first: number;
  readonly count: number;
}

const NOBODY = 65534;

export const lastId = (range: UidRange): number => range.first + range.count - 1;
export const formatRange = (range: UidRange): string => `${range.first}/${range.count}`;
export const inRange = (range: UidRange, id: number): boolean => id >= range.first && id <= lastId(range);
export const rangesOverlap = (a: UidRange, b: UidRange): boolean => a.first <= lastId(b) && b.first <= lastId(a);

/** Parses and checks an annotation value; throws an Error whose message says what is wrong with it. */
export function parseUidRange(text: string, minUid: number): UidRange {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match) throw new Error(`${JSON.stringify(text)} is not <first uid>/<count>, e.g. 200000/10000`);
  const range = { first: Number(match[1]), count: Number(match[2]) };
  if (range.count < 2) throw new Error(`${JSON.stringify(text)} has fewer than 2 ids (one is the namespace's group)`);
  if (range.first < minUid) throw new Error(`${JSON.stringify(text)} starts below [identity] min-uid ${minUid}`);
  if (lastId(range) > MAX_ID) throw new Error(`${JSON.stringify(text)} ends above ${MAX_ID}`);
  if (inRange(range, NOBODY)) throw new Error(`${JSON.stringify(text)} contains ${NOBODY} (nobody)`);
  return range;
}

// A volume's directory under its export as requests name it (subDir): relative, and never leaving the export.
import { invalidField } from './node-error.ts';

/** Longest subDir kidfs takes (NFS names are at most 255 bytes each; the whole path stays reasonable). */
const MAX_SUBDIR = 1024;

/**
 * A subDir as written in a request -> its segments joined by '/' ('' for the export itself).
 * Refuses what could leave the export or confuse a volume id: absolute paths, `..`, `.`, empty segments,
 * NUL, control characters and `#`.
 */
export function checkSubDir(value: string, field: string): string {
  if (value === '' || value === '/') return '';
  if (value.startsWith('/')) throw invalidField(field, `${JSON.stringify(value)} is absolute: write a path relative to the export`);
  if (value.length > MAX_SUBDIR) throw invalidField(field, `is longer than ${MAX_SUBDIR} characters`);
  if (/[\x00-\x1f\x7f#]/.test(value)) throw invalidField(field, `${JSON.stringify(value)} contains a control character or #`);
  const segments = value.replace(/\/$/, '').split('/');
  for (const segment of segments) {
    if (segment === '..') throw invalidField(field, `${JSON.stringify(value)} leaves the export (..)`);
    if (segment === '' || segment === '.') throw invalidField(field, `${JSON.stringify(value)} has an empty or . segment`);
    if (Buffer.byteLength(segment) > 255)
      throw invalidField(field, `segment ${JSON.stringify(segment.slice(0, 20))}... is longer than 255 bytes`);
  }
  return segments.join('/');
}

// Volume ids of provisioned volumes: `<export URL>#<subDir>#<onDelete>`, e.g.
// `nfs://nfs.example/exports/k8s#pvc-5f2c...#delete`. DeleteVolume gets nothing but the id, so the id says
// where the directory is and what to do with it; the id is checked as strictly as a request.
import { formatNfsUrl, type NfsUrl, NfsUrlError, parseNfsUrl } from '../nfs/index.ts';
import { checkSubDir, invalidField } from '../csi/index.ts';

import type { VolumeRef } from '../fs/index.ts';

export const ON_DELETE = ['delete', 'retain', 'archive'] as const;
export type OnDelete = (typeof ON_DELETE)[number];

export function formatVolumeId(ref: VolumeRef): string {
  return `${formatNfsUrl(ref.export)}#${ref.subDir}#${ref.onDelete}`;
}

export function parseVolumeId(id: string, field = 'volume_id'): VolumeRef {
  if (id === '') throw invalidField(field, 'is required');
  const parts = id.split('#');
  if (parts.length !== 3) throw invalidField(field, `${JSON.stringify(id)} is not a kidfs volume id (<nfs URL>#<subDir>#<onDelete>)`);
  const [url, subDirText, onDelete] = parts as [string, string, string];
  let exportUrl: NfsUrl;
  try {
    exportUrl = parseNfsUrl(url);
  } catch (err) {
    if (err instanceof NfsUrlError) throw invalidField(field, `names no NFS export: ${err.message}`);
    throw err;
  }
  const subDir = checkSubDir(subDirText, `the subDir of ${field}`);
  if (subDir === '') throw invalidField(field, `${JSON.stringify(id)} names the export itself, not a volume directory under it`);
  if (!(ON_DELETE as readonly string[]).includes(onDelete)) {
    throw invalidField(field, `ends in ${JSON.stringify(onDelete)}, not one of ${ON_DELETE.join(', ')}`);
  }
  return { export: exportUrl, subDir, onDelete: onDelete as OnDelete };
}

// Names for identities and groups in passwd(5)/group(5): at most 32 characters (useradd, pwck and many
// NFS servers' tools stop there), the same on every node, and distinct for distinct service accounts.
import { createHash } from 'node:crypto';

export const MAX_NAME_LENGTH = 32;
const HASH_LENGTH = 6;

/** `name` itself when it fits, else its head and a short hash of the whole: `<head>-<6 hex>`. */
export function fitName(name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_LENGTH);
  return `${name.slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1)}-${hash}`;
}

/** `cms/editor` -> `cms.editor` (a namespace never has a dot, so the first dot splits it back). */
export function userName(namespace: string, serviceAccount: string): string {
  return fitName(`${namespace}.${serviceAccount}`);
}

/** A namespace's group, e.g. `ns-cms` with prefix `ns-`. */
export function namespaceGroupName(prefix: string, namespace: string): string {
  return fitName(`${prefix}${namespace}`);
}

/** A gid that kidfs uses but no config names (e.g. in a [static] line). */
export function unnamedGroupName(gid: number): string {
  return `kidfs-gid-${gid}`;
}

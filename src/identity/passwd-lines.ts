// passwd(5) and group(5) lines for an identity directory, so an NFS server admin can name kidfs's ids.
import type { Identity } from './identity.ts';
import type { GroupInfo } from './identity-directory.ts';

/** `cms.editor:x:200001:200000:kidfs cms/editor:/nonexistent:/usr/sbin/nologin` */
export function passwdLine(identity: Identity): string {
  return `${identity.name}:x:${identity.uid}:${identity.gid}:kidfs ${identity.namespace}/${identity.serviceAccount}:/nonexistent:/usr/sbin/nologin`;
}

/** `ns-cms:x:200000:cms.editor,cms.viewer` (members: those with it as a supplementary group). */
export function groupLine(group: GroupInfo): string {
  return `${group.name}:x:${group.gid}:${group.members.join(',')}`;
}

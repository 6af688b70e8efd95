// `kidfs identity <namespace>/<serviceaccount>`: the identity a mount would get, and where it comes from.
// Records nothing: a service account without a recorded uid is shown with the uid its first mount would record.
import { loadConfig, parseNamespacedName } from '../config/index.ts';

import { IdentityResolver, listIdentities } from '../identity/index.ts';

export interface IdentityCommandOptions {
  /** Path of the kidfs INI file. */
  readonly config: string;
  /** `<namespace>/<serviceaccount>`. */
  readonly account: string;
}

/** Writes two lines to `out`: `ns/sa: uid=..(name) gid=..(group) groups=..` and `source: ...`. Throws on refusal. */
export async function identityCommand(options: IdentityCommandOptions, out: NodeJS.WritableStream): Promise<void> {
  let account;
  try {
    const { namespace, name } = parseNamespacedName(options.account, 'serviceaccount');
    account = { namespace, serviceAccount: name };
  } catch (err) {
    throw new Error(`${(err as Error).message}: write kidfs identity <namespace>/<serviceaccount>`);
  }
  const resolver = new IdentityResolver(loadConfig(options.config), { log: () => {} });
  const identity = await resolver.resolveServiceAccount(account, { dryRun: true });
  // Group names are a courtesy: numbers alone when the directory cannot be listed.
  const names = new Map<number, string>();
  try {
    for (const group of (await listIdentities(resolver)).groups) names.set(group.gid, group.name);
  } catch {
    // keep the numbers
  }
  const id = (n: number, name?: string) => (name ? `${n}(${name})` : String(n));
  out.write(
    `${options.account}: uid=${id(identity.uid, identity.name)} gid=${id(identity.gid, names.get(identity.gid))}` +
      ` groups=${identity.groups.map((g) => id(g, names.get(g))).join(',')}\n`,
  );
  out.write(`source: ${identity.source}\n`);
}

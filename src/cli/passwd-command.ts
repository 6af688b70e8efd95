// `kidfs passwd`: passwd(5) and group(5) lines for every identity kidfs knows, for the NFS server's admin.
import { loadConfig } from '../config/index.ts';
import { groupLine, IdentityResolver, listIdentities, passwdLine } from '../identity/index.ts';

export interface PasswdCommandOptions {
  /** Path of the kidfs INI file. */
  readonly config: string;
  /**
   * Only the passwd lines, or only the group lines (ready to append to /etc/passwd or /etc/group). Default both, each
   * under a `# file` heading.
   */
  readonly only?: 'passwd' | 'group';
}

/** Writes the lines to `out`, and one line per identity left out to `err`; returns how many were left out. */
export async function passwdCommand(
  options: PasswdCommandOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<{ problems: number }> {
  const resolver = new IdentityResolver(loadConfig(options.config), { log: () => {} });
  const directory = await listIdentities(resolver);
  const both = options.only === undefined;
  if (options.only !== 'group') {
    if (both) out.write('# passwd(5)\n');
    for (const identity of directory.identities) out.write(`${passwdLine(identity)}\n`);
  }
  if (options.only !== 'passwd') {
    if (both) out.write('# group(5)\n');
    for (const group of directory.groups) out.write(`${groupLine(group)}\n`);
  }
  for (const problem of directory.problems) err.write(`kidfs passwd: left out: ${problem}\n`);
  return { problems: directory.problems.length };
}

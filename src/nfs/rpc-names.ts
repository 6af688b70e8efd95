// Names of the ONC RPC programs and procedures kidfs speaks, so errors say "NFS v3 WRITE", not "100003/3/7".

const PROGRAMS = new Map<number, { name: string; procedures: Record<number, readonly string[]> }>([
  [100000, { name: 'portmapper', procedures: { 2: ['NULL', 'SET', 'UNSET', 'GETPORT', 'DUMP', 'CALLIT'] } }],
  [
    100003,
    {
      name: 'NFS',
      procedures: {
        3: [
          'NULL',
          'GETATTR',
          'SETATTR',
          'LOOKUP',
          'ACCESS',
          'READLINK',
          'READ',
          'WRITE',
          'CREATE',
          'MKDIR',
          'SYMLINK',
          'MKNOD',
          'REMOVE',
          'RMDIR',
          'RENAME',
          'LINK',
          'READDIR',
          'READDIRPLUS',
          'FSSTAT',
          'FSINFO',
          'PATHCONF',
          'COMMIT',
        ],
      },
    },
  ],
  [100005, { name: 'MOUNT', procedures: { 3: ['NULL', 'MNT', 'DUMP', 'UMNT', 'UMNTALL', 'EXPORT'] } }],
]);

/** "NFS", "MOUNT", or "program 100099". */
export function programName(program: number): string {
  return PROGRAMS.get(program)?.name ?? `program ${program}`;
}

/** "NFS v3 WRITE", or "program 100099 v1 procedure 4" for what is not in the table. */
export function describeCall(program: number, version: number, procedure: number): string {
  const name = PROGRAMS.get(program)?.procedures[version]?.[procedure];
  return `${programName(program)} v${version} ${name ?? `procedure ${procedure}`}`;
}

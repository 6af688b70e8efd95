// `kidfs unmount <target> [--force]`: asks the mount's own process (on its socket) to commit open files and unmount,
// and waits for it; the process refuses while files are open unless --force. A mount whose process is gone (callers
// get ENOTCONN) is detached with umount -l.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { isRunning, readRecord, removeRecord, type StandaloneRecord } from './standalone-records.ts';
import { askMount, socketPath, type MountUse } from './standalone-socket.ts';
import { KIDFS_FSTYPE, mountAt } from '../mount/index.ts';

/** After this long without the process exiting, say what is being waited for. */
const PATIENCE_MS = 10_000;

export function registerUnmountCommand(program: Command): void {
  program
    .command('unmount')
    .description('commit what is open in a kidfs mount, unmount it and stop its process')
    .argument('<target>', 'the directory the export is mounted on')
    .option('--force', 'unmount even while files are open (their data is committed first; their next use fails)')
    .action(async (target: string, options: { force?: boolean }) => {
      process.stdout.write(`${await unmount(resolve(target), options.force ?? false)}\n`);
    });
}

/** Unmounts; resolves with the line to show, rejects with one that says why not. */
async function unmount(target: string, force: boolean): Promise<string> {
  const entry = await mountAt(target);
  const record = await readRecord(target);
  if (!entry) {
    if (record && !isRunning(record)) await removeRecord(target, record.pid);
    throw new Error(`${target} is not mounted`);
  }
  if (entry.fstype !== KIDFS_FSTYPE) throw new Error(`${target} is not a kidfs mount (it is ${entry.fstype} from ${entry.source})`);

  if (record && isRunning(record)) {
    // The mount's process decides: it refuses while files are open (as umount says "target is busy").
    const reply = await askMount(target, { op: 'unmount', force }).catch((err: Error) => {
      if (!force)
        throw new Error(
          `kidfs process ${record.pid} of ${target} does not answer on ${socketPath(target)} (${err.message}); --force stops it anyway`,
        );
      process.kill(record.pid, 'SIGTERM');
      return undefined;
    });
    if (reply && !reply.ok)
      throw new Error(
        `${target} is busy: ${openFiles(reply.use, 'is')}; close ${reply.use.openFiles === 1 ? 'it' : 'them'}, or use --force`,
      );
    await exited(record);
    // The process exits after unmounting; if its unmount failed, the mount is dead now and goes like any dead one.
    if ((await mountAt(target))?.fstype !== KIDFS_FSTYPE) {
      return reply && reply.use.openFiles > 0
        ? `unmounted ${target} (forced: ${openFiles(reply.use, 'was')}; written data was committed first)`
        : `unmounted ${target}`;
    }
  }
  await promisify(execFile)('umount', ['-l', target]).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`umount -l ${target} failed: ${(err.stderr || err.message).trim()}`);
  });
  if (record) await removeRecord(target, record.pid);
  return `unmounted ${target} (it was dead: its kidfs process was gone)`;
}

/** "1 file is open (1 for writing)", "2 files were open (0 for writing)" */
function openFiles(use: MountUse, tense: 'is' | 'was'): string {
  const one = use.openFiles === 1;
  const verb = tense === 'is' ? (one ? 'is' : 'are') : one ? 'was' : 'were';
  return `${use.openFiles} file${one ? '' : 's'} ${verb} open (${use.openForWriting} for writing)`;
}

async function exited(record: StandaloneRecord): Promise<void> {
  const since = Date.now();
  let told = false;
  while (isRunning(record)) {
    if (!told && Date.now() - since > PATIENCE_MS) {
      told = true;
      process.stderr.write(
        `kidfs unmount: waiting for kidfs process ${record.pid} to commit open files to the server (Ctrl-C stops waiting, the mount stays)\n`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

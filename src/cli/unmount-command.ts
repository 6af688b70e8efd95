// `kidfs unmount <target>`: asks the mount's own process to commit open files and unmount (SIGTERM), and waits for
// it; a mount whose process is gone (callers get ENOTCONN) is detached with umount -l.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { isRunning, readRecord, removeRecord, type MountRecord } from './mount-records.ts';
import { KIDFS_FSTYPE, mountAt } from '../node/mount-table.ts';

/** After this long without the process exiting, say what is being waited for. */
const PATIENCE_MS = 10_000;

export function registerUnmountCommand(program: Command): void {
  program
    .command('unmount')
    .description('commit what is open in a kidfs mount, unmount it and stop its process')
    .argument('<target>', 'the directory the export is mounted on')
    .action(async (target: string) => {
      process.stdout.write(`${await unmount(resolve(target))}\n`);
    });
}

/** Unmounts; resolves with the line to show, rejects with one that says why not. */
async function unmount(target: string): Promise<string> {
  const entry = await mountAt(target);
  const record = await readRecord(target);
  if (!entry) {
    if (record && !isRunning(record)) await removeRecord(target, record.pid);
    throw new Error(`${target} is not mounted`);
  }
  if (entry.fstype !== KIDFS_FSTYPE) throw new Error(`${target} is not a kidfs mount (it is ${entry.fstype} from ${entry.source})`);

  if (record && isRunning(record)) {
    process.kill(record.pid, 'SIGTERM');
    await exited(record);
    // The process exits after unmounting; if its unmount failed, the mount is dead now and goes like any dead one.
    if ((await mountAt(target))?.fstype !== KIDFS_FSTYPE) return `unmounted ${target}`;
  }
  await promisify(execFile)('umount', ['-l', target]).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`umount -l ${target} failed: ${(err.stderr || err.message).trim()}`);
  });
  if (record) await removeRecord(target, record.pid);
  return `unmounted ${target} (it was dead: its kidfs process was gone)`;
}

async function exited(record: MountRecord): Promise<void> {
  const since = Date.now();
  let told = false;
  while (isRunning(record)) {
    if (!told && Date.now() - since > PATIENCE_MS) {
      told = true;
      process.stderr.write(`kidfs unmount: waiting for kidfs process ${record.pid} to commit open files to the server (Ctrl-C stops waiting, the mount stays)\n`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

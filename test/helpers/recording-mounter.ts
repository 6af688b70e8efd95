// A Mounter for tests of the node layer while no FUSE mount is involved: it checks what the manager
// promises a mounter (an existing, empty directory that is no mount point), records what it was asked,
// and can be told that a mount died or that the next mount fails.
import { readdir, stat } from 'node:fs/promises';
import type { MountSpec, Mounter } from '../../src/node/mounter.ts';
import { isMountPoint } from '../../src/mount/mount-table.ts';

export class RecordingMounter implements Mounter {
  /** Targets served right now. */
  readonly mounts = new Map<string, MountSpec>();
  /** `mount <target>` / `unmount <target>`, in order. */
  readonly calls: string[] = [];
  /** The next mount() rejects with this message. */
  failNext: string | undefined;

  async mount(spec: MountSpec): Promise<void> {
    this.calls.push(`mount ${spec.target}`);
    if (this.failNext) {
      const message = this.failNext;
      this.failNext = undefined;
      throw new Error(message);
    }
    if (!(await stat(spec.target)).isDirectory()) throw new Error(`mounter: ${spec.target} is not a directory`);
    if ((await readdir(spec.target)).length > 0) throw new Error(`mounter: ${spec.target} is not empty`);
    if (await isMountPoint(spec.target)) throw new Error(`mounter: ${spec.target} is a mount point already`);
    if (this.mounts.has(spec.target)) throw new Error(`mounter: ${spec.target} is mounted twice`);
    this.mounts.set(spec.target, spec);
  }

  async unmount(target: string): Promise<void> {
    if (this.mounts.delete(target)) this.calls.push(`unmount ${target}`);
  }

  async revoke(target: string): Promise<void> {
    if (this.mounts.delete(target)) this.calls.push(`revoke ${target}`);
  }

  async isAlive(target: string): Promise<boolean> {
    return this.mounts.has(target);
  }

  /** Like a daemon's mounter at stop: the mounts stop being served (as they would with the process). */
  async close(): Promise<void> {
    this.calls.push('close');
    this.mounts.clear();
  }

  /** The mount's server went away (as after a crash): it is no longer alive. */
  kill(target: string): void {
    this.mounts.delete(target);
  }
}

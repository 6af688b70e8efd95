// A tenant that tries to make the node daemon hold memory, as the security review did (issue 11), run in a process of
// its own inside its mount. argv: <mode> <dir> [count] [bytes]
//   writes <dir> <files> <bytes>  : writes <bytes> to each of <files> new files in 1 MiB writes, keeping them all open
//   reads <dir> <files> <bytes>   : opens the existing files f0..f<files-1> and reads <bytes> from the start of each
//   list <dir>                    : reads the directory's entries one by one (as ls does) and counts them
//   idle <dir> <ms>               : does nothing for <ms> (a benchmark's reference: the other tenant alone)
// It prints `holding <n>` once its files are open and done with (n: bytes written or read, or entries listed), then
// waits for a line on stdin, closes everything, prints `closed` and exits.
import { opendir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const [mode, dir, count, bytes] = [process.argv[2], process.argv[3]!, Number(process.argv[4]), Number(process.argv[5])];
const opened: FileHandle[] = [];

async function writeFile(name: string): Promise<number> {
  const file = await open(join(dir, name), 'w');
  opened.push(file);
  const data = Buffer.alloc(MiB, name.length);
  for (let done = 0; done < bytes;) done += (await file.write(data, 0, Math.min(MiB, bytes - done), done)).bytesWritten;
  return bytes;
}

async function readFile(name: string): Promise<number> {
  const file = await open(join(dir, name), 'r');
  opened.push(file);
  return (await file.read(Buffer.alloc(bytes), 0, bytes, 0)).bytesRead;
}

async function list(): Promise<number> {
  let entries = 0;
  for await (const _ of await opendir(dir, { bufferSize: 32 })) entries++;
  return entries;
}

const names = Array.from({ length: count || 0 }, (_, i) => `f${i}`);
let total: number;
if (mode === 'writes') total = (await Promise.all(names.map(writeFile))).reduce((a, b) => a + b, 0);
else if (mode === 'reads') total = (await Promise.all(names.map(readFile))).reduce((a, b) => a + b, 0);
else if (mode === 'list') total = await list();
else if (mode === 'idle') total = await new Promise((resolve) => setTimeout(() => resolve(0), count));
else throw new Error(`unknown mode ${mode}: writes, reads, list or idle`);
process.stdout.write(`holding ${total}\n`);
process.stdin.once('data', async () => {
  await Promise.all(opened.map((file) => file.close()));
  process.stdout.write('closed\n');
  process.exit(0);
});

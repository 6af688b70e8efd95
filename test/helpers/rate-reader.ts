// Goes as fast as it is let, and counts what got done within a window, for measuring a QoS rate from the program's
// side. argv: <mode> <path> <warm-up ms> <window ms>, mode
//   read : reads the large file <path> in order, 128 KiB at a time; counts the bytes of reads that ended in the window
//   stat : stats names that do not exist in the directory <path> (one file operation each); counts them
// Prints {"count": N, "windowMs": W} and exits once the window has passed.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';

const [mode, path, warmUpMs, windowMs] = [process.argv[2], process.argv[3]!, Number(process.argv[4]), Number(process.argv[5])];
const start = performance.now();
const [from, to] = [start + warmUpMs, start + warmUpMs + windowMs];
let count = 0;

async function readFile(): Promise<void> {
  const handle = await open(path, 'r');
  const buffer = Buffer.alloc(128 * 1024);
  for (let position = 0; ;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) throw new Error(`${path} ended after ${position} bytes, before the window did`);
    position += bytesRead;
    const now = performance.now();
    if (now >= to) break;
    if (now >= from) count += bytesRead;
  }
  await handle.close();
}

async function statMissing(): Promise<void> {
  for (let n = 0; ; n++) {
    await stat(join(path, `missing-${n}`)).then(
      () => {
        throw new Error(`${path}/missing-${n} exists`);
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      },
    );
    const now = performance.now();
    if (now >= to) break;
    if (now >= from) count++;
  }
}

if (mode === 'read') await readFile();
else if (mode === 'stat') await statMissing();
else throw new Error(`unknown mode ${mode}: read or stat`);
process.stdout.write(`${JSON.stringify({ count, windowMs })}\n`);

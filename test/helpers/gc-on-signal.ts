// Preloaded into a process whose memory a test measures (gc-probe.ts sets it up): on SIGUSR2 it runs a full garbage
// collection, then writes one line to stderr with the JS heap it still uses, so that the test reads /proc with no
// garbage counted.
import { gcDoneLine } from './gc-probe.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('gc-on-signal: the process needs --expose-gc');
process.on('SIGUSR2', () => {
  gc();
  process.stderr.write(`${gcDoneLine(process.memoryUsage().heapUsed)}\n`);
});

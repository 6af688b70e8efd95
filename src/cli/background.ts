// Running a kidfs command in the background: the command starts itself again, detached (its own session, cwd /,
// output to a log file), and waits on a pipe for one status line: ready, or the error that stopped it (lines saying
// what it waits for meanwhile are shown as they come).
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';

/** Set in the detached process: the fd of the status pipe (absent when run directly). */
const STATUS_FD_ENV = 'KIDFS_STATUS_FD';
const statusFd = Number(process.env[STATUS_FD_ENV]) || undefined;
delete process.env[STATUS_FD_ENV];
let reported = false;

/** In the detached process: tells the waiting parent what it is waiting for (shown on the parent's stderr). */
export function reportProgress(line: string): void {
  if (statusFd === undefined || reported) return;
  try {
    writeSync(statusFd, `waiting ${line.replace(/\n/g, ' ')}\n`);
  } catch {
    // the parent gave up waiting: nobody to tell
  }
}

/** In the detached process: tells the waiting parent, once, that it is ready (the line to print) or failed (why). */
export function reportStatus(status: 'ready' | 'error', line: string): void {
  if (statusFd === undefined || reported) return;
  reported = true;
  try {
    writeSync(statusFd, `${status} ${line.replace(/\n/g, ' ')}\n`);
    closeSync(statusFd);
  } catch {
    // the parent gave up waiting: nobody to tell
  }
}

/**
 * Starts this program (same Node flags and script) with `args`, detached, its output appended to `logFile`.
 * Resolves with the line it reports when ready; rejects with its error line, or with what is known if it exits first.
 */
export async function runDetached(args: readonly string[], logFile: string): Promise<string> {
  await mkdir(dirname(logFile), { recursive: true });
  const sizeBefore = await stat(logFile).then(
    (s) => s.size,
    () => undefined,
  );
  try {
    return await startDetached(args, logFile, sizeBefore ?? 0);
  } catch (err) {
    // A failed attempt leaves no log behind (its error is the line shown); the log of an earlier mount keeps its lines.
    await (sizeBefore === undefined ? rm(logFile, { force: true }) : truncate(logFile, sizeBefore)).catch(() => undefined);
    throw err;
  }
}

async function startDetached(args: readonly string[], logFile: string, logStart: number): Promise<string> {
  const log = openSync(logFile, 'a', 0o640);
  let child;
  try {
    child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
      cwd: '/',
      detached: true,
      stdio: ['ignore', log, log, 'pipe'],
      env: { ...process.env, [STATUS_FD_ENV]: '3' },
    });
  } finally {
    closeSync(log);
  }
  const pipe = child.stdio[3] as Readable;
  // Interrupted while waiting (Ctrl-C): the background process is told to stop too, and reports how it ended.
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const status = await new Promise<string | undefined>((resolve, reject) => {
    let text = '';
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      text += chunk;
      let newline;
      while ((newline = text.indexOf('\n')) >= 0 && text.startsWith('waiting ')) {
        process.stderr.write(`kidfs: ${text.slice('waiting '.length, newline)}\n`);
        text = text.slice(newline + 1);
      }
    });
    pipe.on('end', () => resolve(text.includes('\n') ? text.slice(0, text.indexOf('\n')) : undefined));
    pipe.on('error', () => resolve(undefined));
    child.once('error', reject);
  });
  pipe.destroy();
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  if (status?.startsWith('ready ')) {
    child.unref();
    return status.slice('ready '.length);
  }
  if (status?.startsWith('error ')) throw new Error(status.slice('error '.length));
  const code = await new Promise<string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(String(child.exitCode ?? child.signalCode));
    else child.once('exit', (exitCode, signal) => resolve(String(exitCode ?? signal)));
  });
  const written = (await readFile(logFile).catch(() => Buffer.alloc(0))).subarray(logStart).toString('utf8');
  const lastLine = written.trim().split('\n').at(-1);
  throw new Error(`the background process exited (${code}) before it was ready${lastLine ? `: ${lastLine}` : ''}`);
}

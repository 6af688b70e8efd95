// Runs one tenant attack (tenant-attack.ts) in a mount while another tenant's probe (tenant-probe.ts) works in its own
// mount, and follows the serving process's memory (RssAnon, sampled every 20 ms) from before the attack until the
// attacker has closed everything. Used by test/node/tenant-isolation.test.ts and scripts/bench-tenants.ts.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rssAnonKiB } from './fuse-server-client.ts';
import { kidfsEnv } from './kidfs-mount.ts';

const ATTACK = new URL('./tenant-attack.ts', import.meta.url).pathname;
const PROBE = new URL('./tenant-probe.ts', import.meta.url).pathname;
const REPO = new URL('../..', import.meta.url).pathname;

export interface ProbeResult {
  readonly count: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly failures: number;
}

export interface AttackResult {
  /** The serving process's RssAnon just before the attack, and the most it reached during it. */
  readonly baseKiB: number;
  readonly peakKiB: number;
  /** What the attacker reported: bytes written or read, or entries listed. */
  readonly holding: number;
  readonly probe: ProbeResult;
}

function node(script: string, args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO, env: kidfsEnv(), stdio: 'pipe' });
}

/** Resolves with the first stdout line matching `pattern`; rejects when the process exits first. */
function line(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<RegExpExecArray> {
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = pattern.exec(out);
      if (match) resolve(match);
    });
    child.once('exit', (code) =>
      reject(new Error(`${child.spawnargs.slice(3).join(' ')} exited (${code}) before printing ${pattern}: ${err.trim()}`)),
    );
  });
}

/** `attack`: tenant-attack.ts's arguments; `probeFile`: a file in the other tenant's mount. */
export async function runAttack(servingPid: number, attack: readonly string[], probeFile: string): Promise<AttackResult> {
  const baseKiB = rssAnonKiB(servingPid);
  let peakKiB = baseKiB;
  const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, rssAnonKiB(servingPid))), 20);
  const probe = node(PROBE, [probeFile]);
  const attacker = node(ATTACK, attack);
  try {
    const probeAnswer = line(probe, /^(\{.*\})\n/m);
    const holding = Number((await line(attacker, /holding (\d+)\n/))[1]);
    const closed = line(attacker, /closed\n/);
    attacker.stdin.write('close\n');
    await closed;
    probe.stdin.write('stop\n');
    const result = JSON.parse((await probeAnswer)[1]!) as ProbeResult;
    return { baseKiB, peakKiB, holding, probe: result };
  } finally {
    clearInterval(sampler);
    attacker.kill('SIGKILL');
    probe.kill('SIGKILL');
  }
}

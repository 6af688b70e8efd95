// RFC 5531 opaque_auth for calls: AUTH_SYS (appendix A) carries the caller's identity, AUTH_NONE nothing.
import { hostname } from 'node:os';
import type { CallCredential, Credential } from './rpc-transport.ts';
import type { XdrWriter } from './xdr.ts';

export const AUTH_NONE = 0;
export const AUTH_SYS = 1;

/** RFC 5531 bounds: a server answers AUTH_BADCRED to more gids or a longer machine name. */
export const AUTH_SYS_MAX_GIDS = 16;
const MAX_MACHINE_NAME_BYTES = 255;

/** Any value will do (RFC 5531 calls it arbitrary); one per process keeps credentials comparable. */
const STAMP = Math.floor(Date.now() / 1000) >>> 0;
const DEFAULT_MACHINE_NAME = Buffer.from(hostname(), 'utf8').subarray(0, MAX_MACHINE_NAME_BYTES);

function checkId(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`AUTH_SYS ${what} must be an integer from 0 to 4294967295, got ${v}`);
  }
}

export function encodeAuthNone(w: XdrWriter): void {
  w.uint32(AUTH_NONE).uint32(0);
}

/** AUTH_SYS with the first 16 supplementary gids; the rest are left out, as every client does. */
export function encodeAuthSys(w: XdrWriter, credential: Credential): void {
  checkId('uid', credential.uid);
  checkId('gid', credential.gid);
  const gids = credential.gids.slice(0, AUTH_SYS_MAX_GIDS);
  gids.forEach((g, i) => checkId(`gids[${i}]`, g));
  const machineName = credential.machineName === undefined ? DEFAULT_MACHINE_NAME : Buffer.from(credential.machineName, 'utf8');
  if (machineName.length > MAX_MACHINE_NAME_BYTES) {
    throw new RangeError(`AUTH_SYS machine name is ${machineName.length} bytes, the limit is ${MAX_MACHINE_NAME_BYTES}`);
  }
  const padded = (machineName.length + 3) & ~3;
  w.uint32(AUTH_SYS);
  w.uint32(4 + 4 + padded + 4 + 4 + 4 + 4 * gids.length);
  w.uint32(STAMP).opaque(machineName).uint32(credential.uid).uint32(credential.gid).uint32(gids.length);
  for (const g of gids) w.uint32(g);
}

export function encodeCredential(w: XdrWriter, credential: CallCredential): void {
  if (credential === null) encodeAuthNone(w);
  else encodeAuthSys(w, credential);
}

/** For messages: who a call was made as. */
export function describeCredential(credential: CallCredential): string {
  if (credential === null) return 'AUTH_NONE';
  const { uid, gid, gids } = credential;
  return `uid=${uid} gid=${gid}` + (gids.length ? ` gids=${gids.slice(0, AUTH_SYS_MAX_GIDS).join(',')}` : '');
}

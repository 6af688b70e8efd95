// RFC 5531 messages: a CALL out, a REPLY in, turned into results or an RpcError that says what happened.
import { describeCredential, encodeAuthNone, encodeCredential } from './auth.ts';
import { fragmentHeaderWord } from './record-marking.ts';
import { RpcAcceptError, RpcAuthError, RpcProtocolError, RpcVersionMismatchError } from './rpc-errors.ts';
import { describeCall, programName } from './rpc-names.ts';
import type { CallCredential } from './rpc-transport.ts';
import { XdrError, XdrReader, XdrWriter } from './xdr.ts';

const CALL = 0;
const REPLY = 1;
const RPC_VERSION = 2;
const MSG_ACCEPTED = 0;
const MSG_DENIED = 1;
const RPC_MISMATCH = 0;
const AUTH_ERROR = 1;
const MAX_AUTH_BYTES = 400;

export interface CallHeader {
  readonly xid: number;
  readonly program: number;
  readonly version: number;
  readonly procedure: number;
  readonly credential: CallCredential;
}

/**
 * A whole CALL as one record, fragment header included, as the pieces to write in order: the arguments are copied
 * once (into the writer) and never again, and opaques encoded by reference (a WRITE's data) not at all.
 */
export function encodeCallRecord(call: CallHeader, encodeArgs: ((w: XdrWriter) => void) | null): Buffer[] {
  const w = new XdrWriter();
  w.uint32(0); // the fragment header, filled in below once the length is known
  w.uint32(call.xid).uint32(CALL).uint32(RPC_VERSION).uint32(call.program).uint32(call.version).uint32(call.procedure);
  encodeCredential(w, call.credential);
  encodeAuthNone(w); // the verifier: AUTH_SYS and AUTH_NONE calls carry none
  encodeArgs?.(w);
  const pieces = w.pieces();
  pieces[0]!.writeUInt32BE(fragmentHeaderWord(w.length - 4, true), 0);
  return pieces;
}

/** The xid of a reply, or undefined when the record is too short to hold one. */
export function replyXid(record: Buffer): number | undefined {
  return record.length >= 4 ? record.readUInt32BE(0) : undefined;
}

/** What a reply answers, for the errors it may become. */
export interface ReplyContext extends CallHeader {
  /** "host:port" */
  readonly server: string;
}

const AUTH_REASONS: readonly (readonly [string, string])[] = [
  ['AUTH_OK', 'the server gave no reason'],
  ['AUTH_BADCRED', "it is malformed or over the server's limits (more than 16 gids, a machine name over 255 bytes)"],
  ['AUTH_REJECTEDCRED', 'the server wants the client to begin a new session'],
  ['AUTH_BADVERF', 'the verifier is malformed'],
  ['AUTH_REJECTEDVERF', 'the verifier expired or was replayed'],
  [
    'AUTH_TOOWEAK',
    'the export wants another security flavor (its SecType / sec= option), or calls from a source port below 1024 ' +
      '(its PrivilegedPort / secure option: connect with privilegedPort)',
  ],
  ['AUTH_INVALIDRESP', 'the response verifier was bogus'],
  ['AUTH_FAILED', 'the server gave no specific reason'],
  ['AUTH_KERB_GENERIC', 'a Kerberos error'],
  ['AUTH_TIMEEXPIRE', 'the Kerberos credential expired'],
  ['AUTH_TKT_FILE', 'a Kerberos ticket file problem'],
  ['AUTH_DECODE', 'the server could not decode the authenticator'],
  ['AUTH_NET_ADDR', 'the network address in the Kerberos ticket is wrong'],
  ['RPCSEC_GSS_CREDPROBLEM', 'no credentials for the user'],
  ['RPCSEC_GSS_CTXPROBLEM', 'a problem with the GSS context'],
];

/**
 * Decodes a REPLY and returns a reader at the procedure's results, or throws the RpcError the reply
 * stands for: RpcAcceptError, RpcAuthError, RpcVersionMismatchError, or RpcProtocolError when it does not decode.
 */
export function decodeReply(record: Buffer, context: ReplyContext): XdrReader {
  const call = describeCall(context.program, context.version, context.procedure);
  const at = `the server at ${context.server}`;
  const malformed = (detail: string) => new RpcProtocolError(`${at} sent a malformed reply to ${call}: ${detail}`);
  const r = new XdrReader(record);
  try {
    r.uint32(); // xid, matched by the caller
    const type = r.uint32();
    if (type !== REPLY) throw malformed(`msg_type is ${type}, not REPLY (1)`);
    const replyStat = r.uint32();
    if (replyStat === MSG_ACCEPTED) {
      r.uint32(); // verifier flavor: AUTH_NONE or AUTH_SYS calls get nothing to check
      r.opaque(MAX_AUTH_BYTES);
      const acceptStat = r.uint32();
      switch (acceptStat) {
        case 0:
          return r;
        case 1:
          throw new RpcAcceptError(
            'PROG_UNAVAIL',
            `${at} does not serve ${programName(context.program)} (PROG_UNAVAIL), asked for ${call}: is it the right port?`,
          );
        case 2: {
          const low = r.uint32();
          const high = r.uint32();
          const supported = low === high ? `version ${low}` : `versions ${low} to ${high}`;
          throw new RpcAcceptError(
            'PROG_MISMATCH',
            `${at} supports ${programName(context.program)} ${supported} only, not v${context.version} (PROG_MISMATCH)`,
          );
        }
        case 3:
          throw new RpcAcceptError('PROC_UNAVAIL', `${at} does not implement ${call} (PROC_UNAVAIL)`);
        case 4:
          throw new RpcAcceptError(
            'GARBAGE_ARGS',
            `${at} could not decode the arguments of ${call} (GARBAGE_ARGS): malformed, or beyond its limits (e.g. a WRITE over wtmax)`,
          );
        case 5:
          throw new RpcAcceptError(
            'SYSTEM_ERR',
            `${at} failed on ${call} with a system error (SYSTEM_ERR), such as running out of memory: try again later`,
          );
        default:
          throw malformed(`accept_stat ${acceptStat} is out of range (0-5)`);
      }
    }
    if (replyStat === MSG_DENIED) {
      const rejectStat = r.uint32();
      if (rejectStat === RPC_MISMATCH) {
        const low = r.uint32();
        const high = r.uint32();
        throw new RpcVersionMismatchError(
          low,
          high,
          `${at} speaks ONC RPC versions ${low} to ${high}, not ${RPC_VERSION} (RPC_MISMATCH), answering ${call}`,
        );
      }
      if (rejectStat === AUTH_ERROR) {
        const stat = r.uint32();
        const [reason, why] = AUTH_REASONS[stat] ?? [`auth_stat ${stat}`, 'an unknown reason'];
        throw new RpcAuthError(
          reason,
          `${at} rejected the credential ${describeCredential(context.credential)} for ${call} (${reason}): ${why}`,
        );
      }
      throw malformed(`reject_stat ${rejectStat} is out of range (0-1)`);
    }
    throw malformed(`reply_stat ${replyStat} is out of range (0-1)`);
  } catch (err) {
    if (err instanceof XdrError) throw malformed(err.message);
    throw err;
  }
}

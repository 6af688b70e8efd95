// The contract between the NFS/MOUNT procedure layers and the ONC RPC transport (RFC 5531).
import type { XdrReader, XdrWriter } from './xdr.ts';

/**
 * The AUTH_SYS credential a call is made under. Identity is an argument of every call,
 * never state of the connection: one connection carries calls of many identities.
 */
export interface Credential {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary gids; only the first 16 are sent (RFC 5531 allows no more). */
  readonly gids: readonly number[];
  /** AUTH_SYS machinename; defaults to the host name. */
  readonly machineName?: string;
}

/** `null` sends AUTH_NONE. */
export type CallCredential = Credential | null;

export interface CallOptions {
  /** Give up on this call after so many milliseconds (across reconnects); overrides the transport's default. */
  readonly timeoutMs?: number;
  /**
   * Read the reply into this buffer when it fits (the results are then views of it), sparing an allocation: leave it
   * alone until the call settles. However the call fails, the transport no longer writes it once it has rejected.
   */
  readonly replyInto?: Buffer;
}

export interface RpcTransport {
  /**
   * Sends one call and resolves with a reader positioned at the start of the procedure's results.
   * Rejects with an RpcError subclass when the server denies or does not accept the call, the reply is
   * malformed, or the call times out.
   */
  call(
    program: number,
    version: number,
    procedure: number,
    credential: CallCredential,
    encodeArgs: ((w: XdrWriter) => void) | null,
    options?: CallOptions,
  ): Promise<XdrReader>;

  /** Fails calls still pending and closes the connection for good. */
  close(): Promise<void>;
}

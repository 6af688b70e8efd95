// Why an RPC call failed, as typed errors with a stable `code`; a wrapped failure is kept as `cause`. The file-system
// layer turns them into errnos (fsErrorOf in src/fs/fs-error.ts); people read their messages.

export type RpcErrorCode =
  'RPC_AUTH' | 'RPC_VERSION_MISMATCH' | 'RPC_ACCEPT' | 'RPC_TIMEOUT' | 'RPC_PROTOCOL' | 'RPC_CONNECTION' | 'RPC_PROGRAM_NOT_REGISTERED';

export abstract class RpcError extends Error {
  override name = 'RpcError';
  abstract readonly code: RpcErrorCode;
}

/** MSG_DENIED / AUTH_ERROR: the server refused the credential (RFC 5531 auth_stat). */
export class RpcAuthError extends RpcError {
  override name = 'RpcAuthError';
  readonly code = 'RPC_AUTH';
  constructor(
    /** e.g. 'AUTH_BADCRED', 'AUTH_TOOWEAK', 'AUTH_REJECTEDCRED' */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** MSG_DENIED / RPC_MISMATCH: the server speaks another RPC version. */
export class RpcVersionMismatchError extends RpcError {
  override name = 'RpcVersionMismatchError';
  readonly code = 'RPC_VERSION_MISMATCH';
  constructor(
    readonly low: number,
    readonly high: number,
    message: string,
  ) {
    super(message);
  }
}

/** MSG_ACCEPTED with a status other than SUCCESS (accept_stat). */
export class RpcAcceptError extends RpcError {
  override name = 'RpcAcceptError';
  readonly code = 'RPC_ACCEPT';
  constructor(
    /** 'PROG_UNAVAIL' | 'PROG_MISMATCH' | 'PROC_UNAVAIL' | 'GARBAGE_ARGS' | 'SYSTEM_ERR' */
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

/** No reply within the call's timeout (the transport kept retrying across reconnects until then). */
export class RpcTimeoutError extends RpcError {
  override name = 'RpcTimeoutError';
  readonly code = 'RPC_TIMEOUT';
}

/** The reply to this call could not be decoded (truncated, bad lengths, garbage), or says what cannot be. */
export class RpcProtocolError extends RpcError {
  override name = 'RpcProtocolError';
  readonly code = 'RPC_PROTOCOL';
}

/** The transport was closed, or could not connect and gave up, before the call completed. */
export class RpcConnectionError extends RpcError {
  override name = 'RpcConnectionError';
  readonly code = 'RPC_CONNECTION';
}

// Why an RPC call failed, as typed errors: the errno mapping (errno.ts) and people read these.

export class RpcError extends Error {
  override name = 'RpcError';
}

/** MSG_DENIED / AUTH_ERROR: the server refused the credential (RFC 5531 auth_stat). */
export class RpcAuthError extends RpcError {
  override name = 'RpcAuthError';
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
  constructor(readonly low: number, readonly high: number, message: string) {
    super(message);
  }
}

/** MSG_ACCEPTED with a status other than SUCCESS (accept_stat). */
export class RpcAcceptError extends RpcError {
  override name = 'RpcAcceptError';
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
}

/** The reply to this call could not be decoded (truncated, bad lengths, garbage). */
export class RpcProtocolError extends RpcError {
  override name = 'RpcProtocolError';
}

/** The transport was closed, or could not connect and gave up, before the call completed. */
export class RpcConnectionError extends RpcError {
  override name = 'RpcConnectionError';
}

// The one error type of the daemons' requests (node, controller, control socket, FlexVolume): a gRPC status name
// (the CSI front end sends it as is, the control socket and FlexVolume pass it on) and a one-line message for people.
// Refusals of the layers below become one here, in asNodeError.
import { FsError } from '../fs/index.ts';
import { IdentityError } from '../identity/index.ts';

export type NodeErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL';

export class NodeError extends Error {
  override name = 'NodeError';
  constructor(
    readonly code: NodeErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A request field that is missing or malformed; `field` is named as the caller wrote it. */
export const invalidField = (field: string, problem: string): NodeError => new NodeError('INVALID_ARGUMENT', `${field} ${problem}`);

/**
 * What a refusal of the file-system layer (walking to a volume's directory, provisioning it) means to a caller:
 * the server's directory tree is not in the state kidfs requires, unless the errno says more.
 */
const CODE_OF_FS_ERROR: Readonly<Record<string, NodeErrorCode>> = {
  ENOENT: 'NOT_FOUND',
  EEXIST: 'ALREADY_EXISTS',
  EACCES: 'PERMISSION_DENIED',
  EINVAL: 'INVALID_ARGUMENT',
  EREMOTEIO: 'UNAVAILABLE',
};

/**
 * Any failure as a NodeError: identity refusals are PERMISSION_DENIED, identity checks that could not be made
 * UNAVAILABLE (kubelet retries), the file-system layer's refusals by their errno, anything unexpected INTERNAL with
 * its message.
 */
export function asNodeError(err: unknown): NodeError {
  if (err instanceof NodeError) return err;
  const cause = { cause: err };
  if (err instanceof IdentityError) return new NodeError(err.kind === 'refused' ? 'PERMISSION_DENIED' : 'UNAVAILABLE', err.message, cause);
  if (err instanceof FsError) return new NodeError(CODE_OF_FS_ERROR[err.code] ?? 'FAILED_PRECONDITION', err.message, cause);
  return new NodeError('INTERNAL', err instanceof Error ? err.message.split('\n')[0]! : String(err), cause);
}

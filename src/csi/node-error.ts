// The one error type of the node layer: a gRPC status name (the CSI front end sends it as is, the control
// socket and FlexVolume pass it on) and a one-line message for people.
import { IdentityError } from '../identity/identity.ts';

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
  constructor(readonly code: NodeErrorCode, message: string) {
    super(message);
  }
}

/** A request field that is missing or malformed; `field` is named as the caller wrote it. */
export const invalidField = (field: string, problem: string): NodeError =>
  new NodeError('INVALID_ARGUMENT', `${field} ${problem}`);

/**
 * Any failure as a NodeError: identity refusals are PERMISSION_DENIED, identity checks that could not be made
 * UNAVAILABLE (kubelet retries), anything unexpected INTERNAL with its message.
 */
export function asNodeError(err: unknown): NodeError {
  if (err instanceof NodeError) return err;
  if (err instanceof IdentityError) return new NodeError(err.kind === 'refused' ? 'PERMISSION_DENIED' : 'UNAVAILABLE', err.message);
  return new NodeError('INTERNAL', err instanceof Error ? err.message.split('\n')[0]! : String(err));
}

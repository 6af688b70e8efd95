// A unary gRPC service from async functions: a NodeError (asNodeError) becomes the gRPC status of the same name with its
// message; anything else INTERNAL. Every failure is logged in one line with the method name.
import { status, type handleUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { asNodeError, type NodeErrorCode } from './node-error.ts';

const codes: Record<NodeErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: status.UNAVAILABLE,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  INTERNAL: status.INTERNAL,
};

export type UnaryMethods = Record<string, (request: never) => Promise<unknown>>;

/** A grpc-js service implementation calling `methods` by name. */
export function unaryService(methods: UnaryMethods, log: (line: string) => void): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(methods)) {
    const handler: handleUnaryCall<unknown, unknown> = (call, callback) => {
      method(call.request as never).then(
        (response) => callback(null, response),
        (err: unknown) => {
          const error = asNodeError(err);
          log(`${name}: ${error.code}: ${error.message}`);
          callback({ code: codes[error.code], details: error.message });
        },
      );
    };
    implementation[name] = handler;
  }
  return implementation;
}

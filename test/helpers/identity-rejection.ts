// Awaits a resolution that must fail with an IdentityError of the given kind and a one-line message;
// returns the message for the test to compare. Anything else throws, which fails the test.
import { IdentityError } from '../../src/identity/identity.ts';

export async function rejection(promise: Promise<unknown>, kind: IdentityError['kind'] = 'refused'): Promise<string> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  if (!(error instanceof IdentityError))
    throw new Error(`expected an IdentityError (${kind}), got ${error === undefined ? 'an identity' : String(error)}`);
  if (error.kind !== kind) throw new Error(`expected kind ${kind}, got ${error.kind}: ${error.message}`);
  if (error.message.includes('\n')) throw new Error(`message is not one line: ${JSON.stringify(error.message)}`);
  return error.message;
}

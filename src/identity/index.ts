// Pod -> verified identity: the API server, TokenReview, namespace uid ranges, [static].
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { listIdentities } from './identity-directory.ts';
export { IdentityResolver } from './identity-resolver.ts';
export { IdentityError, type Identity, type PodInfo, type ServiceAccountRef } from './identity.ts';
export { groupLine, passwdLine } from './passwd-lines.ts';

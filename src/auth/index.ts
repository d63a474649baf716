// Entry point of auth/ for the composition root (server/): builds the
// Authenticator and the SenderPolicy the protocol sessions are handed, from
// the store, the configuration ([auth] and delivery.recipient_delimiter) and
// the logger. Clock and sleep can be injected for tests.

import type { Config } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/store.ts';
import { StoreAuthenticator, type AuthenticatorOptions } from './authenticator.ts';
import { StoreSenderPolicy } from './sender-policy.ts';
import { Throttle, type ThrottleDeps } from './throttle.ts';
import type { Authenticator, SenderPolicy } from './types.ts';

export { StoreAuthenticator, MECHANISMS, canonicalUsername } from './authenticator.ts';
export { StoreSenderPolicy } from './sender-policy.ts';
export { Throttle, MemoryThrottleState, type ThrottleState, type ThrottleOptions } from './throttle.ts';
export { hashCredentials, generateAppPassword, scramSaltOf } from './credentials.ts';

export function authFromConfig(
  store: Store,
  config: Pick<Config, 'auth' | 'delivery'>,
  logger: Logger,
  deps: Omit<ThrottleDeps, 'logger'> & AuthenticatorOptions = {},
): { authenticator: Authenticator; senderPolicy: SenderPolicy; throttle: Throttle } {
  const throttle = Throttle.fromConfig(config.auth, { ...deps, logger });
  return {
    throttle,
    authenticator: new StoreAuthenticator(store, throttle, logger, { mechanisms: deps.mechanisms, scramNonce: deps.scramNonce }),
    senderPolicy: new StoreSenderPolicy(store, { recipientDelimiter: config.delivery.recipient_delimiter }),
  };
}

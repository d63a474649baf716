// Finding the account a `mailroom user …` command is about, with a message
// that says whether the user or its whole domain is missing.

import type { Account, Store } from '../store/store.ts';
import { domainOfAddress } from './address.ts';
import { CliError, requireConfiguredDomain } from './context.ts';

export async function requireUser(store: Store, address: string): Promise<Account> {
  const account = await store.getAccount(address);
  if (account) return account;
  await requireConfiguredDomain(store, domainOfAddress(address));
  throw new CliError(`no user ${address}`);
}

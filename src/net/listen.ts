// Binds a TCP listener for one role and turns the usual start-up failures
// (port taken, privileged port, unknown address) into a message that names the
// listener, the address and what to do about it.
import net from 'node:net';
import type { ListenAddress } from '../config/types.ts';
import { formatListenAddress } from '../config/values.ts';

export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

/** Starts `server` listening on `addr`; resolves with the bound port (useful with port 0). */
export function listenOn(server: net.Server, role: string, addr: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(new ListenError(explain(role, addr, err)));
    };
    const onListening = () => {
      server.off('error', onError);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? bound.port : addr.port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: addr.host, port: addr.port, backlog: 511 });
  });
}

function explain(role: string, addr: ListenAddress, err: NodeJS.ErrnoException): string {
  const where = `listener "${role}" on ${formatListenAddress(addr)}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `${where}: the port is already in use by another program. Stop that program or choose another port with listen.${role} in the config.`;
    case 'EACCES':
      return `${where}: permission denied. Ports below 1024 need root or CAP_NET_BIND_SERVICE (see README "Running on the standard ports"), or choose a port above 1024 with listen.${role}.`;
    case 'EADDRNOTAVAIL':
      return `${where}: this machine has no such address. Use one of its addresses, or 0.0.0.0 for all, in listen.${role}.`;
    default:
      return `${where}: ${err.message}`;
  }
}

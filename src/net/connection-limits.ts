// Counts open connections, in total and per client IP, so a listener can turn
// away a flood with `421 4.7.0` before any session work is done.

export class ConnectionLimits {
  readonly #maxTotal: number;
  readonly #maxPerIp: number;
  #total = 0;
  readonly #perIp = new Map<string, number>();

  constructor(maxTotal: number, maxPerIp: number) {
    this.#maxTotal = maxTotal;
    this.#maxPerIp = maxPerIp;
  }

  get total(): number {
    return this.#total;
  }

  /** Takes a slot for `ip`; false when either limit is reached (nothing taken). */
  tryAcquire(ip: string): boolean {
    const n = this.#perIp.get(ip) ?? 0;
    if (this.#total >= this.#maxTotal || n >= this.#maxPerIp) return false;
    this.#total++;
    this.#perIp.set(ip, n + 1);
    return true;
  }

  release(ip: string): void {
    const n = this.#perIp.get(ip) ?? 0;
    if (n <= 1) this.#perIp.delete(ip);
    else this.#perIp.set(ip, n - 1);
    if (this.#total > 0) this.#total--;
  }
}

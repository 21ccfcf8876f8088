/**
 * One chain of work per client id: a CONNECT's take, a peer's take and a tail for the same id
 * run one after the other, never interleaved. [design] Takes only ever wait on brokers with an
 * older claim on the id (the previous holder), so chains across brokers cannot wait in a cycle.
 */
export class SessionLocks {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(id) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(id, tail);
    void tail.then(() => {
      if (this.#tails.get(id) === tail) this.#tails.delete(id);
    });
    return result;
  }
}

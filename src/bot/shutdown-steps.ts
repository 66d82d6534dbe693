/**
 * The steps of a graceful shutdown, named, so that when the shutdown deadline passes the operator
 * learns which ones never finished (e.g. replies to Discord that could not be delivered) instead of
 * a process that just vanished.
 */
export class ShutdownSteps<Name extends string> {
  private readonly done = new Set<Name>();

  constructor(private readonly planned: readonly Name[]) {}

  /** Runs one step; it counts as finished only once it settled. */
  async run<T>(name: Name, step: () => Promise<T> | T): Promise<T> {
    try {
      return await step();
    } finally {
      this.done.add(name);
    }
  }

  /** Steps that have not finished (the one running first), in shutdown order. */
  get unfinished(): Name[] {
    return this.planned.filter((n) => !this.done.has(n));
  }
}

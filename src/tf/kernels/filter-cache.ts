/**
 * Data derived from a filter tensor (packed or rearranged weights), cached per filter and per
 * layout, and freed once no tensor holds that filter any more. Keyed by the filter's dataId: tfjs
 * data is immutable and a Variable gets a new dataId on every assign, so a generator's weights are
 * prepared once for all /shoe calls and a training step's weights once per step. The cached data
 * lives directly in the backend, not as engine tensors, so leak checks on tf.memory() stay exact.
 */
import { tf } from '../tfjs.ts';

/** Whether any tensor still holds this data (the engine drops a dataId when its last tensor goes). */
export function dataAlive(dataId: object): boolean {
  const info = (tf.engine() as unknown as { state: { tensorInfo: WeakMap<object, unknown> } }).state.tensorInfo;
  return info.has(dataId);
}

export class PerFilterCache<Backend, Value> {
  private readonly entries = new Map<object, { backend: Backend; values: Map<string, Value> }>();

  /**
   * `release` frees one cached value on the backend it was made on. `limit` bounds the number of
   * filters (a safety net: the sweep at every lookup normally keeps it small).
   */
  constructor(
    private readonly release: (backend: Backend, value: Value) => void,
    private readonly limit = 64,
  ) {}

  /** The value for (filter data, layout) on `backend`, made by `make` on a miss. */
  get(dataId: object, backend: Backend, layout: string, make: () => Value): Value {
    for (const [id, e] of this.entries) {
      if (!dataAlive(id)) this.drop(id, e);
    }
    let entry = this.entries.get(dataId);
    if (entry && entry.backend !== backend) {
      this.drop(dataId, entry);
      entry = undefined;
    }
    if (!entry) {
      entry = { backend, values: new Map() };
      this.entries.set(dataId, entry);
      if (this.entries.size > this.limit) {
        const [oldest, e] = this.entries.entries().next().value as [object, typeof entry];
        this.drop(oldest, e);
      }
    }
    let value = entry.values.get(layout);
    if (value === undefined) {
      value = make();
      entry.values.set(layout, value);
    }
    return value;
  }

  /** Frees everything. */
  clear(): void {
    for (const [id, e] of this.entries) this.drop(id, e);
  }

  /** Number of filters with cached data. */
  get size(): number {
    return this.entries.size;
  }

  private drop(dataId: object, e: { backend: Backend; values: Map<string, Value> }): void {
    for (const v of e.values.values()) this.release(e.backend, v);
    this.entries.delete(dataId);
  }
}

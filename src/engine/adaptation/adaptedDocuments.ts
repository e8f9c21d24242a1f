/**
 * The adaptation states of the documents being read, bounded in memory: at most `capacity`
 * DynamicEvaluators (one adapted copy of the weights each), keyed by document (a URI, a path),
 * the least recently used dropped first when a new document comes in. All share one trained network
 * and one set of gradient statistics.
 */
import { GradientStatistics } from './gradientStatistics';
import { DynamicEvaluationOptions, DynamicEvaluator, TrainedNetwork } from './dynamicEvaluation';

export class AdaptedDocuments {
  readonly capacity: number;
  /** In order of use, least recent first (a Map keeps insertion order; use re-inserts). */
  private readonly byKey = new Map<string, DynamicEvaluator>();

  constructor(
    private readonly network: TrainedNetwork,
    private readonly stats: GradientStatistics,
    private readonly options: Partial<DynamicEvaluationOptions> = {},
    capacity = 4,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`The capacity must be a whole number ≥ 1; got ${capacity}.`);
    this.capacity = capacity;
  }

  /** The document's adaptation state (made from the trained weights if it has none), now the most recent. */
  get(key: string): DynamicEvaluator {
    let ev = this.byKey.get(key);
    if (ev) {
      this.byKey.delete(key);
    } else {
      ev = new DynamicEvaluator(this.network, this.stats, this.options);
      if (this.byKey.size >= this.capacity) this.byKey.delete(this.byKey.keys().next().value!);
    }
    this.byKey.set(key, ev);
    return ev;
  }

  /** The document's state if it is kept, without making it the most recent. */
  peek(key: string): DynamicEvaluator | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  delete(key: string): boolean {
    return this.byKey.delete(key);
  }

  /** The documents kept, least recently used first. */
  keys(): string[] {
    return Array.from(this.byKey.keys());
  }

  get size(): number {
    return this.byKey.size;
  }

  clear(): void {
    this.byKey.clear();
  }
}

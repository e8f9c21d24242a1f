/**
 * The offers of the inline provider and what became of them, for the local record
 * (acceptanceRecord.ts). No `vscode`, so it is unit-tested.
 *
 * An offer is one suggestion computed by a completer at one place. Served again while it is typed
 * through (TypingThrough) or re-asked at the same place, it stays the same offer and is counted
 * shown once. Accepted (the item's command ran: Tab) and partially accepted (an edit that inserts a
 * beginning of it, see isPartialAccept) are each counted at most once per offer.
 */
import type { AcceptanceRecord } from './acceptanceRecord';
import { InsertEdit, isPartialAccept, ShownSuggestion, TypingThrough } from './suggestionFit';

export class SuggestionOffers {
  private readonly typing = new TypingThrough();
  private nextOffer = 1;
  /** Offers counted accepted / partially accepted, with the run and completer they count for. */
  private readonly accepted = new Set<number>();
  private readonly partial = new Set<number>();
  private readonly runOf = new Map<number, { run: string; completer: string }>();

  /** `record`: where outcomes are counted (null: nothing is recorded). */
  constructor(private readonly record: () => AcceptanceRecord | null) {}

  /** The rest of the suggestion being typed through, at this place (null: compute a new one). */
  rest(key: string, line: number, linePrefix: string): ShownSuggestion | null {
    return this.typing.rest(key, line, linePrefix);
  }

  /** A new suggestion is shown for `run`: a new offer, counted shown. */
  shownNew(run: string, s: Omit<ShownSuggestion, 'offer'>): ShownSuggestion {
    const offer = this.nextOffer++;
    const shown = { ...s, offer };
    this.runOf.set(offer, { run, completer: s.completer });
    // Bounded: only recent offers can still be accepted.
    if (this.runOf.size > 64) this.runOf.delete(this.runOf.keys().next().value!);
    this.typing.shown(shown);
    this.record()?.count(run, s.completer, 'shown');
    return shown;
  }

  /** The rest of an offer is shown again (typed through): not counted again. */
  shownAgain(s: ShownSuggestion): void {
    this.typing.shown(s);
  }

  /** The item of `offer` was accepted (its command ran). */
  didAccept(offer: number): void {
    const where = this.runOf.get(offer);
    if (!where || this.accepted.has(offer)) return;
    this.accepted.add(offer);
    this.record()?.count(where.run, where.completer, 'accepted');
    if (this.typing.current?.offer === offer) this.typing.clear();
  }

  /** An edit of document `key`: a partial accept of the suggestion shown there is counted. */
  didEdit(key: string, edit: InsertEdit): void {
    const shown = this.typing.current;
    if (!shown || shown.key !== key || this.partial.has(shown.offer) || this.accepted.has(shown.offer)) return;
    if (!isPartialAccept(shown, edit)) return;
    const where = this.runOf.get(shown.offer);
    if (!where) return;
    this.partial.add(shown.offer);
    this.record()?.count(where.run, where.completer, 'partial');
  }
}

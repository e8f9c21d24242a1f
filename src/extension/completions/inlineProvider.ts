/**
 * The inline completion provider: ghost text at the cursor from the active model — the network, run
 * in the extension host through the engine's CompletionEngine (per-document state cache, work cut
 * into slices of a few milliseconds with the event loop served in between, stopped as soon as VS Code
 * cancels the request), or the n-gram baseline or the hybrid (`auto`), served by their worker. While
 * the hybrid's worker is still loading, `auto` is served by the network.
 *
 * A suggestion never repeats the text right after the cursor (trimOverlap, suggestionFit.ts), and
 * while you type what it shows, the rest of the same suggestion is served at once (TypingThrough), so
 * the ghost text does not flicker or change under your fingers. Each suggestion shown, accepted (its
 * item's command, ACCEPT_COMMAND, runs on Tab) or partially accepted is counted in the local record
 * (acceptanceRecord.ts) through SuggestionOffers.
 *
 * Every call is timed; the time and its parts go to the completions log at debug level, and the last
 * calls' p50/p95 are shown in the status bar item's tooltip and logged every LOG_EVERY calls.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { AsyncCompletion, CompletionOptions } from '../../engine/completion/completer';
import { CompletionEngine } from '../../engine/completion/networkCompleter';
import type { InferenceModel } from '../../engine/inference/inference';
import type { ModelCache } from '../modelCache';
import { completionSettings, languageEnabled, stopRuleOf } from './completionSettings';
import { trimOverlap } from './suggestionFit';
import { SuggestionOffers } from './suggestionOffers';
import type { AcceptanceRecord } from './acceptanceRecord';
import { agreeingCompletion, completionAfterItem, SelectedItem, textWithItem } from './selectedSuggestion';
import type { NGramService } from './ngramService';

/** Longest stretch of network work before the host's event loop gets a turn (ms). */
const SLICE_MS = 8;
/** Calls kept for the latency figures. */
const WINDOW = 200;
const LOG_EVERY = 50;
/** Suffix of the state-cache key of a document read with the suggestion list's item applied. */
const SELECTED_KEY = '\u0000with-selected-item';
/** The command an accepted item runs (registered by registerCompletions.ts), with the offer's number. */
export const ACCEPT_COMMAND = 'lstmLab.completionAccepted';

export interface CallTiming {
  /** From the call to the answer (ms). */
  totalMs: number;
  /** The completer that served: lstm, ngram, hybrid or ngram+cache. */
  model: string;
  /** Longest synchronous stretch in the host (ms); for the n-gram, 0 (it runs in its worker). */
  longestSliceMs: number;
  cancelled: boolean;
}

export interface LatencySummary {
  calls: number;
  p50: number;
  p95: number;
  max: number;
  longestSliceP95: number;
  cancelled: number;
}

export class ModelCompletionProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  private engine: { model: InferenceModel; engine: CompletionEngine } | null = null;
  private readonly timings: CallTiming[] = [];
  private calls = 0;
  /** The suggestions shown and what became of them. */
  readonly offers: SuggestionOffers;
  /** The completer that served the last answer (for the status bar). */
  lastServed: string | null = null;
  private readonly changed = new vscode.EventEmitter<void>();
  /** A call finished (the latency figures changed). */
  readonly onDidComplete = this.changed.event;
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly models: ModelCache,
    private readonly ngram: NGramService,
    private readonly debugLog: vscode.LogOutputChannel,
    private readonly log: (line: string) => void,
    record: () => AcceptanceRecord | null = () => null,
  ) {
    this.offers = new SuggestionOffers(record);
    this.subs.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        const key = e.document.uri.toString();
        for (const c of e.contentChanges) this.offers.didEdit(key, { line: c.range.start.line, character: c.range.start.character, rangeLength: c.rangeLength, text: c.text });
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (!this.engine || e.contentChanges.length === 0) return;
        const from = Math.min(...e.contentChanges.map((c) => c.rangeOffset));
        this.engine.engine.invalidate(e.document.uri.toString(), from);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.engine?.engine.forget(d.uri.toString());
        this.engine?.engine.forget(d.uri.toString() + SELECTED_KEY);
      }),
    );
  }

  /** The network's engine for the loaded model (a new one, with an empty cache, when the model changed). */
  private engineFor(model: InferenceModel): CompletionEngine {
    if (this.engine?.model !== model) this.engine = { model, engine: new CompletionEngine(model) };
    return this.engine.engine;
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionList | undefined> {
    const t0 = performance.now();
    const s = completionSettings(document);
    if (!s.enabled || !languageEnabled(s, document.languageId)) return undefined;
    const checkpoint = this.models.activeCheckpoint();
    if (!checkpoint) return undefined;
    const text = document.getText();
    const offset = document.offsetAt(position);
    const selected = context.selectedCompletionInfo;
    const item: SelectedItem | null = selected ? { start: document.offsetAt(selected.range.start), end: document.offsetAt(selected.range.end), text: selected.text } : null;
    // The suggestion list's item must end at the cursor for a completion to extend it.
    if (item && item.end !== offset) return undefined;
    const key = document.uri.toString();
    const linePrefix = document.lineAt(position.line).text.slice(0, position.character);
    if (!item) {
      // Typing what the ghost text shows: the rest of the same suggestion, at once.
      const rest = this.offers.rest(key, position.line, linePrefix);
      if (rest) {
        this.offers.shownAgain(rest);
        return { items: [this.item(rest.text, new vscode.Range(position, position), rest.offer)] };
      }
    }
    const opts: Partial<CompletionOptions> = {
      maxLength: s.maxLength,
      stopAt: stopRuleOf(s),
      temperature: s.temperature,
      beamWidth: s.beamWidth,
      contextChars: s.contextChars,
      seed: 1,
    };
    const where = `${vscode.workspace.asRelativePath(document.uri)}:${position.line + 1}:${position.character + 1}`;
    try {
      // auto: the hybrid in its worker once it is ready, the network until then.
      const inWorker = s.model === 'ngram' || (s.model === 'auto' && this.ngram.ready);
      const served = !inWorker ? 'lstm' : s.model === 'ngram' ? 'ngram' : (this.ngram.hybridCompleter ?? 'hybrid');
      const complete = (t: string, o: number, k: string) => (inWorker ? this.fromNGram(t, o, opts, token, s.model === 'auto' ? k : undefined) : this.fromNetwork(k, t, o, opts, token));
      let r = await complete(text, offset, key);
      // With the suggestion list open: the continuation at the cursor if it runs through the selected
      // item, else the continuation read after the item's text (selectedSuggestion.ts).
      let insert: string | null = r?.completion?.text ?? null;
      if (item && r?.completion && !token.isCancellationRequested) {
        insert = agreeingCompletion(text.slice(item.start, item.end), item.text, r.completion.text);
        if (insert === null) {
          const after = textWithItem(text, item);
          r = await complete(after.text, after.offset, key + SELECTED_KEY);
          insert = r?.completion ? completionAfterItem(item.text, r.completion.text) : null;
        }
      }
      const totalMs = performance.now() - t0;
      const cancelled = r === null || r.completion === null;
      this.lastServed = served;
      this.record({ totalMs, model: served, longestSliceMs: r?.longestSliceMs ?? 0, cancelled });
      if (r === null) {
        this.debugLog.debug(`${where}: no suggestion (${served} not ready) after ${totalMs.toFixed(1)} ms`);
        return undefined;
      }
      const c = r.completion;
      if (!c) {
        this.debugLog.debug(`${where}: cancelled after ${totalMs.toFixed(1)} ms (longest slice ${r.longestSliceMs.toFixed(1)} ms)`);
        return undefined;
      }
      this.debugLog.debug(
        `${where}: ${totalMs.toFixed(1)} ms, ${c.model}` +
          (c.model === 'lstm' ? ` (read ${c.contextRead} chars from ${c.cache} in ${c.readMs.toFixed(1)} ms, ${r.slices} slice(s), longest ${r.longestSliceMs.toFixed(1)} ms, ${this.engine?.model.kernelName} kernels)` : ' (in its worker)') +
          ` decode ${c.decodeMs.toFixed(1)} ms → ${JSON.stringify(c.text)}` +
          (item ? ` (suggestion list open on ${JSON.stringify(item.text)}: ${insert === null ? 'nothing extends it' : `ghost text ${JSON.stringify(insert)}`})` : ''),
      );
      if (item) {
        if (insert === null || token.isCancellationRequested) return undefined;
        const range = selected!.range;
        if (range.start.line !== position.line) return { items: [new vscode.InlineCompletionItem(insert, range)] };
        // An offer from the item's start: once Tab takes the list's item, the rest of this same ghost
        // text is served (TypingThrough), not a new continuation that may differ from what was shown.
        const itemLinePrefix = linePrefix.slice(0, range.start.character);
        const shown = this.offers.shownNew(path.dirname(checkpoint), { key, line: position.line, linePrefix: itemLinePrefix, text: insert, completer: served });
        return { items: [this.item(insert, range, shown.offer)] };
      }
      // Spaces alone are no help as ghost text (and hard to see); nor is what the line already has after the cursor.
      const rest = document.lineAt(position.line).text.slice(position.character);
      const fitted = token.isCancellationRequested ? null : trimOverlap(c.text, rest);
      if (fitted === null) return undefined;
      const shown = this.offers.shownNew(path.dirname(checkpoint), { key, line: position.line, linePrefix, text: fitted, completer: served });
      return { items: [this.item(fitted, new vscode.Range(position, position), shown.offer)] };
    } catch (e) {
      this.log(`completion at ${where} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return undefined;
    }
  }

  /** `key` names the state cache: the document's, or its copy with the suggestion list's item applied. */
  private async fromNetwork(key: string, text: string, offset: number, opts: Partial<CompletionOptions>, token: vscode.CancellationToken): Promise<AsyncCompletion | null> {
    const loaded = await this.models.load();
    if (token.isCancellationRequested) return { completion: null, longestSliceMs: 0, slices: 0 };
    const engine = this.engineFor(loaded.inference);
    return engine.completeAsync({ key, text, offset }, opts, { token, sliceMs: SLICE_MS });
  }

  /** An item that counts its acceptance for `offer`. */
  private item(text: string, range: vscode.Range, offer: number): vscode.InlineCompletionItem {
    const item = new vscode.InlineCompletionItem(text, range);
    item.command = { command: ACCEPT_COMMAND, title: 'Accepted', arguments: [offer] };
    return item;
  }

  /** `key`: the document, for the hybrid's caches (undefined for the n-gram alone). */
  private async fromNGram(text: string, offset: number, opts: Partial<CompletionOptions>, token: vscode.CancellationToken, key?: string): Promise<AsyncCompletion | null> {
    if (!this.ngram.ready) return null;
    const r = await this.ngram.complete(text, offset, opts, token, key);
    if (r === null) return { completion: null, longestSliceMs: 0, slices: 0 };
    return { completion: r.completion, longestSliceMs: 0, slices: 1 };
  }

  private record(t: CallTiming): void {
    this.timings.push(t);
    if (this.timings.length > WINDOW) this.timings.shift();
    this.calls++;
    if (this.calls % LOG_EVERY === 0) {
      const l = this.latency();
      if (l) this.log(`completions: last ${l.calls} calls ${l.p50.toFixed(1)} ms p50, ${l.p95.toFixed(1)} ms p95, ${l.max.toFixed(1)} ms max; longest host slice p95 ${l.longestSliceP95.toFixed(1)} ms; ${l.cancelled} cancelled`);
    }
    this.changed.fire();
  }

  /** Latency of the last calls that produced an answer (null before the first). */
  latency(): LatencySummary | null {
    const done = this.timings.filter((t) => !t.cancelled);
    if (done.length === 0) return null;
    const q = (xs: number[], p: number) => {
      const s = xs.slice().sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
    };
    const total = done.map((t) => t.totalMs);
    return {
      calls: done.length,
      p50: q(total, 50),
      p95: q(total, 95),
      max: Math.max(...total),
      longestSliceP95: q(this.timings.map((t) => t.longestSliceMs), 95),
      cancelled: this.timings.length - done.length,
    };
  }

  /** Drop the network's cache (the active model changed). */
  reset(): void {
    this.engine = null;
  }

  dispose(): void {
    this.changed.dispose();
    for (const d of this.subs) d.dispose();
  }
}

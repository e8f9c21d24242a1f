/**
 * Probes of one position: the shown cell's every quantity there and the model's next symbols, for
 * the panel's hover and the editor's (the hover provider, while the overlay colours the editor).
 * Only the latest request is answered; requests made while one runs are coalesced, and trace
 * pieces wait for pending probes so that a hover waits for at most the piece in flight.
 */
import * as vscode from 'vscode';
import type { PositionProbe } from '../protocol/inference';
import { errorMessage, REQUEST_TIMEOUT_MS, type ActivationsSession } from './activationsSession';
import { cpOfUnit } from '../../engine/data/codePoints';

/** A probe asked for: position relative to the shown range; `reply` for an editor hover, else the panel gets it. */
export interface ProbeWanted {
  uri: string;
  version: number;
  position: number;
  reply?: (p: PositionProbe | null) => void;
}

/** A character as it reads in a hover: visible whitespace, escaped for Markdown code. */
function shownSymbol(ch: string): string {
  const named: Record<string, string> = { '\n': '↵', '\r': '␍', '\t': '⇥', ' ': '␣' };
  return named[ch] ?? ch;
}

/** The editor hover's text for one probe: the shown quantity first, then every quantity and the predictions. */
export function probeMarkdown(p: PositionProbe, shown: string, ch: string): vscode.MarkdownString {
  const fmt = (v: number) => (v >= 0 ? ' ' : '') + v.toFixed(3);
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**LSTM Lab** · layer ${p.layer}, cell ${p.cell}, at `).appendText(`“${shownSymbol(ch)}”`).appendMarkdown('\n\n');
  const rows = Object.entries(p.values).sort(([a], [b]) => (a === shown ? -1 : b === shown ? 1 : 0));
  md.appendCodeblock(rows.map(([k, v]) => `${k.padEnd(8)}${fmt(v)}`).join('\n'), 'text');
  const top = p.top.map((x) => `${shownSymbol(x.symbol)} ${(x.prob * 100).toFixed(1)} %`).join('   ');
  md.appendCodeblock(`next     ${top}${p.next ? `\nactual   ${shownSymbol(p.next.symbol)} ${(p.next.prob * 100).toFixed(1)} %` : ''}`, 'text');
  return md;
}

export class PositionProbes implements vscode.HoverProvider {
  /** The latest probe asked for and not started yet. */
  private wanted: ProbeWanted | null = null;
  private probing = false;
  /** Resolves when the pending probes are answered; null when there are none. */
  private probeGate: Promise<void> | null = null;

  constructor(private readonly s: ActivationsSession) {}

  get gate(): Promise<void> | null {
    return this.probeGate;
  }

  /** Ask for a probe; one asked earlier and not started yet is dropped (an editor hover gets null). */
  want(want: ProbeWanted): void {
    this.wanted?.reply?.(null);
    this.wanted = want;
    void this.run();
  }

  /**
   * Hover in the editor while the overlay colours it: the shown cell's value there, every
   * quantity of that cell, and the model's top next characters (the panel's hover, in the editor).
   */
  async provideHover(doc: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const f = this.s.follower;
    const t = f.followedTrace();
    if (!this.s.overlay.on || !t || t.doc !== doc || t.version !== doc.version || !this.s.model) return undefined;
    const cache = t.trace.cache;
    const cp = cpOfUnit(cache.unitOfCp, doc.offsetAt(position));
    const { start, end } = f.shownRange(t);
    if (cp < start || cp >= end || cp >= cache.length) return undefined;
    const probe = await new Promise<PositionProbe | null>((reply) => this.want({ uri: f.followed!.uri, version: t.version, position: cp - start, reply }));
    if (!probe || token.isCancellationRequested) return undefined;
    const at = doc.positionAt(cache.unitOfCp[cp]);
    const range = new vscode.Range(at, doc.positionAt(cache.unitOfCp[cp + 1]));
    return new vscode.Hover(probeMarkdown(probe, this.s.view.quantity, cache.text.slice(cache.unitOfCp[cp], cache.unitOfCp[cp + 1])), range);
  }

  /** Answer the latest request; requests made while one runs are coalesced. */
  private async run(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let open!: () => void;
    this.probeGate = new Promise<void>((r) => (open = r));
    try {
      while (this.wanted) {
        const want = this.wanted;
        this.wanted = null;
        await this.answer(want);
      }
    } finally {
      this.probing = false;
      this.probeGate = null;
      open();
    }
  }

  private async answer(want: ProbeWanted): Promise<void> {
    const f = this.s.follower;
    const t = f.followedTrace();
    const cp = t ? f.shownRange(t).start + want.position : 0;
    if (!t || f.followed?.uri !== want.uri || t.version !== want.version || cp >= t.trace.cache.length) {
      want.reply?.(null);
      return;
    }
    const cache = t.trace.cache;
    const anchor = cache.anchorBefore(cp);
    const text = cache.text.slice(cache.unitOfCp[anchor.at], cache.unitOfCp[cp + 1]);
    const next = cp + 1 < cache.length ? cache.text.slice(cache.unitOfCp[cp + 1], cache.unitOfCp[cp + 2]) : null;
    try {
      const view = this.s.view;
      const r = await this.s.interactive.request({ type: 'probe', text, state: anchor.state, layer: view.layer, cell: view.cell, topK: 5, next }, [], REQUEST_TIMEOUT_MS);
      if (want.reply) want.reply(r.probe);
      else this.s.post({ type: 'probe', uri: want.uri, version: want.version, position: want.position, probe: r.probe });
    } catch (e) {
      want.reply?.(null);
      this.s.log(`activations: probe failed: ${errorMessage(e)}`);
    }
  }
}

/**
 * What the parts of the activations feature share, as the controller composes them: the model and
 * the chosen view, the interactive inference worker, the kept traces, the editor follower, the
 * overlay, the panel feed and the hover's probe queue. Each part holds its own state and reaches
 * the others through this (types only: the parts do not import one another at run time).
 */
import type * as vscode from 'vscode';
import type { ModelCache } from '../modelCache';
import type { ActivationView, HostToActivations } from '../protocol/activations';
import type { InferenceModelInfo } from '../protocol/inference';
import type { RunStore } from '../runStore';
import type { ColourScale } from './colourScale';
import type { DocumentTraces } from './documentTraces';
import type { EditorFollower } from './editorFollower';
import type { InferenceClient } from './inferenceClient';
import type { OverlayDecorations } from './overlayDecorations';
import type { PanelFeed } from './panelFeed';
import type { PositionProbes } from './positionProbes';

export interface ActivationsDeps {
  models: ModelCache;
  store: RunStore;
  output: vscode.OutputChannel;
  /** Per-edit timings and other chatter, at debug level (Output → LSTM Lab Activations, log level Debug). */
  debugLog: vscode.LogOutputChannel;
}

export interface ActivationsSession {
  readonly context: vscode.ExtensionContext;
  readonly deps: ActivationsDeps;
  /** The loaded model, null until one is loaded. */
  readonly model: InferenceModelInfo | null;
  /** Which activation the panel and the overlay show. */
  readonly view: ActivationView;
  /** The panel is open or the overlay is on: follow the editor. */
  readonly active: boolean;
  readonly disposed: boolean;
  /** Document traces and hover probes. */
  readonly interactive: InferenceClient;
  readonly traces: DocumentTraces;
  readonly follower: EditorFollower;
  readonly overlay: OverlayDecorations;
  readonly panel: PanelFeed;
  readonly probes: PositionProbes;
  /** Load the active model into the interactive worker; null (and the panel told why) when there is none. */
  ensureModel(): Promise<InferenceModelInfo | null>;
  /** The active checkpoint, or an error message with a button to train one. */
  requireModel(): Promise<InferenceModelInfo | null>;
  /** The colour scale of the view for one cell's values (the same in the panel and the overlay). */
  scaleOf(values: Float32Array): ColourScale;
  post(m: HostToActivations): void;
  log(line: string): void;
}

export const isTextDocument = (d: vscode.TextDocument): boolean => d.uri.scheme === 'file' || d.uri.scheme === 'untitled';
export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
export const grouped = new Intl.NumberFormat('en-US');
export const fmtMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
export const DEBUG = !!process.env.LSTM_LAB_DEBUG;
/** A trace piece or a probe not answered in this time restarts the interactive worker. */
export const REQUEST_TIMEOUT_MS = 20_000;

/**
 * Inline completions from the active model: registers the provider (all files; the languages setting
 * filters), the status bar item that says whether completions are on, which completer serves them
 * and how fast, the command `lstmLab.toggleCompletions`, and the worker of the n-gram baseline or of
 * the hybrid (`model` = `auto`, the default: the network, the corpus n-gram and the caches of the
 * open file and the documents you edited, with the run's fitted gate). The hybrid's documents'
 * cache is told about each document you leave (its text as it is then) and forgets closed ones.
 * Everything is disposed through context.subscriptions.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { NGRAM_DEFAULT_ORDER } from '../../engine/ngram/ngram';
import { MIXTURE_FILE } from '../../engine/completion/mixture';
import type { ModelCache } from '../modelCache';
import type { RunStore } from '../runStore';
import { readRunInfo } from '../../engine/training/runFolder';
import { trainingSettings } from '../settings';
import { CompletionSettings, completionSettings, toggleEnabled } from './completionSettings';
import { ACCEPT_COMMAND, LatencySummary, ModelCompletionProvider } from './inlineProvider';
import { AcceptanceRecord, acceptanceText, completersByUse, RECORD_FILE } from './acceptanceRecord';
import { NGramService, NGramStatus } from './ngramService';
import type { AdaptationInfo } from './ngramProtocol';

export interface CompletionsDeps {
  models: ModelCache;
  store: RunStore;
  output: vscode.OutputChannel;
}

export interface CompletionsFeature {
  provider: ModelCompletionProvider;
  ngram: NGramService;
  statusBar: vscode.StatusBarItem;
  /** The acceptance rates of a run's suggestions, per completer, as one line (null: none shown yet). */
  acceptance(runDir: string): string | null;
  /** The record of suggestions changed. */
  onDidChangeRecord: vscode.Event<void>;
}

export function registerCompletions(context: vscode.ExtensionContext, deps: CompletionsDeps): CompletionsFeature {
  const log = (line: string) => deps.output.appendLine(line);
  const debugLog = vscode.window.createOutputChannel('LSTM Lab: Completions', { log: true });
  const statusBar = vscode.window.createStatusBarItem('lstmLab.completions', vscode.StatusBarAlignment.Right, 100);
  statusBar.name = 'LSTM Lab completions';
  statusBar.command = 'lstmLab.toggleCompletions';

  let ngramStatus: NGramStatus = { state: 'idle' };
  const ngram = new NGramService(context.extensionPath, log, (s) => {
    ngramStatus = s;
    updateStatus();
  });
  const recordChanged = new vscode.EventEmitter<void>();
  const record = keepAcceptanceRecord(context, log, () => {
    updateStatus();
    recordChanged.fire();
  });
  const provider = new ModelCompletionProvider(deps.models, ngram, debugLog, log, record);

  /** Build or load the baseline when it is the model asked for; stop its worker otherwise. */
  const syncNGram = () => {
    const checkpoint = deps.models.activeCheckpoint();
    const model = completionSettings().model;
    if (!checkpoint || model === 'lstm' || !completionSettings().enabled) return ngram.stop();
    const t = trainingSettings();
    ngram.ensure({
      checkpoint,
      corpusPaths: [],
      corpusOptions: { ...(t.include.length ? { include: t.include } : {}), exclude: t.exclude, maxFileBytes: t.maxFileBytes, maxTotalBytes: t.maxTotalBytes },
      order: NGRAM_DEFAULT_ORDER,
      cachePath: path.join(path.dirname(checkpoint), 'ngram.json'),
      ...(model === 'auto' ? { hybrid: { mixturePath: path.join(path.dirname(checkpoint), MIXTURE_FILE), adapt: true } } : {}),
    });
  };

  /** "lstm 2×128" of the run a checkpoint belongs to, read once per checkpoint from its run.json. */
  const sizes = new Map<string, string>();
  const sizeOf = (checkpoint: string): string | undefined => {
    if (!sizes.has(checkpoint)) {
      sizes.set(checkpoint, '');
      void readRunInfo(path.dirname(checkpoint)).then(
        (info) => {
          sizes.set(checkpoint, `${info.model.layers}×${info.model.hidden}`);
          updateStatus();
        },
        () => undefined,
      );
    }
    return sizes.get(checkpoint) || undefined;
  };

  function updateStatus(): void {
    const checkpoint = deps.models.activeCheckpoint();
    showStatus(statusBar, {
      checkpoint,
      settings: completionSettings(),
      size: checkpoint ? sizeOf(checkpoint) : undefined,
      ngramStatus,
      adaptation: ngram.adaptation,
      latency: provider.latency(),
      rates: checkpoint ? acceptance(path.dirname(checkpoint)) : null,
    });
  }

  /** The document of the active editor, remembered by the hybrid when you leave it. */
  let left: vscode.TextDocument | undefined = vscode.window.activeTextEditor?.document;
  context.subscriptions.push(
    debugLog,
    statusBar,
    ngram,
    provider,
    vscode.languages.registerInlineCompletionItemProvider([{ scheme: 'file' }, { scheme: 'untitled' }], provider),
    vscode.commands.registerCommand(ACCEPT_COMMAND, (offer: unknown) => {
      if (typeof offer === 'number') provider.offers.didAccept(offer);
    }),
    vscode.commands.registerCommand('lstmLab.toggleCompletions', async () => {
      const on = await toggleEnabled();
      void vscode.window.setStatusBarMessage(`LSTM Lab: completions ${on ? 'on' : 'off'}`, 2000);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('lstmLab.completions')) return;
      syncNGram();
      updateStatus();
    }),
    // A run that finishes writes its mixture.json after its checkpoint: the hybrid then loads again.
    deps.store.onDidChange(() => {
      syncNGram();
      updateStatus();
    }),
    deps.store.onDidChangeActive(() => {
      provider.reset();
      syncNGram();
      updateStatus();
    }),
    provider.onDidComplete(() => updateStatus()),
    // The documents' cache of the hybrid: the document you leave, as it is; closed ones forgotten.
    vscode.window.onDidChangeActiveTextEditor(() => {
      if (left && ngram.servesHybrid && !left.isClosed) ngram.remember(left.uri.toString(), left.getText());
      left = vscode.window.activeTextEditor?.document;
    }),
    vscode.workspace.onDidCloseTextDocument((d) => ngram.forget(d.uri.toString())),
  );
  syncNGram();
  updateStatus();
  const acceptance = (runDir: string): string | null => {
    const r = record();
    const counts = r ? completersByUse(r.counts(runDir)) : [];
    return counts.length ? counts.map(([name, c]) => `${name} ${acceptanceText(c)}`).join('; ') : null;
  };
  context.subscriptions.push(recordChanged);
  return { provider, ngram, statusBar, acceptance, onDidChangeRecord: recordChanged.event };
}

/** What the status bar item shows. */
interface StatusInput {
  checkpoint: string | null | undefined;
  settings: CompletionSettings;
  /** "2×128" of the active run, when known. */
  size: string | undefined;
  ngramStatus: NGramStatus;
  adaptation: AdaptationInfo;
  latency: LatencySummary | null;
  /** The acceptance rates of the run's suggestions (null: none shown yet). */
  rates: string | null;
}

/** The status bar item: whether completions are on, which completer serves and how fast; the tooltip tells the rest. */
function showStatus(statusBar: vscode.StatusBarItem, { checkpoint, settings: s, size, ngramStatus, adaptation, latency: lat, rates }: StatusInput): void {
  if (!checkpoint) {
    // Say that completions wait for a model, rather than hide: the README promises this item.
    statusBar.text = s.enabled ? '$(circle-outline) LSTM · no model' : '$(circle-slash) LSTM · off';
    statusBar.tooltip = new vscode.MarkdownString('**LSTM Lab completions have no model yet.** Run *LSTM Lab: Train on Workspace*; the finished run serves them.');
    statusBar.accessibilityInformation = { label: `LSTM Lab completions: ${s.enabled ? 'no model yet' : 'off'}` };
    statusBar.show();
    return;
  }
  const run = path.basename(path.dirname(checkpoint));
  const file = path.basename(checkpoint);
  const lstm = size ? `LSTM ${size}` : 'LSTM';
  const hybridInfo = ngramStatus.state === 'ready' ? ngramStatus.info.hybrid : undefined;
  const served =
    s.model === 'ngram' ? 'n-gram'
    : s.model === 'lstm' ? lstm
    : hybridInfo?.completer === 'hybrid' ? `hybrid · ${lstm}`
    : hybridInfo ? 'n-gram + caches'
    : lstm; // auto while the hybrid loads
  const md = new vscode.MarkdownString(undefined, true);
  if (!s.enabled) {
    statusBar.text = `$(circle-slash) ${served}`;
    md.appendMarkdown(`**LSTM Lab completions are off.** Click to turn them on.\n\nModel: ${served} from run \`${run}\` (\`${file}\`)`);
  } else if (s.model === 'ngram' && ngramStatus.state !== 'ready') {
    // (auto is served by the network while its worker loads: see below)
    statusBar.text = ngramStatus.state === 'failed' ? `$(error) n-gram` : `$(sync~spin) n-gram ${ngramStatus.state === 'loading' ? `${Math.round(ngramStatus.fraction * 100)} %` : ''}`.trimEnd();
    md.appendMarkdown(
      ngramStatus.state === 'failed'
        ? `**The n-gram baseline is not available:** ${ngramStatus.message}`
        : `Preparing the n-gram baseline of run \`${run}\` (${ngramStatus.state === 'loading' ? ngramStatus.phase : 'waiting'})…`,
    );
  } else {
    statusBar.text = `$(sparkle) ${served}${lat ? ` · ${lat.p50.toFixed(0)} ms` : ''}`;
    const what =
      s.model === 'ngram' ? 'the n-gram baseline'
      : s.model === 'lstm' ? 'the network'
      : hybridInfo?.completer === 'hybrid' ? 'the hybrid (the network adapted to each file as you work, the corpus n-gram and the caches of your files, mixed by the gates fitted for the run)'
      : hybridInfo ? 'the n-gram with the caches of your files'
      : `the network, while the hybrid is prepared (${ngramStatus.state === 'loading' ? `${ngramStatus.phase} ${Math.round(ngramStatus.fraction * 100)} %` : ngramStatus.state})`;
    md.appendMarkdown(`**LSTM Lab completions are on**, from ${what} of run \`${run}\` (\`${file}\`). Click to turn them off.`);
    if (hybridInfo?.note) md.appendMarkdown(`\n\n${hybridInfo.note}.`);
    if (s.model === 'auto' && adaptation.state !== 'off') {
      const a = adaptation;
      md.appendMarkdown(`\n\nAdapting the network to your files (dynamic evaluation): ${a.state}${a.note ? `, ${a.note}` : ''}; ${a.documents} document(s), ${a.chars.toLocaleString('en-US')} characters read, ${a.updates} updates.`);
    }
    if (ngramStatus.state === 'ready' && s.model === 'ngram') md.appendMarkdown(`\n\nOrder ${ngramStatus.info.order}, ${ngramStatus.info.distinctNgrams.toLocaleString('en-US')} n-grams.`);
  }
  if (rates) md.appendMarkdown(`\n\nSuggestions of this run: ${rates} (kept on this machine only).`);
  if (lat) md.appendMarkdown(`\n\nLast ${lat.calls} suggestions: ${lat.p50.toFixed(0)} ms p50, ${lat.p95.toFixed(0)} ms p95; the editor was never held more than ${lat.longestSliceP95.toFixed(0)} ms at a time (p95).`);
  statusBar.tooltip = md;
  statusBar.accessibilityInformation = { label: `LSTM Lab completions: ${!s.enabled ? 'off' : s.model === 'ngram' && ngramStatus.state !== 'ready' ? `n-gram ${ngramStatus.state}` : `on, ${served}`}` };
  statusBar.show();
}

/**
 * The local record of suggestions shown and accepted, in the extension's global storage (nothing
 * leaves the machine): opened in the background, saved two seconds after a change and on dispose.
 * Returns a getter (null until it is open, or when it cannot be kept: the log says why).
 */
function keepAcceptanceRecord(context: vscode.ExtensionContext, log: (line: string) => void, onChange: () => void): () => AcceptanceRecord | null {
  let record: AcceptanceRecord | null = null;
  let saveTimer: NodeJS.Timeout | null = null;
  const file = path.join(context.globalStorageUri.fsPath, RECORD_FILE);
  const save = (r: AcceptanceRecord) => r.save().catch((e: Error) => log(`the completion record could not be saved to ${file}: ${e.message}`));
  void fs.promises
    .mkdir(context.globalStorageUri.fsPath, { recursive: true })
    .then(() => AcceptanceRecord.open(file))
    .then(
      (r) => {
        record = r;
        context.subscriptions.push(
          r.onDidChange(() => {
            onChange();
            saveTimer ??= setTimeout(() => {
              saveTimer = null;
              void save(r);
            }, 2000);
          }),
          { dispose: () => void (saveTimer && clearTimeout(saveTimer), save(r)) },
        );
      },
      (e: Error) => log(`the completion record is not kept: ${e.message}`),
    );
  return () => record;
}

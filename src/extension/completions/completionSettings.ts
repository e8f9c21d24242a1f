/** Typed access to the `lstmLab.completions.*` settings declared in package.json (defaults live there). */
import * as vscode from 'vscode';
import type { StopAt } from '../../engine/completion/completer';

export interface CompletionSettings {
  enabled: boolean;
  /** Language ids that get completions; '*' = all. */
  languages: string[];
  maxLength: number;
  stopAt: Exclude<StopAt, 'none'>;
  /** Let a suggestion run over line ends (up to maxLength) instead of ending at the line's end. */
  multiLine: boolean;
  temperature: number;
  beamWidth: number;
  contextChars: number;
  /** auto: the hybrid (network + corpus n-gram + caches, the fitted gate); lstm: the network alone; ngram: the baseline alone. */
  model: CompletionModelSetting;
}

export type CompletionModelSetting = 'auto' | 'lstm' | 'ngram';

const MODELS: readonly CompletionModelSetting[] = ['auto', 'lstm', 'ngram'];

/** The decoder's stop rule for these settings: 'line' becomes 'none' (only maxLength ends it) when multi-line. */
export function stopRuleOf(s: Pick<CompletionSettings, 'stopAt' | 'multiLine'>): StopAt {
  return s.stopAt === 'line' && s.multiLine ? 'none' : s.stopAt;
}

export function completionSettings(scope?: vscode.ConfigurationScope): CompletionSettings {
  const c = vscode.workspace.getConfiguration('lstmLab.completions', scope);
  const int = (k: string, d: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(Number(c.get(k, d)) || d)));
  return {
    enabled: c.get<boolean>('enabled', true),
    languages: c.get<string[]>('languages', ['*']),
    maxLength: int('maxLength', 40, 1, 400),
    stopAt: c.get<string>('stopAt', 'line') === 'token' ? 'token' : 'line',
    multiLine: c.get<boolean>('multiLine', false) === true,
    temperature: Math.min(2, Math.max(0, Number(c.get('temperature', 0)) || 0)),
    beamWidth: int('beamWidth', 1, 1, 16),
    contextChars: int('contextChars', 4000, 16, 100_000),
    model: MODELS.find((m) => m === c.get<string>('model', 'auto')) ?? 'auto',
  };
}

export function languageEnabled(s: CompletionSettings, languageId: string): boolean {
  return s.languages.includes('*') || s.languages.includes(languageId);
}

/** Flip `lstmLab.completions.enabled` where it is set (workspace folder, workspace, else user settings). */
export async function toggleEnabled(): Promise<boolean> {
  const c = vscode.workspace.getConfiguration('lstmLab.completions');
  const next = !c.get<boolean>('enabled', true);
  const i = c.inspect<boolean>('enabled');
  const target = i?.workspaceFolderValue !== undefined
    ? vscode.ConfigurationTarget.WorkspaceFolder
    : i?.workspaceValue !== undefined
      ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
  await c.update('enabled', next, target);
  return next;
}

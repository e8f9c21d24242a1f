/**
 * The trained models the editor features use (sampling, activations, completions): loads a
 * checkpoint once into the engine's batch-1 inference path and keeps it until the active model
 * changes. Loading initialises the engine's backend in the extension host (inference is a few
 * milliseconds per character; training never runs here).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { initBackend, setWasmDirectory } from '../engine/runtime/backend';
import { loadCheckpoint } from '../engine/training/checkpoint';
import { InferenceModel } from '../engine/inference/inference';
import { sampleStream, SampleOptions } from '../engine/inference/sample';
import { RunStore } from './runStore';

export interface LoadedModel {
  checkpoint: string;
  inference: InferenceModel;
  sample(opts: SampleOptions): Generator<string>;
}

export class ModelCache implements vscode.Disposable {
  private cached: LoadedModel | null = null;
  private loading: Promise<LoadedModel> | null = null;
  private backendReady: Promise<unknown> | null = null;
  private readonly sub: vscode.Disposable;

  constructor(private readonly extensionPath: string, private readonly store: RunStore) {
    this.sub = store.onDidChangeActive(() => this.clear());
  }

  activeCheckpoint(): string | null {
    return this.store.active();
  }

  async load(checkpoint = this.store.active() ?? undefined): Promise<LoadedModel> {
    if (!checkpoint) throw new Error('There is no active model: train one or choose a checkpoint in the Runs view.');
    if (this.cached?.checkpoint === checkpoint) return this.cached;
    if (this.loading) {
      const m = await this.loading;
      if (m.checkpoint === checkpoint) return m;
    }
    this.loading = (async () => {
      await this.ensureBackend();
      const ckpt = await loadCheckpoint(checkpoint);
      const inference = new InferenceModel(ckpt.header.model, ckpt.vocabulary, ckpt.params);
      const m: LoadedModel = { checkpoint, inference, sample: (o) => sampleStream(inference, o) };
      this.clear();
      this.cached = m;
      return m;
    })();
    try {
      return await this.loading;
    } finally {
      this.loading = null;
    }
  }

  /** The language of most of the model's corpus files, for the sample editor. */
  async corpusLanguage(checkpoint: string): Promise<string | null> {
    try {
      const run = JSON.parse(await fs.promises.readFile(path.join(path.dirname(checkpoint), 'run.json'), 'utf8'));
      return typeof run?.language === 'string' ? run.language : 'c';
    } catch {
      return null;
    }
  }

  private ensureBackend(): Promise<unknown> {
    if (!this.backendReady) {
      setWasmDirectory(path.join(this.extensionPath, 'dist', 'wasm'));
      const addon = path.join(this.extensionPath, 'native', 'build', 'Release', 'lstm_lab.node');
      if (fs.existsSync(addon) && !process.env.LSTM_LAB_NATIVE) process.env.LSTM_LAB_NATIVE = addon;
      this.backendReady = initBackend('auto');
    }
    return this.backendReady;
  }

  clear(): void {
    this.cached?.inference.dispose();
    this.cached = null;
  }

  dispose(): void {
    this.clear();
    this.sub.dispose();
  }
}

/**
 * A small fake of the `vscode` API, for unit tests of extension modules outside the editor: events
 * and disposables that behave as VS Code's do, and a window, commands and storage that record what
 * the code under test did (messages, status bar items, progress notifications, executed commands,
 * stored state) so that a test can assert it and answer in the user's place.
 *
 * Loading this module maps the module name 'vscode' to it for every later `require`, so a test
 * imports it before the extension modules it tests:
 *
 *   import * as vscode from './fakes/vscode';            // first
 *   import { RunStore } from '../src/extension/runStore';
 *
 * Only what those modules use is here; a missing member fails loudly as `undefined is not a function`.
 */
import Module = require('module');
import type * as real from 'vscode';

const loader = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
const resolveFilename = loader._resolveFilename;
loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? __filename : resolveFilename.call(this, request, ...rest);
};

export class Disposable {
  private done = false;
  constructor(private readonly callOnDispose: () => unknown) {}
  dispose(): void {
    if (this.done) return;
    this.done = true;
    this.callOnDispose();
  }
}

/** As VS Code's: listeners in the order they subscribed; after dispose(), fire() reaches no one. */
export class EventEmitter<T> {
  private listeners: ((e: T) => unknown)[] = [];
  private disposed = false;
  readonly event = (listener: (e: T) => unknown, thisArgs?: unknown, disposables?: Disposable[]): Disposable => {
    const bound = (e: T) => listener.call(thisArgs, e);
    if (!this.disposed) this.listeners.push(bound);
    const d = new Disposable(() => (this.listeners = this.listeners.filter((l) => l !== bound)));
    disposables?.push(d);
    return d;
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.disposed = true;
    this.listeners = [];
  }
}

/** Resolves with the next event for which `accept` holds (every event when it is left out). */
export function nextEvent<T>(event: (l: (e: T) => unknown) => { dispose(): unknown }, accept: (e: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const sub = event((e) => {
      if (!accept(e)) return;
      sub.dispose();
      resolve(e);
    });
  });
}

export class Uri {
  private constructor(readonly scheme: string, readonly fsPath: string) {}
  static file(fsPath: string): Uri {
    return new Uri('file', fsPath);
  }
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export class StatusBarItem {
  text = '';
  tooltip: string | undefined;
  name: string | undefined;
  command: string | undefined;
  visible = false;
  disposed = false;
  constructor(readonly id: string, readonly alignment: StatusBarAlignment, readonly priority: number) {}
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  dispose(): void {
    this.visible = false;
    this.disposed = true;
  }
}

/** One `withProgress` call: its options, what it reported, a Cancel button, and the task's end. */
export class ProgressNotification {
  readonly reports: { message?: string; increment?: number }[] = [];
  private readonly cancelled = new EventEmitter<void>();
  private cancelRequested = false;
  /** Settles when the task's promise does (the notification closes). */
  ended: Promise<unknown> = Promise.resolve();
  constructor(readonly options: { location: ProgressLocation; title?: string; cancellable?: boolean }) {}
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: this.cancelled.event,
  };
  /** The user presses Cancel. */
  cancel(): void {
    if (this.cancelRequested) return;
    this.cancelRequested = this.token.isCancellationRequested = true;
    this.cancelled.fire();
  }
}

export interface ShownMessage {
  severity: 'information' | 'warning' | 'error';
  message: string;
  /** The options object when one was given ({ modal: true }), else undefined. */
  options: { modal?: boolean } | undefined;
  items: string[];
}

/** What the window has shown, and how the user answers. */
export const window = {
  messages: [] as ShownMessage[],
  statusBarItems: [] as StatusBarItem[],
  progress: [] as ProgressNotification[],
  /** The user's answer to a message: an item's title, or undefined (dismissed). Tests replace it. */
  answer: (_m: ShownMessage): string | undefined => undefined,

  createStatusBarItem(id: string, alignment: StatusBarAlignment, priority: number): StatusBarItem {
    const item = new StatusBarItem(id, alignment, priority);
    window.statusBarItems.push(item);
    return item;
  },
  showInformationMessage: (message: string, ...rest: unknown[]) => show('information', message, rest),
  showWarningMessage: (message: string, ...rest: unknown[]) => show('warning', message, rest),
  showErrorMessage: (message: string, ...rest: unknown[]) => show('error', message, rest),
  withProgress<R>(options: ProgressNotification['options'], task: (progress: { report(v: { message?: string; increment?: number }): void }, token: ProgressNotification['token']) => Promise<R>): Promise<R> {
    const n = new ProgressNotification(options);
    window.progress.push(n);
    const result = task({ report: (v) => n.reports.push(v) }, n.token);
    n.ended = result.then(() => undefined, () => undefined);
    return result;
  },
};

function show(severity: ShownMessage['severity'], message: string, rest: unknown[]): Promise<string | undefined> {
  const options = typeof rest[0] === 'object' && rest[0] !== null ? (rest.shift() as { modal?: boolean }) : undefined;
  const m: ShownMessage = { severity, message, options, items: rest as string[] };
  window.messages.push(m);
  return Promise.resolve(window.answer(m));
}

export const commands = {
  executed: [] as { command: string; args: unknown[] }[],
  executeCommand(command: string, ...args: unknown[]): Promise<undefined> {
    commands.executed.push({ command, args });
    return Promise.resolve(undefined);
  },
};

/** An output channel that keeps its text, line by line as appendLine wrote it. */
export class OutputChannel {
  text = '';
  shown = 0;
  get lines(): string[] {
    return this.text.split('\n').slice(0, -1);
  }
  append(s: string): void {
    this.text += s;
  }
  appendLine(s: string): void {
    this.text += s + '\n';
  }
  show(): void {
    this.shown++;
  }
  /** As the extension modules see it. */
  asOutputChannel(): real.OutputChannel {
    return this as unknown as real.OutputChannel;
  }
}

/** A Memento kept in memory; update(key, undefined) removes the key, as VS Code's does. */
export class Memento {
  readonly values = new Map<string, unknown>();
  get<T>(key: string, fallback?: T): T | undefined {
    return this.values.has(key) ? (this.values.get(key) as T) : fallback;
  }
  update(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
    return Promise.resolve();
  }
  keys(): readonly string[] {
    return [...this.values.keys()];
  }
}

/** An extension context with workspace storage at `storageDir` (null: only global storage). */
export function extensionContext(storageDir: string | null, globalStorageDir: string, workspaceState = new Memento()): { context: real.ExtensionContext; workspaceState: Memento } {
  const context = {
    storageUri: storageDir === null ? undefined : Uri.file(storageDir),
    globalStorageUri: Uri.file(globalStorageDir),
    workspaceState,
  };
  return { context: context as unknown as real.ExtensionContext, workspaceState };
}

/** Forget what the window and commands recorded, and answer nothing again. */
export function reset(): void {
  window.messages.length = 0;
  window.statusBarItems.length = 0;
  window.progress.length = 0;
  window.answer = () => undefined;
  commands.executed.length = 0;
}

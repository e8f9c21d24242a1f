/**
 * Texts to analyse for the activation commands: the current document, or a sample of the workspace's
 * files (of the current document's language when it has known extensions), read as the editor
 * sees them (an open, unsaved document gives its current text), capped in characters.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { SourceFile } from '../protocol/inference';

const EXTENSIONS: Record<string, string[]> = {
  c: ['c', 'h'],
  cpp: ['cc', 'cpp', 'cxx', 'hpp', 'hh', 'h'],
  python: ['py'],
  javascript: ['js', 'mjs', 'cjs'],
  typescript: ['ts'],
  go: ['go'],
  rust: ['rs'],
  java: ['java'],
  shellscript: ['sh'],
  markdown: ['md'],
  plaintext: ['txt'],
};

const LANGUAGE_OF_EXTENSION: Record<string, string> = {};
for (const [lang, exts] of Object.entries(EXTENSIONS)) for (const e of exts) LANGUAGE_OF_EXTENSION[e] ??= lang;

const DEFAULT_GLOB = '**/*.{c,h,cc,cpp,hpp,py,js,ts,go,rs,java,sh}';
const EXCLUDE = '**/{node_modules,.git,out,dist,build,.vscode-test}/**';
const MAX_FILE_BYTES = 1024 * 1024;

export function languageOfPath(file: string): string {
  return LANGUAGE_OF_EXTENSION[path.extname(file).slice(1).toLowerCase()] ?? 'plaintext';
}

export function sourceOfDocument(doc: vscode.TextDocument): SourceFile {
  return { path: doc.uri.fsPath || doc.uri.toString(), text: doc.getText(), languageId: doc.languageId };
}

/**
 * Workspace files of `languageId` (or common source files), in path order, until `maxChars`
 * characters; `skip` (the current document) is left out.
 */
export async function workspaceSources(opts: { languageId?: string; skip?: vscode.Uri; maxChars: number; maxFiles?: number; token?: vscode.CancellationToken }): Promise<{ sources: SourceFile[]; uris: vscode.Uri[] }> {
  const exts = opts.languageId ? EXTENSIONS[opts.languageId] : undefined;
  const glob = exts ? (exts.length === 1 ? `**/*.${exts[0]}` : `**/*.{${exts.join(',')}}`) : DEFAULT_GLOB;
  const found = await vscode.workspace.findFiles(glob, EXCLUDE, opts.maxFiles ?? 2000, opts.token);
  found.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
  const open = new Map(vscode.workspace.textDocuments.map((d) => [d.uri.toString(), d]));
  const sources: SourceFile[] = [];
  const uris: vscode.Uri[] = [];
  let total = 0;
  const decoder = new TextDecoder('utf-8');
  for (const uri of found) {
    if (total >= opts.maxChars || opts.token?.isCancellationRequested) break;
    if (opts.skip && uri.toString() === opts.skip.toString()) continue;
    let text: string;
    const doc = open.get(uri.toString());
    if (doc) text = doc.getText();
    else {
      try {
        const stat = await vscode.workspace.fs.stat(uri);
        if (stat.size > MAX_FILE_BYTES) continue;
        const bytes = await vscode.workspace.fs.readFile(uri);
        if (bytes.includes(0)) continue; // binary
        text = decoder.decode(bytes);
      } catch {
        continue;
      }
    }
    if (!text) continue;
    sources.push({ path: uri.fsPath, text, languageId: doc?.languageId ?? languageOfPath(uri.fsPath) });
    uris.push(uri);
    total += text.length;
  }
  return { sources, uris };
}

/**
 * A real editor for tests, offline: code-server (VS Code 1.100 as a server, from the npm registry)
 * driven by Debian's Chromium through playwright-core. See shared/notes/real-editor-testing.md.
 *
 * - `ensureCodeServer()` installs code-server@4.100.3 into a cache outside the repo (and the Debian
 *   packages it and the browser need), handling every install pitfall of these machines.
 * - `startCodeServer()` runs it in its own process group on a free loopback port with quiet settings.
 * - `launchBrowser()` starts headless Chromium on a fresh profile.
 * - `openPalette`, `runCommand`, `pickQuickItem`, `webviewFrame`, `screenshot`: the workbench as a
 *   person drives it.
 *
 * Loading this module does nothing: `node --test out/test/` loads every file under out/test.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { BrowserContext, Frame, FrameLocator, Locator, Page } from 'playwright-core';

export const CODE_SERVER_VERSION = '4.100.3';
/** The version of @vscode/ripgrep that code-server 4.100.3 pulls in, and the rg build it downloads. */
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';
const DEBIAN_PACKAGES = ['chromium', 'libkrb5-dev', 'ripgrep'];
export const CHROMIUM = '/usr/bin/chromium';

export function log(message: string): void {
  process.stdout.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The repo root: the nearest folder above this file whose package.json is LSTM Lab's. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj) && JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'lstm-lab') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the lstm-lab package.json above ${__dirname}`);
    dir = up;
  }
}

/** Cache root for code-server and scratch state: $LSTM_LAB_E2E_CACHE or ~/.cache/lstm-lab-e2e. */
export function cacheRoot(): string {
  return process.env.LSTM_LAB_E2E_CACHE || path.join(os.homedir(), '.cache', 'lstm-lab-e2e');
}

/** Where screenshots and logs go: test-results/e2e/ (gitignored), or $LSTM_LAB_E2E_ARTIFACTS. */
export function artifactsDir(): string {
  const dir = process.env.LSTM_LAB_E2E_ARTIFACTS || path.join(repoRoot(), 'test-results', 'e2e');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Install

function missingDebianPackages(names: string[]): string[] {
  return names.filter((name) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return r.status !== 0 || !/install ok installed/.test(r.stdout);
  });
}

function runLogged(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string }): void {
  const fd = fs.openSync(opts.logFile, 'a');
  try {
    fs.writeSync(fd, `\n$ ${cmd} ${args.join(' ')}\n`);
    const r = spawnSync(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', fd, fd] });
    if (r.status !== 0) {
      const tail = fs.readFileSync(opts.logFile, 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}); log ${opts.logFile}:\n${tail}`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Debian packages code-server's install and the browser need; installed with apt-get when root. */
export function ensureDebianPackages(logFile = path.join(cacheRoot(), 'apt.log')): void {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const wanted = [...DEBIAN_PACKAGES];
  // node-pty and argon2 build from source during code-server's install.
  if (spawnSync('sh', ['-c', 'command -v make && command -v g++ && command -v python3'], { stdio: 'ignore' }).status !== 0) {
    wanted.push('build-essential', 'python3');
  }
  const missing = missingDebianPackages(wanted);
  if (missing.length === 0) return;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(`missing Debian packages: ${missing.join(' ')} — install them (sudo apt-get install -y ${missing.join(' ')})`);
  }
  log(`apt-get install ${missing.join(' ')} (log ${logFile})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  runLogged('apt-get', ['update', '-qq'], { env, logFile });
  runLogged('apt-get', ['install', '-y', '-qq', ...missing], { env, logFile });
}

function codeServerBin(dir: string): string {
  return path.join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

/**
 * Installs code-server@4.100.3 into `<cache>/code-server` unless it is there already; returns the
 * path of its entry script (run it with `node`). Takes about a minute and 300 MB the first time.
 */
export function ensureCodeServer(): string {
  ensureDebianPackages();
  const root = cacheRoot();
  const dir = path.join(root, 'code-server');
  const marker = path.join(dir, `.installed-${CODE_SERVER_VERSION}`);
  if (fs.existsSync(marker) && fs.existsSync(codeServerBin(dir))) return codeServerBin(dir);

  // One install at a time (the e2e and integration runs share the cache): a lock folder.
  fs.mkdirSync(root, { recursive: true });
  const lock = path.join(root, 'install.lock');
  const lockDeadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (fs.existsSync(marker) && fs.existsSync(codeServerBin(dir))) return codeServerBin(dir);
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age > 10 * 60_000 || Date.now() > lockDeadline) fs.rmSync(lock, { recursive: true, force: true }); // stale
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  try {
    if (fs.existsSync(marker) && fs.existsSync(codeServerBin(dir))) return codeServerBin(dir);
    return installCodeServer(root, dir, marker);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function installCodeServer(root: string, dir: string, marker: string): string {
  const started = Date.now();
  const staging = `${dir}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const tmp = path.join(staging, 'tmp');
  // @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable here); it first looks in
  // $TMPDIR/<cache>/<asset>, a tar.gz holding `rg`: seed it with Debian's rg.
  const rgCache = path.join(tmp, RIPGREP_CACHE);
  fs.mkdirSync(rgCache, { recursive: true });
  const rgDir = fs.mkdtempSync(path.join(tmp, 'rg-'));
  fs.copyFileSync('/usr/bin/rg', path.join(rgDir, 'rg'));
  fs.chmodSync(path.join(rgDir, 'rg'), 0o755);
  const logFile = path.join(root, 'install.log');
  fs.writeFileSync(logFile, '');
  runLogged('tar', ['-C', rgDir, '-czf', path.join(rgCache, RIPGREP_ASSET), 'rg'], { logFile });

  log(`installing code-server@${CODE_SERVER_VERSION} into ${dir} (about a minute; log ${logFile})`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: tmp,
    npm_config_unsafe_perm: 'true', // code-server's postinstall, as root
    npm_config_yes: 'true', // node-pty's install runs `npx node-gyp`
    npm_config_nodedir: '/usr', // node-gyp: the local Node headers, no download
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  runLogged('npm', ['install', '--prefix', staging, '--no-save', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], { env, logFile });
  if (!fs.existsSync(codeServerBin(staging))) throw new Error(`code-server installed, but ${codeServerBin(staging)} is missing; log ${logFile}`);
  const rg = path.join(staging, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg');
  if (!fs.existsSync(rg)) throw new Error(`code-server's postinstall did not run (no ${rg}); log ${logFile}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  fs.writeFileSync(marker, new Date().toISOString() + '\n');
  log(`code-server installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return codeServerBin(dir);
}

// ---------------------------------------------------------------------------------------------
// Server

/** Settings that keep the workbench quiet and offline. */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'git.enabled': false,
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'npm.fetchOnlinePackageInfo': false,
  'security.workspace.trust.enabled': false,
  'editor.inlineSuggest.enabled': true,
  'files.autoSave': 'off',
  'window.restoreWindows': 'none',
};

export interface CodeServerOptions {
  /** The folder the workbench opens. */
  folder: string;
  /** Fresh per run; settings.json is written into `<userDataDir>/User`. */
  userDataDir: string;
  /** Default `<userDataDir>/extensions`. */
  extensionsDir?: string;
  /** Default `<artifacts>/code-server.log`. */
  logFile?: string;
  /** Added to QUIET_SETTINGS. */
  settings?: Record<string, unknown>;
  /** Extra environment for the server and so for the extension host. */
  env?: NodeJS.ProcessEnv;
}

export interface CodeServer {
  url: string;
  port: number;
  folder: string;
  extensionsDir: string;
  userDataDir: string;
  logFile: string;
  /** `http://127.0.0.1:PORT/?folder=…` plus a development-path payload when given. */
  workbenchUrl(dev?: { extensionDevelopmentPath: string; extensionTestsPath?: string }): string;
  /** Kills the process group; copies the server's own logs (extension host, etc.) next to logFile. */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(0);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** code-server's environment: nothing written to ~, no marketplace, nothing inherited from a host VS Code. */
function serverEnv(stateDir: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE' || k === 'PASSWORD' || k === 'HASHED_PASSWORD' || k === 'NODE_OPTIONS' || k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  Object.assign(env, {
    EXTENSIONS_GALLERY: '{}',
    XDG_CONFIG_HOME: path.join(stateDir, 'xdg-config'),
    XDG_DATA_HOME: path.join(stateDir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(stateDir, 'xdg-cache'),
  }, extra ?? {});
  return env;
}

/** `code-server --install-extension VSIX` into an extensions folder (about 6 s). */
export function installExtension(entry: string, vsix: string, extensionsDir: string, logFile: string): void {
  const stateDir = path.join(path.dirname(extensionsDir), 'install-state');
  fs.mkdirSync(stateDir, { recursive: true });
  runLogged(process.execPath, [entry, '--extensions-dir', extensionsDir, '--user-data-dir', path.join(stateDir, 'user-data'),
    '--config', path.join(stateDir, 'config.yaml'), '--install-extension', vsix, '--force'], { env: serverEnv(stateDir), logFile });
}

/** Starts code-server in its own process group (setsid) on a free loopback port; waits for /healthz. */
export async function startCodeServer(opts: CodeServerOptions, entry = ensureCodeServer()): Promise<CodeServer> {
  const userDataDir = path.resolve(opts.userDataDir);
  const stateDir = path.dirname(userDataDir);
  const extensionsDir = path.resolve(opts.extensionsDir ?? path.join(userDataDir, 'extensions'));
  const logFile = path.resolve(opts.logFile ?? path.join(artifactsDir(), 'code-server.log'));
  const folder = path.resolve(opts.folder);
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...opts.settings }, null, 2));
  const config = path.join(userDataDir, 'code-server.yaml');
  fs.writeFileSync(config, 'auth: none\ncert: false\n');

  const port = await freePort();
  const args = [entry,
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--config', config,
    '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    folder];
  const out = fs.openSync(logFile, 'w');
  // detached: the child calls setsid(), so it leads a process group that stop() kills whole.
  const child: ChildProcess = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], env: serverEnv(stateDir, opts.env) });
  fs.closeSync(out);
  const pgid = child.pid!;
  let exited: string | null = null;
  child.on('exit', (code, signal) => { exited = `exit ${code ?? signal}`; });
  const killGroup = (sig: NodeJS.Signals) => { try { process.kill(-pgid, sig); } catch { /* gone */ } };
  // Never leave a server behind: on exit, and on Ctrl+C or kill of this process.
  const onExit = () => killGroup('SIGKILL');
  const onSignal = (sig: NodeJS.Signals) => { killGroup('SIGKILL'); process.exit(sig === 'SIGINT' ? 130 : 143); };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while ((await httpStatus(`${url}/healthz`)) !== 200) {
    if (exited || Date.now() > deadline) {
      killGroup('SIGKILL');
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(`code-server did not answer /healthz (${exited ?? 'timed out'}); log ${logFile}:\n${tail}`);
    }
    await sleep(200);
  }

  let stopped = false;
  return {
    url, port, folder, extensionsDir, userDataDir, logFile,
    workbenchUrl(dev) {
      let u = `${url}/?folder=${encodeURIComponent(folder)}`;
      if (dev) {
        const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${path.resolve(p)}`;
        const payload: [string, string][] = [['extensionDevelopmentPath', remote(dev.extensionDevelopmentPath)]];
        if (dev.extensionTestsPath) payload.push(['extensionTestsPath', remote(dev.extensionTestsPath)]);
        u += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
      }
      return u;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      killGroup('SIGTERM');
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      killGroup('SIGKILL');
      process.removeListener('exit', onExit);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      const logs = path.join(userDataDir, 'logs');
      if (fs.existsSync(logs)) {
        const dest = path.join(path.dirname(logFile), 'code-server-logs');
        fs.rmSync(dest, { recursive: true, force: true });
        fs.cpSync(logs, dest, { recursive: true });
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Browser

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, on a fresh profile (never `npx playwright install`). */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  // Required here, not at the top, so that loading this module under `node --test` costs nothing.
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lab-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context, page,
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Workbench

export const SEL = {
  workbench: '.monaco-workbench',
  explorerRows: '.explorer-folders-view .monaco-list-row',
  quickInput: '.quick-input-widget',
  quickInputBox: '.quick-input-widget .quick-input-box input',
  quickInputRows: '.quick-input-widget .quick-input-list .monaco-list-row',
  notifications: '.notifications-toasts .notification-toast .notification-list-item-message',
  dialog: '.monaco-dialog-box',
  ghostText: '.monaco-editor .ghost-text-decoration',
  activeEditorLines: '.editor-group-container.active .monaco-editor .view-lines',
  webviewOuter: 'iframe.webview.ready',
};

/** Raised when the palette does not list a command, or running it says it is not found. */
export class CommandNotFound extends Error {
  constructor(readonly title: string, why: string) {
    super(`command not found: "${title}" (${why})`);
  }
}

/** Waits for the workbench and the explorer of the opened folder. */
export async function waitForWorkbench(page: Page, timeout = 60_000): Promise<void> {
  await page.locator(SEL.workbench).waitFor({ timeout });
  await page.locator(SEL.explorerRows).first().waitFor({ timeout });
}

/** Opens the command palette (F1) and waits for its input. */
export async function openPalette(page: Page): Promise<void> {
  const box = page.locator(SEL.quickInputBox);
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.keyboard.press('F1');
    try {
      await box.waitFor({ state: 'visible', timeout: 5000 });
      return;
    } catch {
      await page.keyboard.press('Escape');
    }
  }
  throw new Error('the command palette did not open (F1)');
}

/** Labels of the visible quick-input rows. */
export async function quickInputLabels(page: Page): Promise<string[]> {
  return page.locator(SEL.quickInputRows).evaluateAll((rows: any[]) => rows.map((r) => String(r.getAttribute('aria-label') ?? r.textContent ?? '')));
}

/** Whether the palette lists a command with this exact title (e.g. "LSTM Lab: Train on Workspace"). */
export async function paletteHasCommand(page: Page, title: string): Promise<boolean> {
  await openPalette(page);
  try {
    return (await findPaletteRow(page, title)) >= 0;
  } finally {
    await page.keyboard.press('Escape');
  }
}

/**
 * Waits until the palette lists a command: an extension's contributions appear some seconds after
 * the workbench does. Returns false when it never does within `timeoutMs`.
 */
export async function waitForCommand(page: Page, title: string, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await paletteHasCommand(page, title)) return true;
    if (Date.now() > deadline) return false;
    await sleep(1000);
  }
}

async function findPaletteRow(page: Page, title: string): Promise<number> {
  await page.locator(SEL.quickInputBox).fill(`>${title}`);
  const deadline = Date.now() + 4000;
  for (;;) {
    const labels = await quickInputLabels(page);
    const i = labels.findIndex((l) => l === title || l.startsWith(`${title},`) || l.startsWith(`${title} `));
    if (i >= 0 || Date.now() > deadline) return i;
    await sleep(150);
  }
}

/**
 * Runs a command by its palette title. Throws CommandNotFound when the palette does not list it or
 * the workbench answers "command '…' not found" (declared in package.json but not registered).
 */
export async function runCommand(page: Page, title: string): Promise<void> {
  const before = await notificationTexts(page);
  await openPalette(page);
  const i = await findPaletteRow(page, title);
  if (i < 0) {
    await page.keyboard.press('Escape');
    throw new CommandNotFound(title, 'the palette does not list it');
  }
  await page.locator(SEL.quickInputRows).nth(i).click();
  // A declared but unregistered command fails at once, in a dialog (1.100, from the palette) or a toast.
  const deadline = Date.now() + 1500;
  while (Date.now() < deadline) {
    const fresh = [...(await notificationTexts(page)).filter((t) => !before.includes(t)), await dialogText(page)];
    const notFound = fresh.find((t) => /command '.*' not found/i.test(t));
    if (notFound) {
      await dismissDialog(page);
      throw new CommandNotFound(title, notFound.replace(/\s+/g, ' ').trim());
    }
    await sleep(250);
  }
}

/** The text of a modal dialog (e.g. "Command … resulted in an error"), or '' when none shows. */
export async function dialogText(page: Page): Promise<string> {
  const box = page.locator(SEL.dialog);
  if ((await box.count()) === 0 || !(await box.first().isVisible())) return '';
  return ((await box.first().textContent()) ?? '').trim();
}

/** Closes a modal dialog if one shows. */
export async function dismissDialog(page: Page): Promise<void> {
  if (await dialogText(page)) await page.keyboard.press('Escape');
}

/** Texts of the visible notification toasts. */
export async function notificationTexts(page: Page): Promise<string[]> {
  return page.locator(SEL.notifications).allTextContents();
}

/**
 * Waits for a quick pick and picks the first row whose label matches `match` (or the first row).
 * Returns the label picked.
 */
export async function pickQuickItem(page: Page, match?: RegExp, timeout = 15_000): Promise<string> {
  await page.locator(SEL.quickInputRows).first().waitFor({ state: 'visible', timeout });
  const labels = await quickInputLabels(page);
  const i = match ? labels.findIndex((l) => match.test(l)) : 0;
  if (i < 0) throw new Error(`no quick-pick item matches ${match}; items: ${labels.join(' | ')}`);
  await page.locator(SEL.quickInputRows).nth(i).click();
  return labels[i];
}

/** Whether a quick input (pick or input box) is showing. */
export async function quickInputVisible(page: Page): Promise<boolean> {
  return page.locator(SEL.quickInputBox).isVisible();
}

/** Opens a workspace file in the editor with quick open (Ctrl+P). */
export async function openFile(page: Page, relPath: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const box = page.locator(SEL.quickInputBox);
  await box.waitFor({ state: 'visible', timeout: 5000 });
  await box.fill(relPath);
  await page.locator(SEL.quickInputRows).first().waitFor({ state: 'visible', timeout: 10_000 });
  await sleep(300);
  await page.keyboard.press('Enter');
  const name = path.basename(relPath);
  await page.locator(`.tabs-container .tab.active[aria-label*="${name}"], .tabs-container .tab.active:has-text("${name}")`).first().waitFor({ timeout: 10_000 });
  await page.locator(`${SEL.activeEditorLines} .view-line`).first().waitFor({ timeout: 10_000 });
}

/** The text of the active editor's visible lines, without ghost text (inline suggestions). */
export async function activeEditorText(page: Page): Promise<string> {
  const lines = await page.locator(`${SEL.activeEditorLines} .view-line`).evaluateAll((els: any[]) =>
    els.map((e) => {
      const copy = e.cloneNode(true);
      for (const g of copy.querySelectorAll('[class*="ghost-text"], .suggest-preview-text')) g.remove();
      return { top: parseFloat(e.style.top) || 0, text: String(copy.textContent ?? '').replace(/\u00a0/g, ' ') };
    }));
  return lines.sort((a, b) => a.top - b.top).map((l) => l.text).join('\n');
}

/**
 * The content of a webview, two iframes deep. `titleOrIndex`: the index among visible webviews, or
 * a string/RegExp matched against the outer iframe's title, the inner document's title, or the
 * label of the editor tab of each webview (in order).
 */
export async function webviewFrame(page: Page, titleOrIndex: number | string | RegExp = 0, timeout = 30_000): Promise<FrameLocator> {
  const outer = page.locator(SEL.webviewOuter);
  const deadline = Date.now() + timeout;
  for (;;) {
    const n = await outer.count();
    if (typeof titleOrIndex === 'number') {
      if (n > titleOrIndex) return outer.nth(titleOrIndex).contentFrame().frameLocator('iframe#active-frame');
    } else {
      const test = (s: string | null | undefined) => !!s && (typeof titleOrIndex === 'string' ? s.includes(titleOrIndex) : titleOrIndex.test(s));
      for (let i = 0; i < n; i++) {
        const frame = await innerFrame(page, i);
        const titles = [await outer.nth(i).getAttribute('title'), frame ? await frame.title().catch(() => '') : ''];
        if (titles.some(test)) return outer.nth(i).contentFrame().frameLocator('iframe#active-frame');
      }
    }
    if (Date.now() > deadline) throw new Error(`no webview ${String(titleOrIndex)} within ${timeout} ms (${n} webviews)`);
    await sleep(250);
  }
}

/** The inner (content) Frame of the i-th webview, for `frame.evaluate`. */
export async function innerFrame(page: Page, index = 0): Promise<Frame | null> {
  const handle = await page.locator(SEL.webviewOuter).nth(index).elementHandle();
  const outer = await handle?.contentFrame();
  return outer?.childFrames().find((f) => /fake\.html/.test(f.url())) ?? null;
}

let shotCounter = 0;
/** Saves a full-page screenshot as test-results/e2e/NN-name.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(artifactsDir(), `${String(++shotCounter).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Buttons of a modal dialog (e.g. "Stop It and Start"). */
export async function dialogButtons(page: Page): Promise<string[]> {
  if (!(await dialogText(page))) return [];
  return (await page.locator(`${SEL.dialog} .dialog-buttons .monaco-button`).allTextContents()).map((t) => t.trim());
}

/** Clicks the button labelled `label` of the modal dialog showing now. */
export async function clickDialogButton(page: Page, label: string | RegExp): Promise<void> {
  const button = page.locator(`${SEL.dialog} .dialog-buttons .monaco-button`, { hasText: label }).first();
  await button.click({ timeout: 5000 });
  await page.locator(SEL.dialog).first().waitFor({ state: 'hidden', timeout: 10_000 });
}

/**
 * Clicks the action button `action` (e.g. "Cancel") of the notification whose text matches
 * `message`: on its toast when it shows, else in the notification centre (toasts hide after a
 * while). Returns the notification's text at the time of the click.
 */
export async function clickNotificationAction(page: Page, message: RegExp, action: string, timeout = 15_000): Promise<string> {
  const item = (container: string) => page.locator(`${container} .notification-list-item`)
    .filter({ has: page.locator('.notification-list-item-message', { hasText: message }) })
    .filter({ has: page.locator('.notification-list-item-buttons-container .monaco-button', { hasText: action }) });
  const deadline = Date.now() + timeout;
  let openedCentre = false;
  for (;;) {
    for (const container of ['.notifications-toasts', '.notifications-center']) {
      const candidates = item(container);
      const n = await candidates.count();
      for (let i = n - 1; i >= 0; i--) {
        const it = candidates.nth(i);
        if (!(await it.isVisible().catch(() => false))) continue;
        const text = ((await it.locator('.notification-list-item-message').textContent().catch(() => '')) ?? '').trim();
        await it.locator('.notification-list-item-buttons-container .monaco-button', { hasText: action }).first().click({ timeout: 5000 });
        if (openedCentre) await page.keyboard.press('Escape').catch(() => undefined);
        return text;
      }
    }
    if (Date.now() > deadline) {
      const texts = await page.locator('.notification-list-item-message').allTextContents();
      throw new Error(`no notification matching ${message} with a "${action}" button within ${timeout / 1000} s (notifications: ${texts.join(' | ') || 'none'})`);
    }
    // Not on a toast after a few seconds: look in the notification centre.
    if (!openedCentre && Date.now() > deadline - timeout / 2) {
      openedCentre = true;
      await runCommand(page, 'Notifications: Show Notifications').catch(() => undefined);
    }
    await sleep(250);
  }
}

/** Hides every notification (so that screenshots show the product, not the toasts). */
export async function clearNotifications(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications').catch(() => undefined);
  await page.locator('.notifications-toasts .notification-toast').first().waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
}

/**
 * Opens a view container of the activity bar by its title (e.g. "LSTM Lab"), unless the side bar
 * shows it already; waits for the side bar's title to name it. Returns the side bar locator.
 */
export async function openViewContainer(page: Page, title: string, timeout = 15_000): Promise<Locator> {
  const sidebar = page.locator('.part.sidebar');
  const header = sidebar.locator('.composite.title, .title-label').first();
  const showing = async () => (await sidebar.isVisible().catch(() => false))
    && ((await header.textContent().catch(() => '')) ?? '').toLowerCase().includes(title.toLowerCase());
  if (await showing()) return sidebar;
  const icon = page.locator(`.part.activitybar .action-item:is([aria-label="${title}"], [aria-label^="${title} "], [aria-label^="${title}("]), .part.activitybar .action-label:is([aria-label="${title}"], [aria-label^="${title} "])`).first();
  await icon.click({ timeout });
  const deadline = Date.now() + timeout;
  while (!(await showing())) {
    if (Date.now() > deadline) throw new Error(`the side bar did not show "${title}" after clicking its activity-bar icon (side bar title: ${JSON.stringify((await header.textContent().catch(() => '')) ?? '')})`);
    await sleep(200);
  }
  return sidebar;
}

/** Clicks the item `label` of the context menu showing now (menus may live in a shadow root; locators pierce it). */
export async function clickContextMenuItem(page: Page, label: string, timeout = 10_000): Promise<void> {
  const item = page.locator('.context-view .monaco-menu .action-item:not(.disabled)').filter({ has: page.locator('.action-label', { hasText: label }) }).first();
  await item.waitFor({ state: 'visible', timeout });
  // A menu item listens for the mouse only 100 ms after it is shown: a quicker click is lost.
  for (let attempt = 0; attempt < 3; attempt++) {
    await sleep(300);
    await item.click();
    try {
      await item.waitFor({ state: 'hidden', timeout: 2000 });
      return;
    } catch { /* still open: click again */ }
  }
  throw new Error(`the context menu stayed open after clicking "${label}" three times`);
}

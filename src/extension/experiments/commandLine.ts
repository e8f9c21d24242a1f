/**
 * The experiments run the command line itself: `lstm-lab compare|errors|brackets|gradients … --json`
 * in a child process (dist/cli.js, the bundled `lstm-lab`), so every figure the panel shows is the
 * one the printed command reproduces, and the extension host never computes it. A job parses the
 * JSON lines of stdout, keeps the end of stderr for its error message, and is cancelled with SIGINT
 * (compare stops cleanly and stays resumable), then SIGKILL if it has not ended 10 s later.
 */
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** The `lstm-lab` script inside the extension: the bundle, or the tsc output in a development checkout. */
export function commandLineScript(extensionPath: string): string {
  const candidates = [path.join(extensionPath, 'dist', 'cli.js'), path.join(extensionPath, 'out', 'src', 'cli', 'main.js')];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`The lstm-lab command line is missing from the extension (${candidates.join(' or ')}): reinstall LSTM Lab.`);
  return found;
}

/** How a person would type the same command (paths quoted when they need it). */
export function commandText(args: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['lstm-lab', ...args.map(quote)].join(' ');
}

export interface JobResult {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  cancelled: boolean;
  /** Every JSON object printed on stdout, in order. */
  events: Record<string, unknown>[];
  /** The command line's own message when it failed (its last stderr line), else ''. */
  message: string;
}

const STDERR_KEPT = 8192;

export class CommandLineJob {
  private readonly child: ChildProcess;
  private cancelRequested = false;
  private killTimer: NodeJS.Timeout | undefined;
  readonly done: Promise<JobResult>;

  constructor(
    script: string,
    readonly args: readonly string[],
    o: { addon?: string; onEvent?: (e: Record<string, unknown>) => void; onLog?: (line: string) => void },
  ) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (o.addon && fs.existsSync(o.addon) && !env.LSTM_LAB_NATIVE) env.LSTM_LAB_NATIVE = o.addon;
    // The host keeps one BLAS thread (see extension.ts); the experiment has every core.
    delete env.OPENBLAS_NUM_THREADS;
    this.child = fork(script, [...args], { env, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const events: Record<string, unknown>[] = [];
    let stderr = '';
    let pending = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          o.onEvent?.(e);
        } catch {
          o.onLog?.(`lstm-lab printed a line that is not JSON: ${line.slice(0, 200)}`);
        }
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
      for (const l of chunk.split(/\r?\n|\r/)) if (l.trim()) o.onLog?.(l.trim());
    });
    this.done = new Promise<JobResult>((resolve) => {
      this.child.on('error', (e) => resolve({ code: 1, cancelled: this.cancelRequested, events, message: `could not start lstm-lab: ${e.message}` }));
      this.child.on('exit', (code) => {
        clearTimeout(this.killTimer);
        const lines = stderr.split(/\r?\n|\r/).map((l) => l.trim()).filter(Boolean);
        const own = /^lstm-lab( [\w-]+)?: /;
        const last = [...lines].reverse().find((l) => own.test(l)) ?? lines[lines.length - 1] ?? '';
        resolve({ code, cancelled: this.cancelRequested, events, message: code === 0 ? '' : last.replace(own, '') || `lstm-lab exited with ${code ?? 'a signal'}` });
      });
    });
  }

  cancel(): void {
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    this.child.kill('SIGINT');
    this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
  }
}

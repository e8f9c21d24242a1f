/**
 * Crash safety under `kill -9`: training is killed at random moments while it writes checkpoints, then
 * the run is resumed, and the script counts checkpoints that do not load and temporary files left
 * behind after that next start. Not part of `npm test` (it takes minutes).
 *
 *   node out/bench/killStress.js [--trials 100] [--seed 1]
 *
 * Each trial trains a tiny model (1×32, sequence 32, batch 8) that checkpoints every 2 steps, with
 * `--workers 1` and `--workers 2` in turn, on a C fixture made here; it is killed (SIGKILL) at a random
 * moment 0–1.5 s after its first checkpoint, when saves come several times a second. Then:
 *   - last.ckpt and best.ckpt must load (loadCheckpoint verifies the checksum);
 *   - `train --resume` of the run must start (taking over the dead process's lock) and, once it has
 *     started, no `*.tmp-*` file of a dead process may be left in the run folder.
 * Prints one line per trial and the totals; exits 1 if any checkpoint was corrupt or a temp file stayed.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCheckpoint } from '../src/engine/training/checkpoint';
import { Random } from '../src/engine/nn/random';
import { arg } from './peerLink';

const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');
const TINY = ['--layers', '1', '--hidden', '32', '--seq', '32', '--batch', '8', '--eval-every', '2', '--eval-chars', '2000', '--sample-chars', '0', '--json'];

function fixture(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let f = 0; f < 6; f++) {
    const parts: string[] = [];
    for (let i = 0; i < 40; i++) parts.push(`static int f${f}_${i}(struct node *n, int key)\n{\n\tif (n->key == key)\n\t\treturn ${i};\n\treturn f${f}_${(i + 1) % 40}(n->next, key);\n}\n`);
    fs.writeFileSync(path.join(dir, `f${f}.c`), parts.join('\n'));
  }
}

/** Start a CLI training; resolves when `until` sees a JSON event on stdout (or the process ends). */
function startTraining(args: string[], until: (e: { event: string }) => boolean): Promise<{ child: ReturnType<typeof spawn>; ended: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ended = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve) => {
    let buf = '';
    let done = false;
    child.stdout!.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          if (!done && until(JSON.parse(line))) {
            done = true;
            resolve({ child, ended });
          }
        } catch {
          // not JSON
        }
      }
    });
    child.stderr!.resume();
    void ended.then(() => {
      if (!done) resolve({ child, ended });
    });
  });
}

async function main(): Promise<void> {
  const trials = Number(arg('trials', '100'));
  const rng = new Random(Number(arg('seed', '1')));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lab-kill-'));
  const corpus = path.join(work, 'corpus');
  fixture(corpus);
  let corrupt = 0, leftover = 0, failedStarts = 0;
  for (let k = 0; k < trials; k++) {
    const workers = k % 2 === 0 ? 1 : 2;
    const out = path.join(work, `runs-${k}`);
    const run = path.join(out, 'r');
    const { child } = await startTraining([corpus, ...TINY, '--steps', '100000', '--workers', String(workers), '--out', out, '--run-id', 'r'], (e) => e.event === 'checkpoint');
    await new Promise((r) => setTimeout(r, rng.next() * 1500));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const temps = fs.readdirSync(run).filter((f) => f.includes('.tmp-'));
    const bad: string[] = [];
    for (const role of ['last', 'best'] as const) {
      const file = path.join(run, `${role}.ckpt`);
      if (!fs.existsSync(file)) continue;
      try {
        await loadCheckpoint(file);
      } catch (e) {
        bad.push(`${role}.ckpt: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    corrupt += bad.length;
    // The next start: resume, wait until it has started, then look for leftovers.
    const next = await startTraining(['--resume', run, '--steps', '100000', '--workers', String(workers), ...TINY], (e) => e.event === 'start');
    // (The new process's own temp files, of writes in flight, are not leftovers.)
    const after = fs.readdirSync(run).filter((f) => f.includes('.tmp-') && !f.includes(`.tmp-${next.child.pid}-`));
    next.child.kill('SIGKILL');
    const code = await next.ended;
    if (code !== null && code !== 0) failedStarts++;
    leftover += after.length;
    console.log(`trial ${k + 1} (workers ${workers}): temp files at the kill ${temps.length}, after the next start ${after.length}${bad.length ? `; CORRUPT ${bad.join('; ')}` : ''}`);
    fs.rmSync(out, { recursive: true, force: true });
  }
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`\n${trials} kill -9 trials: ${corrupt} corrupt checkpoints, ${leftover} temp files left after the next start, ${failedStarts} resumes that failed to start`);
  if (corrupt > 0 || leftover > 0 || failedStarts > 0) process.exit(1);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});

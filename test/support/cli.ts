/** Running the built `lstm-lab` command line from tests, and checking its error contract. */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';

/** out/test/support → out/src/cli/main.js */
export const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

export function runCli(args: string[], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, timeout: 240_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Bad input: one line on stderr, the given exit code, never a stack trace. */
export function assertCleanError(r: { code: number | null; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line of error, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/, 'no stack trace');
}

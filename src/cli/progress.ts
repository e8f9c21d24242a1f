/**
 * A progress bar on a terminal (loss, chars/s, time left), plain lines otherwise — never both, and
 * never control characters into a file or a pipe.
 */
export class ProgressLine {
  private readonly tty: boolean;
  private lastPlain = 0;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream, private readonly plainEveryMs = 10_000) {
    this.tty = Boolean(stream.isTTY);
  }

  update(fraction: number | null, text: string, etaSeconds: number | null): void {
    const eta = etaSeconds !== null && Number.isFinite(etaSeconds) ? `  ${formatEta(etaSeconds)} left` : '';
    if (this.tty) {
      const width = 24;
      const f = fraction === null ? 0 : Math.max(0, Math.min(1, fraction));
      const filled = Math.round(f * width);
      const bar = fraction === null ? '' : `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}%  `;
      const line = `${bar}${text}${eta}`;
      const cols = this.stream.columns ?? 120;
      this.stream.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = now;
      const pct = fraction === null ? '' : `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(0)}%  `;
      this.stream.write(`${pct}${text}${eta}\n`);
    }
  }

  /** Print a line above the bar. */
  log(line: string): void {
    this.clear();
    process.stdout.write(line + '\n');
  }

  done(): void {
    this.clear();
  }

  private clear(): void {
    if (this.tty && this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
    }
  }
}

export function formatEta(s: number): string {
  const sec = Math.max(0, Math.round(s));
  const m = Math.floor(sec / 60);
  const h = Math.floor(m / 60);
  if (h > 0) return `${h}:${String(m % 60).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}`;
  return `${m}:${String(sec % 60).padStart(2, '0')}`;
}

/**
 * The README's pictures, regenerated from an end-to-end run (never drawn by hand):
 *
 *   npm run test:e2e && node out/test/e2e/screenshots.js [ARTIFACTS_DIR]
 *
 * copies the e2e run's screenshots (test-results/e2e/, or $LSTM_LAB_E2E_ARTIFACTS, or the folder
 * given) of the dashboard with curves, the activations panel, the activation overlay on C code and
 * the ghost text into media/screenshots/ under stable names. A screenshot wider than 1400 px is
 * scaled down in Chromium (a canvas, high-quality smoothing; no ImageMagick here), narrower again
 * if the PNG would pass ~300 KB.
 *
 * Loading this module does nothing: `node --test out/test/` loads every file under out/test.
 */
import * as fs from 'fs';
import * as path from 'path';
import { artifactsDir, launchBrowser, log, repoRoot, type Browser } from './codeServer';

/** media/screenshots/<name>: the e2e screenshot it comes from (file name without its NN- prefix). */
export const PICTURES: { name: string; from: RegExp; what: string }[] = [
  { name: 'dashboard.png', from: /^Resume-Training-from-the-Runs-view-continues-the-cancelled-run\.png$/, what: 'the dashboard: two runs overlaid (one cancelled, resumed), the Runs view' },
  { name: 'activations-panel.png', from: /^activations-panel-colours-the-open-file\.png$/, what: 'the activations panel colouring list.c by one cell' },
  { name: 'overlay.png', from: /^overlay-hover\.png$/, what: 'the activation overlay on C code in the editor, with the hover of one character' },
  { name: 'ghost-text.png', from: /^ghost-text\.png$/, what: 'a completion from the model as ghost text' },
];

const MAX_WIDTH = 1400;
/** Widths tried in turn when scaling down, until the PNG is small enough. */
const WIDTHS = [1280, 1200, 1120, 1024];
const MAX_BYTES = 300 * 1024;

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(buf: Buffer): { width: number; height: number } {
  if (buf.length < 24 || buf.toString('latin1', 1, 4) !== 'PNG' || buf.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/**
 * Scales a PNG down to `width` in Chromium: the image drawn at that width on a page of that size,
 * captured with a screenshot (Chromium's screenshot encoder compresses much better than a
 * canvas's toDataURL, which made bigger files than the 1440 px originals).
 */
async function scaleDown(browser: Browser, png: Buffer, width: number): Promise<Buffer> {
  const { width: w0, height: h0 } = pngSize(png);
  const height = Math.round((h0 * width) / w0);
  const { page } = browser;
  await page.setViewportSize({ width, height });
  await page.setContent(`<!doctype html><html><body style="margin:0;overflow:hidden"><img id="shot" style="display:block;width:${width}px;height:${height}px" src="data:image/png;base64,${png.toString('base64')}"></body></html>`);
  await page.locator('#shot').evaluate((img: any) => img.decode());
  return page.screenshot({ clip: { x: 0, y: 0, width, height } });
}

export async function copyScreenshots(from: string, to: string): Promise<string[]> {
  const files = fs.readdirSync(from).filter((f) => /^\d+-.*\.png$/.test(f) && !/^\d+-(FAILED|SKIPPED)-/.test(f)).sort();
  const missing: string[] = [];
  const chosen = PICTURES.map((p) => {
    // The last match wins: a later screenshot of the same step is the newer picture.
    const file = files.filter((f) => p.from.test(f.replace(/^\d+-/, ''))).pop();
    if (!file) missing.push(`${p.name} (from ${p.from})`);
    return { ...p, file };
  });
  if (missing.length) throw new Error(`no e2e screenshot for ${missing.join(', ')} in ${from}: run \`npm run test:e2e\` first (every step must pass)`);

  fs.mkdirSync(to, { recursive: true });
  let browser: Browser | null = null;
  const lines: string[] = [];
  try {
    for (const p of chosen) {
      const src = fs.readFileSync(path.join(from, p.file!));
      const size = pngSize(src);
      let png: Buffer = src;
      let width = size.width;
      if (size.width > MAX_WIDTH || src.length > MAX_BYTES) {
        browser ??= await launchBrowser();
        for (const w of WIDTHS.filter((x) => x < size.width)) {
          png = await scaleDown(browser, src, w);
          width = w;
          if (png.length <= MAX_BYTES) break;
        }
      }
      fs.writeFileSync(path.join(to, p.name), png);
      const { height } = pngSize(png);
      const line = `${p.name}: ${p.file} ${size.width}×${size.height} → ${width}×${height}, ${(png.length / 1024).toFixed(0)} KB${png.length > MAX_BYTES ? ' (over 300 KB)' : ''}`;
      lines.push(line);
      log(line);
    }
  } finally {
    await browser?.close();
  }
  return lines;
}

if (require.main === module) {
  const from = path.resolve(process.argv[2] || artifactsDir());
  const to = path.join(repoRoot(), 'media', 'screenshots');
  copyScreenshots(from, to).then(
    () => log(`README pictures written to ${to}`),
    (err) => {
      console.error(`screenshots: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}

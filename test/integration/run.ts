/**
 * `npm run test:integration`: runs the in-editor suite where $LSTM_LAB_INTEGRATION says —
 * `code-server` (default; offline, on this machine and CI) or `electron` (@vscode/test-electron,
 * needs to download VS Code). Exits 0 only when the suite passed.
 */
import { runInCodeServer } from './runInCodeServer';
import { runInElectron } from './runInElectron';

async function main(): Promise<number> {
  const where = process.env.LSTM_LAB_INTEGRATION || 'code-server';
  if (where === 'code-server') return runInCodeServer();
  if (where === 'electron') return runInElectron();
  throw new Error(`LSTM_LAB_INTEGRATION must be code-server or electron, not "${where}"`);
}

if (require.main === module) {
  if (process.env.NODE_TEST_CONTEXT) {
    // `node --test out/test/` loads every file under out/test: not this way.
    console.log('skipped: the integration suite runs with `npm run test:integration`');
  } else {
    main().then((code) => process.exit(code), (err) => {
      console.error(`integration: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
  }
}

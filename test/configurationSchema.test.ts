/**
 * The one configuration schema (src/engine/training/options.ts) and what comes from it: package.json's
 * contributes.configuration agrees with it (type, default, minimum, maximum, enum) for every option
 * that has a setting, and declares no training setting it lacks; the engine's defaults are its; the
 * engine's validation refuses a value out of range with a message that names the setting; `lstm-lab
 * train`'s options and help carry its flags and ranges; 0 asks train() for the automatic learning
 * rate and number of workers, the one rule for both the CLI and the editor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, DEFAULT_MODEL, DEFAULT_TRAIN, automaticLearningRate, validateModelConfig, validateTrainConfig, ModelConfig, TrainConfig } from '../src/engine/nn/config';
import { ALL_OPTIONS, ConfigOption, CORPUS_OPTIONS, MODEL_OPTIONS, optionName, rangeText, RUN_OPTIONS, TRAIN_OPTIONS } from '../src/engine/training/options';
import { automaticWorkers, chooseWorkers } from '../src/engine/training/workerCount';
import { resolveRun } from '../src/engine/training/resume';
import { initBackend } from '../src/engine/runtime/backend';
import { corpusFromText } from '../src/engine/data/corpus';
import { train } from '../src/engine/training/train';
import { COMMANDS } from '../src/cli/commands';
import { formatHelp } from '../src/cli/args';
import { cSource, tempDir, writeTree } from './support/fixtures';
import { assertCleanError, runCli } from './support/cli';

// out/test → the package root
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require(path.resolve(__dirname, '..', '..', 'package.json'));
const SETTINGS: Record<string, Record<string, unknown>> = pkg.contributes.configuration.properties;

const withSetting = ALL_OPTIONS.filter((o) => o.setting !== undefined);

test('package.json declares every option of the schema that has a setting, with the same type, default, bounds and choices', () => {
  assert.ok(withSetting.length >= 15, `only ${withSetting.length} options with a setting`);
  for (const option of withSetting) {
    const key = `lstmLab.${option.setting}`;
    const declared = SETTINGS[key];
    assert.ok(declared, `${key} is not in package.json`);
    assert.deepEqual(declared.default, option.default, `${key}: default`);
    switch (option.type) {
      case 'int':
      case 'number':
        assert.equal(declared.type, option.type === 'int' ? 'integer' : 'number', `${key}: type`);
        assert.equal(declared.minimum, option.min, `${key}: minimum`);
        assert.equal(declared.maximum, option.max, `${key}: maximum`);
        break;
      case 'choice':
        assert.equal(declared.type, 'string', `${key}: type`);
        assert.deepEqual(declared.enum, option.choices, `${key}: enum`);
        break;
      case 'list':
        assert.equal(declared.type, 'array', `${key}: type`);
        break;
    }
  }
});

test('package.json declares no model, training or corpus setting that the schema lacks', () => {
  const inSchema = new Set(withSetting.map((o) => `lstmLab.${o.setting}`));
  const declared = Object.keys(SETTINGS).filter((k) => /^lstmLab\.(model|train|corpus)\./.test(k));
  assert.deepEqual(declared.filter((k) => !inSchema.has(k)), []);
  assert.equal(new Set(withSetting.map((o) => o.setting)).size, withSetting.length, 'no setting named twice');
});

test('the engine defaults are the schema\'s, but where it gives the engine its own, with a reason', () => {
  for (const [field, option] of Object.entries(MODEL_OPTIONS)) assert.equal(DEFAULT_MODEL[field as keyof typeof DEFAULT_MODEL], option.default, field);
  for (const [field, option] of Object.entries(TRAIN_OPTIONS) as [keyof TrainConfig, ConfigOption][]) {
    assert.equal(DEFAULT_TRAIN[field], option.engine ? option.engine.default : option.default, field);
    if (option.engine) assert.ok(option.engine.why.length > 20, `${field}: the engine's own default says why`);
  }
  // The cases that differ: a train() caller with no budget has no time limit, and trains on its own thread.
  assert.equal(DEFAULT_TRAIN.minutes, 0);
  assert.equal(TRAIN_OPTIONS.minutes.default, 3);
  assert.equal(DEFAULT_TRAIN.workers, 1);
  assert.equal(TRAIN_OPTIONS.workers.default, 0);
});

test('validation refuses every option with a setting just outside its range, naming the setting, and takes its bounds', () => {
  const good = { model: { ...DEFAULT_MODEL, vocabSize: 100 } as ModelConfig, train: { ...DEFAULT_TRAIN } };
  const check = (field: string, value: unknown): void => {
    if (field in MODEL_OPTIONS) validateModelConfig({ ...good.model, [field]: value });
    else validateTrainConfig({ ...good.train, [field]: value, ...(field === 'workers' ? { batchSize: 1024 } : {}) });
  };
  let checked = 0;
  for (const [field, option] of [...Object.entries(MODEL_OPTIONS), ...Object.entries(TRAIN_OPTIONS)] as [string, ConfigOption][]) {
    if (!option.setting) continue;
    const name = `lstmLab.${option.setting}`.replace(/\./g, '\\.');
    if (option.type === 'choice') {
      for (const c of option.choices) check(field, c);
      assert.throws(() => check(field, 'transformer'), (e: Error) => e instanceof ConfigError && new RegExp(`^${name} must be .* or .* \\(got transformer\\)\\.$`).test(e.message) && e.option === option);
    } else if (option.type !== 'list') {
      check(field, option.min);
      check(field, option.max);
      const step = option.type === 'int' ? 1 : option.max / 1000;
      for (const bad of [option.min - step, option.max + step]) {
        assert.throws(() => check(field, bad), (e: Error) => e instanceof ConfigError && new RegExp(`^${name} must be a (whole )?number from ${option.min} to ${option.max}\\b.*\\(got ${bad}\\)\\.$`).test(e.message) && e.option === option, `${field} = ${bad}`);
      }
      if (option.type === 'int') assert.throws(() => check(field, option.min + 0.5), /must be a whole number/);
    }
    checked++;
  }
  assert.ok(checked >= 10, `${checked} options checked`);
});

test('the ranges that used to disagree are one: sequence and batch 1–1024 in the engine and the settings', () => {
  assert.throws(() => validateTrainConfig({ ...DEFAULT_TRAIN, seqLength: 1025 }), /lstmLab\.train\.seqLength must be a whole number from 1 to 1024 \(got 1025\)\./);
  assert.throws(() => validateTrainConfig({ ...DEFAULT_TRAIN, batchSize: 1025 }), /lstmLab\.train\.batchSize must be a whole number from 1 to 1024 \(got 1025\)\./);
  assert.equal(SETTINGS['lstmLab.train.seqLength'].minimum, 1);
  assert.equal(SETTINGS['lstmLab.train.seqLength'].maximum, 1024);
  assert.equal(SETTINGS['lstmLab.train.batchSize'].maximum, 1024);
  assert.equal(SETTINGS['lstmLab.train.minutes'].default, 3);
  // An option without a setting is named by its engine field, never by a CLI flag.
  assert.throws(() => validateTrainConfig({ ...DEFAULT_TRAIN, lrDecay: 2 }), (e: Error) => /^lrDecay must be a number from 0\.01 to 1 \(got 2\)\.$/.test(e.message));
  assert.throws(() => validateModelConfig({ ...DEFAULT_MODEL, dropout: 1, vocabSize: 10 }), (e: Error) => /^dropout must be a number from 0 to 0\.9 \(got 1\)\.$/.test(e.message));
  assert.throws(() => validateTrainConfig({ ...DEFAULT_TRAIN, workers: 8, batchSize: 4 }), /lstmLab\.train\.workers \(8\) cannot exceed lstmLab\.train\.batchSize \(4\)/);
  assert.equal(optionName(TRAIN_OPTIONS.lrDecay, 'lrDecay'), 'lrDecay');
});

test('lstm-lab train has an option per schema flag, with the schema\'s range in its help; engine-checked ones are left unset', () => {
  const trainCommand = COMMANDS.find((c) => c.name === 'train')!;
  const byName = new Map(trainCommand.options.map((s) => [s.name, s]));
  const flagged = ALL_OPTIONS.filter((o) => o.flag);
  assert.ok(flagged.length >= 25);
  for (const option of flagged) {
    const spec = byName.get(option.flag!);
    assert.ok(spec, `--${option.flag} missing`);
    if (option.type === 'choice') assert.deepEqual(spec.choices, option.choices, option.flag);
    if (option.type === 'int' || option.type === 'number') {
      assert.equal(spec.type, option.type, option.flag);
      // Either the parser checks the range, or the help shows it and the engine checks it.
      assert.ok(spec.helpRange === rangeText(option) || (spec.min === option.min && spec.max === option.max), `--${option.flag}: range`);
    }
  }
  // Left unset unless given, so a resumed run keeps its own; --workers' 0 (automatic) is passed on.
  for (const flag of ['model', 'layers', 'seq', 'batch', 'lr', 'steps', 'minutes', 'seed']) assert.equal(byName.get(flag)!.default, undefined, flag);
  assert.equal(byName.get('workers')!.default, 0);
  const help = formatHelp(trainCommand.usage, trainCommand.summary, trainCommand.options);
  assert.match(help, /--seq N +BPTT truncation length \(1–1024\) \(default 64\)/);
  assert.match(help, /--batch N +parallel streams per batch \(1–1024\) \(default 32\)/);
  assert.match(help, /--workers N +.*\(0 = automatic: 2 on the native backend with 2 or more cores, else 1\) \(0–64\) \(default 0\)/);
  assert.match(help, /--minutes X +.*\(default 3 when neither --steps nor --minutes is given/);
  assert.match(help, /--lr X +peak learning rate \(0 = automatic: .*\) \(0–1\) \(default automatic\)/);
  assert.match(help, /--max-total-mb X +stop reading at this total \(MB\) \(0\.01–1000\) \(default 50\)/);
  assert.equal(CORPUS_OPTIONS.maxFileKB.flag, 'max-file-kb');
  assert.equal(RUN_OPTIONS.backend.setting, 'train.backend');
});

test('the CLI passes an out-of-range value to the engine, whose message names the setting; the CLI adds its flag', () => {
  const tiny = tempDir();
  writeTree(tiny, { 'a.c': cSource(10) });
  assertCleanError(
    runCli(['train', tiny, '--seq', '2000', '--steps', '1', '--out', tempDir()]),
    2,
    /lstmLab\.train\.seqLength must be a whole number from 1 to 1024 \(got 2000\)\. On the command line: --seq\. See the ranges in --help\./,
  );
});

test('workers: 0 asks for the automatic rule (two on native with two cores or more, never more than the streams); a number is kept', () => {
  assert.equal(chooseWorkers(3, 'native', 32, 8), 3);
  assert.equal(chooseWorkers(0, 'native', 32, 2), 2);
  assert.equal(chooseWorkers(0, 'native', 32, 1), 1);
  assert.equal(chooseWorkers(0, 'native', 1, 8), 1);
  assert.equal(chooseWorkers(0, 'wasm', 32, 8), 1);
  assert.equal(automaticWorkers('native', 4, 32), 2);
});

test('train() resolves 0 for the learning rate (automatic, or a resumed run\'s own) and for the workers (the rule)', async () => {
  await initBackend('cpu');
  const corpus = corpusFromText('fixture.c', cSource(20), 0.1);
  const small = { seqLength: 16, batchSize: 4, steps: 2, evalEvery: 2, sampleChars: 0 };
  const fresh = await resolveRun(corpus, { model: { hidden: 256, layers: 1 }, train: { ...small, learningRate: 0, workers: 0 } }, 'native');
  assert.equal(fresh.train.learningRate, automaticLearningRate({ hidden: 256 }));
  assert.equal(fresh.train.workers, automaticWorkers('native', os.availableParallelism(), 4));
  assert.equal((await resolveRun(corpus, { train: { ...small, workers: 0 } }, 'cpu')).train.workers, 1);
  assert.equal((await resolveRun(corpus, { train: { ...small, workers: 3 } }, 'cpu')).train.workers, 3);
  const dir = tempDir();
  await train(corpus, { outDir: dir, runId: 'r', model: { hidden: 16, layers: 1 }, train: { ...small, learningRate: 3e-3 } });
  const resumed = await resolveRun(corpus, { resume: path.join(dir, 'r'), train: { steps: 4, learningRate: 0, workers: 0 } }, 'cpu');
  assert.equal(resumed.train.learningRate, 3e-3);
  assert.equal(resumed.train.workers, 1);
});

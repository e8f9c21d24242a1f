/**
 * What a run trained on, kept in its folder as corpus.json: the path and content hash of every
 * training and validation file (or part of a file, when one file was split).
 *
 * A checkpoint names its corpus by its root only, and the tools that need the training text later
 * (complete-eval, errors, brackets, the editor's n-gram) read that root again. By then files may
 * have been added, edited or removed, and the split into training and validation files (by path
 * hash and count) may fall differently: a file written after training could count as a training
 * file, or a training file as held out. With the record, the corpus read again is cut back to what
 * the run saw: a file is a training file if the run trained on its text or on a file of its path
 * (edited since), and a file it never saw is held out, whatever the split would make of it now.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../training/checkpoint';
import { joinFiles, readRecordedCorpus, type Corpus, type CorpusFile } from './corpus';

export const CORPUS_RECORD_FILE = 'corpus.json';
const FORMAT = 'lstm-lab/corpus';
const VERSION = 1;

interface RecordedFile {
  path: string;
  sha256: string;
  chars: number;
}

export interface CorpusRecord {
  format: typeof FORMAT;
  version: number;
  root: string;
  train: RecordedFile[];
  validation: RecordedFile[];
}

const hashOf = (text: string) => createHash('sha256').update(text).digest('hex');
const recorded = (f: CorpusFile): RecordedFile => ({ path: f.path, sha256: hashOf(f.text), chars: f.chars });

export function corpusRecordOf(c: Corpus): CorpusRecord {
  return { format: FORMAT, version: VERSION, root: c.root, train: c.trainFiles.map(recorded), validation: c.validationFiles.map(recorded) };
}

/** Write RUN_DIR/corpus.json unless it is there (a resumed run keeps what it started from). */
export async function recordCorpus(runDir: string, record: CorpusRecord): Promise<void> {
  const file = path.join(runDir, CORPUS_RECORD_FILE);
  if (fs.existsSync(file)) return;
  await writeFileAtomic(file, JSON.stringify(record) + '\n');
}

/** The record of the run CHECKPOINT belongs to, or null (an older run, a checkpoint outside its folder, a damaged file). */
export async function readCorpusRecord(checkpoint: string): Promise<CorpusRecord | null> {
  try {
    const r = JSON.parse(await fs.promises.readFile(path.join(path.dirname(checkpoint), CORPUS_RECORD_FILE), 'utf8')) as CorpusRecord;
    return r?.format === FORMAT && r.version === VERSION && Array.isArray(r.train) && Array.isArray(r.validation) ? r : null;
  } catch {
    return null;
  }
}

/**
 * The corpus cut back to the record: its files (and parts of files) whose text the run trained on,
 * and those it validated on; every other file is in neither. `note` says what differs, or is null.
 */
export function restrictToRecord(c: Corpus, r: CorpusRecord): { corpus: Corpus; note: string | null } {
  // By text, or by path: a training file edited since is still a training file (the run saw most of it).
  const train = new Set(r.train.flatMap((f) => [f.sha256, `path:${f.path}`]));
  const validation = new Set(r.validation.flatMap((f) => [f.sha256, `path:${f.path}`]));
  const parts = [...c.trainFiles, ...c.validationFiles];
  const seenIn = (set: Set<string>, f: CorpusFile) => set.has(hashOf(f.text)) || set.has(`path:${f.path}`);
  const trainFiles = parts.filter((f) => seenIn(train, f));
  const validationFiles = parts.filter((f) => !seenIn(train, f) && seenIn(validation, f));
  const unseen = parts.length - trainFiles.length - validationFiles.length;
  const missing = r.train.length - trainFiles.length;
  const note =
    unseen > 0 || missing > 0
      ? `${c.root} has changed since the run read it: ${missing > 0 ? `${missing} of its ${r.train.length} training file(s) are gone` : 'every training file is there'}${unseen > 0 ? `; ${unseen} file(s) it never saw are not counted as training text` : ''}.`
      : null;
  return { corpus: { ...c, trainFiles, validationFiles, trainText: joinFiles(trainFiles), validationText: joinFiles(validationFiles) }, note };
}

/**
 * The training corpus of a checkpoint whose header names ROOT: ROOT read again, and cut back to
 * what the run saw when its folder has corpus.json.
 */
export async function readTrainingCorpus(checkpoint: string, root: string): Promise<{ corpus: Corpus; note: string | null }> {
  const corpus = await readRecordedCorpus(root);
  const record = await readCorpusRecord(checkpoint);
  return record ? restrictToRecord(corpus, record) : { corpus, note: null };
}

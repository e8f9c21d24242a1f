/** The error of a run that cannot start or go on: a resume that contradicts its checkpoint, a spent budget, divergence. */
export class TrainingError extends Error {
  override name = 'TrainingError';
}

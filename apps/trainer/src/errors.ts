/**
 * Errors the `road` CLI turns into one clear line and a non-zero exit code. Anything else that escapes
 * is a bug and is printed with its stack.
 */
export class RoadError extends Error {
  /** Process exit code the CLI uses for this error (never 0). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'RoadError';
    this.exitCode = exitCode;
  }
}

/** Exit codes, documented in the README. */
export const EXIT = {
  /** Bad input: unknown preset or key, missing dataset root, incompatible checkpoint. */
  badInput: 2,
  /** A loss term became NaN or ±Inf; training stopped, last good checkpoint kept. */
  nonFinite: 3,
  /** A checkpoint could not be written (disk full, permissions); last good checkpoint kept. */
  checkpointWrite: 4,
  /**
   * A phase of the run (a step, loading a batch, an evaluation, a checkpoint) took far longer than its recent median:
   * the step watchdog printed where it was and ended the process; nothing half-done was written. Requeue and resume
   * (75 is sysexits' EX_TEMPFAIL: "try again later").
   */
  stalled: 75,
  /**
   * The run stopped on SIGTERM/SIGINT after writing a checkpoint of the step it was on. The same code as a stall:
   * both mean "requeue me"; rerun the same command with --resume-if-exists (or road train --resume DIR).
   */
  resumable: 75,
} as const;

/** A loss term (or the total) became NaN or ±Inf at some step. */
export class NonFiniteLossError extends RoadError {
  readonly term: string;
  readonly step: number;
  readonly value: number;
  constructor(term: string, step: number, value: number, lastGood?: string) {
    super(
      `loss term "${term}" is ${String(value)} at step ${step}; training stopped` +
        (lastGood ? ` (last good checkpoint kept: ${lastGood})` : ' (no checkpoint had been written yet)'),
      EXIT.nonFinite,
    );
    this.name = 'NonFiniteLossError';
    this.term = term;
    this.step = step;
    this.value = value;
  }
}

/**
 * How much the CLI says. Default: one line per decision (e.g. the engine chosen and what was skipped, in a few
 * words). `--verbose`: also every decision's full reason (the loaders' errors, kernels registered).
 */
let verbose = false;

/** Sets the verbosity for this process (`road --verbose`). */
export function setVerbose(on: boolean): void {
  verbose = on;
}

/** True under `--verbose`. */
export function isVerbose(): boolean {
  return verbose;
}

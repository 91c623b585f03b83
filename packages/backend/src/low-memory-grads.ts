import * as tf from '@tensorflow/tfjs-core';

/**
 * One entry of tfjs-core's gradient tape (engine internals of tfjs-core 4.22, `TapeNode` in tape.ts): a kernel (or
 * customGrad) call recorded while the tape was on, with the tensors the gradient function keeps (`saved`, kept
 * clones that tfjs disposes only when the whole backward pass is over).
 */
interface TapeEntry {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor | null | undefined>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** The parts of tfjs-core's `Engine` this module drives (present, though not public, in tfjs-core 4.22). */
interface EngineInternals {
  state: { activeTape: TapeEntry[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
}

/** A tape entry on a path from the variables to the loss, with the names of its inputs that depend on a variable. */
interface PlannedEntry {
  entry: TapeEntry;
  inputNames: string[];
}

function engineInternals(): EngineInternals {
  const e = tf.engine() as unknown as Partial<EngineInternals>;
  if (typeof e.startTape !== 'function' || typeof e.endTape !== 'function' || e.state == null) {
    throw new Error(
      `lowMemoryVariableGrads: this tfjs-core (${tf.version_core}) has no engine startTape/endTape/state; ` +
        'it was written against tfjs-core 4.22 (use tf.variableGrads instead)',
    );
  }
  return e as EngineInternals;
}

/**
 * The tape entries through which a variable influences `y`, in tape order: an entry counts when one of its inputs
 * depends on a variable (forward sweep) and one of its outputs leads to `y` (backward sweep). Its inputs that do not
 * depend on a variable get no gradient. This is the same subgraph tfjs's own backprop walks.
 */
function planBackprop(tape: TapeEntry[], xs: tf.Tensor[], y: tf.Tensor): PlannedEntry[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const entry of tape) {
    const anyFromX = Object.values(entry.inputs).some((t) => t != null && fromX.has(t.id));
    if (anyFromX) {
      nodeFromX.add(entry.id);
      for (const o of entry.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const entry = tape[i];
    if (entry.outputs.some((o) => toY.has(o.id))) {
      nodeToY.add(entry.id);
      for (const t of Object.values(entry.inputs)) if (t != null) toY.add(t.id);
    }
  }
  const plan: PlannedEntry[] = [];
  for (const entry of tape) {
    if (!nodeFromX.has(entry.id) || !nodeToY.has(entry.id)) continue;
    const inputNames = Object.keys(entry.inputs).filter((k) => {
      const t = entry.inputs[k];
      return t != null && fromX.has(t.id);
    });
    plan.push({ entry, inputNames });
  }
  return plan;
}

function disposeSaved(entry: TapeEntry, spare?: Set<tf.Tensor>): void {
  for (const t of entry.saved ?? []) if (!spare?.has(t)) t.dispose();
  entry.saved = [];
}

/**
 * Reverse-mode gradients of a scalar loss with respect to variables, like `tf.variableGrads(f, varList)` — same
 * kernels, same order, bit-identical results — but holding far less memory during the backward pass.
 *
 * With L = f() and the recorded ops o_n ∘ … ∘ o_1, backprop walks the ops in reverse and applies the chain rule
 *
 *   ∂L/∂x = Σ_{ops k reading x} (∂o_k/∂x)ᵀ · ∂L/∂o_k ,   starting from ∂L/∂L = 1.
 *
 * tfjs 4.22 keeps every ∂L/∂o_k, every temporary of every gradient function and every tensor the ops saved for
 * the backward pass (the forward activations) until the whole walk is over. Here, right after op k's gradient has
 * been propagated to its inputs:
 * - ∂L/∂o_k is disposed (every consumer of o_k comes later on the tape, so it has already been added in);
 * - the temporaries of op k's gradient function are disposed (each op's gradient runs in its own scope);
 * - the tensors op k saved for its gradient are disposed (nothing else reads them);
 * and a partial sum ∂L/∂x is disposed as soon as the next term has been added to it. Tensors saved by ops that do
 * not lie between a variable and L are disposed before the walk. So the backward pass holds the activations not yet
 * walked back through plus the gradients in flight, instead of everything the step ever made.
 *
 * Non-trainable variables in `varList` get a `null` entry, and a variable `f` does not use gets no entry, as with
 * tf.variableGrads. Inside another gradient computation (a tape is already recording, e.g. a higher-order gradient)
 * it defers to `tf.variableGrads`, which must keep the tape intact for the outer pass.
 *
 * Relies on tfjs-core's engine internals (`startTape`, `endTape`, `state.activeTape`; tfjs-core 4.22); throws a
 * clear error when they are missing.
 *
 * @param f The loss: returns a scalar tensor; its ops are recorded.
 * @param varList The variables to differentiate with respect to (at least one trainable).
 * @returns `value`, the loss (the caller disposes it), and `grads`, variable name → gradient (the caller disposes).
 *
 * @example
 * ```ts
 * const w = tf.variable(tf.tensor1d([1, 2]), true, 'w');
 * const { value, grads } = lowMemoryVariableGrads(() => tf.sum(tf.square(w)) as tf.Scalar, [w]);
 * // value = 5, grads.w = [2, 4]
 * ```
 */
export function lowMemoryVariableGrads(
  f: () => tf.Scalar,
  varList: tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  if (typeof f !== 'function') throw new Error('lowMemoryVariableGrads: f must be a function returning a scalar');
  if (!Array.isArray(varList) || !varList.every((v) => v instanceof tf.Variable)) {
    throw new Error('lowMemoryVariableGrads: varList must be an array of tf.Variable');
  }
  const xs = varList.filter((v) => v.trainable);
  if (xs.length === 0) {
    throw new Error(`lowMemoryVariableGrads: none of the ${varList.length} variables in varList is trainable`);
  }
  const engine = engineInternals();
  if (engine.state.gradientDepth > 0)
    return tf.variableGrads(f, varList) as { value: tf.Scalar; grads: tf.NamedTensorMap };

  // Forward, recording the tape (the engine starts a fresh tape at depth 0).
  let y: tf.Tensor;
  engine.startTape();
  try {
    y = tf.tidy('forward', f);
  } finally {
    engine.endTape();
  }
  const tape = engine.state.activeTape ?? [];
  engine.state.activeTape = null;
  let plan: PlannedEntry[] = [];
  try {
    if (!(y instanceof tf.Tensor)) throw new Error('lowMemoryVariableGrads: f must return a tensor');
    if (y.rank !== 0)
      throw new Error(`lowMemoryVariableGrads: f must return a scalar, but it returned a rank-${y.rank} tensor`);
    plan = planBackprop(tape, xs, y);
    const onPath = new Set(plan.map((p) => p.entry));
    for (const entry of tape) if (!onPath.has(entry)) disposeSaved(entry);
    if (plan.length === 0 && !xs.some((x) => x.id === y.id)) {
      throw new Error(
        'lowMemoryVariableGrads: the loss does not depend on any variable in varList (are the ops that use them inside f?)',
      );
    }
    const grads = tf.tidy('backward', () => backprop(plan, xs, y));
    const named: tf.NamedTensorMap = {};
    xs.forEach((x) => {
      const g = grads[x.id];
      if (g != null) named[x.name] = g;
    });
    for (const v of varList) if (!v.trainable) (named as Record<string, tf.Tensor | null>)[v.name] = null;
    return { value: y as tf.Scalar, grads: named };
  } finally {
    // Whatever the walk did not reach (an error part-way) is released here; after a full walk nothing is left.
    for (const entry of tape) disposeSaved(entry);
  }
}

/** Walks `plan` backwards from ∂y/∂y = 1; returns ∂y/∂x by x's id (absent where y does not depend on x). */
function backprop(plan: PlannedEntry[], xs: tf.Tensor[], y: tf.Tensor): Record<number, tf.Tensor> {
  const grad = new Map<number, tf.Tensor>();
  // How many entries of `grad` point at a tensor object (a gradient function may hand dy on unchanged).
  const holders = new Map<tf.Tensor, number>();
  const hold = (t: tf.Tensor) => holders.set(t, (holders.get(t) ?? 0) + 1);
  const release = (t: tf.Tensor) => {
    const n = (holders.get(t) ?? 0) - 1;
    if (n > 0) holders.set(t, n);
    else {
      holders.delete(t);
      if (!t.kept) t.dispose();
    }
  };
  const seed = tf.ones(y.shape);
  grad.set(y.id, seed);
  hold(seed);

  for (let i = plan.length - 1; i >= 0; i--) {
    const { entry, inputNames } = plan[i];
    const dys = entry.outputs.map((o) => grad.get(o.id) ?? null);
    const backward = entry.gradient;
    if (backward == null) {
      throw new Error(`lowMemoryVariableGrads: no gradient function is registered for ${entry.kernelName}`);
    }
    // The gradient function and each input's gradient run in a scope of their own: their temporaries go now.
    const dxs = tf.tidy(() => {
      const fns = backward(dys);
      const out: Record<string, tf.Tensor> = {};
      for (const name of inputNames) {
        if (!(name in fns)) {
          throw new Error(
            `lowMemoryVariableGrads: the gradient of ${entry.kernelName} has no entry for its input '${name}' ` +
              `(it has: ${Object.keys(fns).join(', ')})`,
          );
        }
        out[name] = tf.tidy(() => fns[name]());
      }
      return out;
    });
    const produced = new Set(Object.values(dxs));
    for (const name of inputNames) {
      const dx = dxs[name];
      const x = entry.inputs[name] as tf.Tensor;
      if (dx.dtype !== 'float32') {
        throw new Error(
          `lowMemoryVariableGrads: the gradient of ${entry.kernelName} for input '${name}' has dtype ${dx.dtype}, not float32`,
        );
      }
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(
          `lowMemoryVariableGrads: the gradient of ${entry.kernelName} for input '${name}' has shape [${dx.shape}], ` +
            `but the input has shape [${x.shape}]`,
        );
      }
      const current = grad.get(x.id);
      hold(dx);
      if (current == null) {
        grad.set(x.id, dx);
      } else {
        const sum = tf.add(current, dx);
        grad.set(x.id, sum);
        hold(sum);
        release(current);
        release(dx);
      }
    }
    // Every consumer of this entry's outputs is later on the tape, hence done: their gradients are complete and
    // used. So is what the entry saved for its gradient (kept only if a gradient function returned it as is).
    for (const o of entry.outputs) {
      const g = grad.get(o.id);
      if (g != null) {
        grad.delete(o.id);
        release(g);
      }
    }
    disposeSaved(entry, produced);
  }
  // A plain object, so that the surrounding tidy sees (and keeps) the tensors in it.
  const out: Record<number, tf.Tensor> = {};
  for (const x of xs) {
    const g = grad.get(x.id);
    if (g != null) out[x.id] = g;
  }
  return out;
}

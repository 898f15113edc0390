import * as tf from '@tensorflow/tfjs';

/**
 * `tf.variableGrads` with the same results but a much lower memory peak, for training steps.
 *
 * tfjs' own backward pass (engine.gradients in 4.22) keeps every tensor a tape node saved and the gradient of
 * every intermediate tensor alive until the whole backward pass ends, so its peak is roughly the forward
 * activations twice over. This walks the same tape in the same order with the same gradient functions, but
 * frees a node's saved tensors and its outputs' gradients as soon as the node is done, and a partial gradient
 * as soon as it has been added to the running sum. Only the frontier of the backward pass is alive at a time.
 *
 * It uses the engine's tape internals (activeTape, startTape/endTape, node.gradient/saved), which are stable
 * in the pinned tfjs 4.22.0; nested gradients (a gradient taken inside `f`) are left to `tf.variableGrads`.
 */

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { gradientDepth: number; activeTape: TapeNode[] | null };
  startTape(): void;
  endTape(): void;
  nextTensorId(): number;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

/** The nodes on a path from one of `xs` to `y`, with inputs not derived from `xs` pruned (tape order kept). */
function nodesXToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      for (const o of node.outputs) fromX.add(o.id);
      nodeFromX.add(node.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const t of Object.values(node.inputs)) toY.add(t.id);
      nodeToY.add(node.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodeFromX.has(node.id) || !nodeToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [k, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[k] = t;
    out.push({ ...node, inputs });
  }
  return out;
}

/** Walks `nodes` backwards from dy(y) = 1; returns the gradient of each of `xs` (null if unconnected). */
function backprop(engine: EngineInternals, nodes: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): (tf.Tensor | null)[] {
  const acc = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]]);
  const keep = new Set<number>(xs.map((x) => x.id));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
    const names = Object.keys(node.inputs);
    // Tensors with smaller ids existed before this node's gradient ran (dy itself, saved inputs, constants):
    // they are stored as clones so that freeing one owner never frees another's data.
    const firstNew = engine.nextTensorId();
    const dxs = tf.tidy(() => {
      const g = node.gradient!(dys);
      return names.map((name) => {
        if (!(name in g)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(g)}.`);
        return tf.tidy(() => g[name]());
      });
    });
    names.forEach((name, j) => {
      const x = node.inputs[name];
      let dx = dxs[j];
      if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
      if (dx.shape.join(',') !== x.shape.join(',')) {
        throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
      }
      if (dx.id < firstNew || dxs.indexOf(dx) !== j) dx = dx.clone();
      const cur = acc.get(x.id);
      if (cur) {
        acc.set(x.id, tf.add(cur, dx));
        cur.dispose();
        dx.dispose();
      } else {
        acc.set(x.id, dx);
      }
    });
    // This node was the only producer of its outputs: their gradients and its saved tensors are spent.
    for (const o of node.outputs) {
      if (keep.has(o.id)) continue;
      acc.get(o.id)?.dispose();
      acc.delete(o.id);
    }
    for (const t of node.saved ?? []) t.dispose();
  }
  const grads = xs.map((x) => acc.get(x.id) ?? null);
  for (const [id, t] of acc) if (!keep.has(id)) t.dispose();
  return grads;
}

/**
 * Drop-in for `tf.variableGrads(f, varList)`: value of the scalar `f()` and its gradients by variable name
 * (variables without a connection to the loss are left out).
 */
export function variableGradsLean(f: () => tf.Scalar, varList?: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.state.gradientDepth > 0) return tf.variableGrads(f, varList);
  const vars = varList ?? Object.values(tf.engine().registeredVariables).filter((v) => v.trainable);
  if (!vars.length) throw new Error('variableGradsLean: there are no trainable variables');
  engine.startTape();
  let y: tf.Tensor;
  let tape: TapeNode[];
  try {
    y = engine.tidy('forward', f);
  } catch (e) {
    for (const node of engine.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
    throw e;
  } finally {
    engine.endTape();
    tape = engine.state.activeTape ?? [];
    engine.state.activeTape = null;
  }
  try {
    if (!(y instanceof tf.Tensor) || y.rank !== 0) throw new Error(`variableGradsLean: f() must return a scalar tensor, got rank ${y.rank}`);
    const y0 = y;
    const grads = tf.tidy(() => {
      const gs = backprop(engine, nodesXToY(tape, vars, y0), vars, y0);
      const named: tf.NamedTensorMap = {};
      vars.forEach((v, i) => {
        const g = gs[i];
        if (g) named[v.name] = g;
      });
      return named;
    });
    if (!Object.keys(grads).length) {
      throw new Error('Cannot find a connection between any variable and the result of the loss function y=f(x). Please make sure the operations that use variables are inside the function f passed to minimize().');
    }
    return { value: y0 as tf.Scalar, grads };
  } finally {
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
  }
}

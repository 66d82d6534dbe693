/**
 * Adam with PyTorch's update formula, implemented here rather than with
 * tf.train.adam so that its whole state (step t, m, v) is explicit and
 * restorable bit for bit: tfjs's Adam keeps float32 accumulators of beta^t
 * whose loss on resume makes runs drift. Bias corrections are computed in
 * float64 from t. Weight decay: 'l2' adds wd * param to the gradient before
 * the moments (PyTorch `Adam(weight_decay=...)`), 'decoupled' is AdamW.
 */
import { tf } from '../tf/index.ts';
import type { TrainOptions } from './recipe.ts';

/** Serialisable Adam state (moments in the order of the variables). */
export interface AdamSnapshot {
  t: number;
  m: Float32Array[];
  v: Float32Array[];
}

/** Adam over a fixed list of variables, PyTorch's update formula. */
export class Adam {
  t = 0;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];

  constructor(
    readonly vars: tf.Variable[],
    private readonly opts: Pick<TrainOptions, 'lr' | 'beta1' | 'beta2' | 'epsilon' | 'weightDecay' | 'weightDecayMode'>,
  ) {
    // tidy: the zeros tensors would otherwise outlive the variables made from them.
    this.m = vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  /** Applies one update. `grads[i]` ([same shape as vars[i]]) is not disposed here. */
  apply(grads: tf.Tensor[]): void {
    const { lr, beta1, beta2, epsilon, weightDecay, weightDecayMode } = this.opts;
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      const b1 = tf.scalar(beta1);
      const b2 = tf.scalar(beta2);
      const ob1 = tf.scalar(1 - beta1);
      const ob2 = tf.scalar(1 - beta2);
      const invSqrtBc2 = tf.scalar(1 / Math.sqrt(bc2));
      const eps = tf.scalar(epsilon);
      const stepSize = tf.scalar(lr / bc1);
      const wd = tf.scalar(weightDecay);
      const decoupled = tf.scalar(lr * weightDecay);
      this.vars.forEach((p, i) => {
        let g = grads[i];
        if (weightDecay > 0 && weightDecayMode === 'l2') g = tf.add(g, tf.mul(p, wd));
        const m = tf.add(tf.mul(this.m[i], b1), tf.mul(g, ob1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), ob2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const denom = tf.add(tf.mul(tf.sqrt(v), invSqrtBc2), eps);
        let next = tf.sub(p, tf.mul(tf.div(m, denom), stepSize));
        if (weightDecay > 0 && weightDecayMode === 'decoupled') next = tf.sub(next, tf.mul(p, decoupled));
        p.assign(next);
      });
    });
  }

  /** The whole state as plain arrays (for a checkpoint or the other replica). */
  snapshot(): AdamSnapshot {
    return {
      t: this.t,
      m: this.m.map((x) => x.dataSync() as Float32Array),
      v: this.v.map((x) => x.dataSync() as Float32Array),
    };
  }

  /** Sets the state to `s` (a snapshot of the same variables); throws when its sizes differ. */
  restore(s: AdamSnapshot): void {
    if (s.m.length !== this.m.length || s.v.length !== this.v.length) {
      throw new Error(`optimizer state has ${s.m.length} moment tensors, the model needs ${this.m.length}`);
    }
    this.t = s.t;
    tf.tidy(() => {
      this.m.forEach((x, i) => {
        if (s.m[i].length !== x.size)
          throw new Error(`optimizer moment ${i} has ${s.m[i].length} values, expected ${x.size}`);
        x.assign(tf.tensor(s.m[i], x.shape));
      });
      this.v.forEach((x, i) => {
        if (s.v[i].length !== x.size)
          throw new Error(`optimizer moment ${i} has ${s.v[i].length} values, expected ${x.size}`);
        x.assign(tf.tensor(s.v[i], x.shape));
      });
    });
  }

  /** Frees the moment variables (not `vars`, which belong to the model). */
  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

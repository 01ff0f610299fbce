/** Reference activations in float64: φ(z) and φ'(z) ⊙ δ (SoftMax: per row, J(z)ᵀ δ). */
export type ActivationName = 'Identity' | 'ReLU' | 'Sigmoid' | 'Tanh' | 'SoftMax';

export function activationForward(name: ActivationName, z: ArrayLike<number>, cols: number): Float64Array {
  const out = Float64Array.from(z as ArrayLike<number>);
  switch (name) {
    case 'Identity':
      return out;
    case 'ReLU':
      return out.map((x) => (x > 0 ? x : 0));
    case 'Sigmoid':
      return out.map((x) => 1 / (1 + Math.exp(-x)));
    case 'Tanh':
      return out.map(Math.tanh);
    case 'SoftMax':
      for (let r = 0; r < out.length; r += cols) {
        const row = out.subarray(r, r + cols);
        const max = Math.max(...row);
        let s = 0;
        for (let j = 0; j < cols; j++) s += row[j] = Math.exp(row[j] - max);
        for (let j = 0; j < cols; j++) row[j] /= s;
      }
      return out;
  }
}

export function activationBackward(name: ActivationName, z: ArrayLike<number>, delta: ArrayLike<number>, cols: number): Float64Array {
  const a = activationForward(name, z, cols);
  const out = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    switch (name) {
      case 'Identity':
        out[i] = delta[i];
        break;
      case 'ReLU':
        out[i] = z[i] > 0 ? delta[i] : 0;
        break;
      case 'Sigmoid':
        out[i] = a[i] * (1 - a[i]) * delta[i];
        break;
      case 'Tanh':
        out[i] = (1 - a[i] * a[i]) * delta[i];
        break;
      case 'SoftMax':
        break;
    }
  }
  if (name === 'SoftMax') {
    // ∂a_k/∂z_l = a_k (δ_kl − a_l), so (Jᵀδ)_l = Σ_k δ_k a_k (δ_kl − a_l).
    for (let r = 0; r < z.length; r += cols)
      for (let l = 0; l < cols; l++) {
        let s = 0;
        for (let k = 0; k < cols; k++) s += delta[r + k] * a[r + k] * ((k === l ? 1 : 0) - a[r + l]);
        out[r + l] = s;
      }
  }
  return out;
}

//! Activation functions: forward `a = φ(z)` and backprop `out = φ'(z) ⊙ delta`
//! (for SoftMax, the Jacobian-vector product of each row).

use crate::simd::{zip_map, F32x4};

/// Activation ids shared with TypeScript (`ts/activations.ts`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Activation {
    Identity = 0,
    ReLU = 1,
    Sigmoid = 2,
    Tanh = 3,
    SoftMax = 4,
}

impl Activation {
    pub fn from_id(id: u32) -> Option<Self> {
        match id {
            0 => Some(Activation::Identity),
            1 => Some(Activation::ReLU),
            2 => Some(Activation::Sigmoid),
            3 => Some(Activation::Tanh),
            4 => Some(Activation::SoftMax),
            _ => None,
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `a = φ(z)`; `z` is `rows × cols` (SoftMax works row by row, the others elementwise).
pub fn activation_forward(kind: Activation, z: &[f32], a: &mut [f32], cols: usize) {
    assert_eq!(z.len(), a.len());
    match kind {
        Activation::Identity => a.copy_from_slice(z),
        Activation::ReLU => zip_map(a, z, z, |x, _| x.relu(), |x, _| if x > 0.0 { x } else { 0.0 }),
        Activation::Sigmoid => a.iter_mut().zip(z).for_each(|(o, &x)| *o = sigmoid(x)),
        Activation::Tanh => a.iter_mut().zip(z).for_each(|(o, &x)| *o = x.tanh()),
        Activation::SoftMax => {
            assert!(cols > 0 && z.len() % cols == 0);
            for (zr, ar) in z.chunks_exact(cols).zip(a.chunks_exact_mut(cols)) {
                // Shifting by the row maximum keeps exp() from overflowing.
                let max = zr.iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
                let mut sum = 0.0f64;
                for (o, &x) in ar.iter_mut().zip(zr) {
                    *o = (x - max).exp();
                    sum += *o as f64;
                }
                let inv = (1.0 / sum) as f32;
                ar.iter_mut().for_each(|o| *o *= inv);
            }
        }
    }
}

/// `out = φ'(z) ⊙ delta`, using whichever of `z` and `a = φ(z)` is cheaper.
pub fn activation_backward(kind: Activation, z: &[f32], a: &[f32], delta: &[f32], out: &mut [f32], cols: usize) {
    let n = out.len();
    assert!(z.len() == n && a.len() == n && delta.len() == n);
    match kind {
        Activation::Identity => out.copy_from_slice(delta),
        Activation::ReLU => zip_map(out, delta, z, |d, g| d.where_positive(g), |d, g| if g > 0.0 { d } else { 0.0 }),
        Activation::Sigmoid => {
            let one = F32x4::splat(1.0);
            zip_map(out, delta, a, |d, s| d.mul(s.mul(one.sub(s))), |d, s| d * s * (1.0 - s))
        }
        Activation::Tanh => {
            let one = F32x4::splat(1.0);
            zip_map(out, delta, a, |d, t| d.mul(one.sub(t.mul(t))), |d, t| d * (1.0 - t * t))
        }
        Activation::SoftMax => {
            assert!(cols > 0 && n % cols == 0);
            for ((ar, dr), or) in a.chunks_exact(cols).zip(delta.chunks_exact(cols)).zip(out.chunks_exact_mut(cols)) {
                let dot: f64 = ar.iter().zip(dr).map(|(&s, &d)| s as f64 * d as f64).sum();
                let dot = dot as f32;
                for ((o, &s), &d) in or.iter_mut().zip(ar).zip(dr) {
                    *o = s * (d - dot);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one_and_survive_large_inputs() {
        let z = [1000.0, 1001.0, 999.0, -5.0, 0.0, 5.0];
        let mut a = [0.0; 6];
        activation_forward(Activation::SoftMax, &z, &mut a, 3);
        for r in a.chunks(3) {
            assert!((r.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        assert!(a[1] > a[0] && a[0] > a[2]);
    }

    #[test]
    fn relu_gradient_is_zero_at_and_below_zero() {
        let z = [-1.0, 0.0, 2.0, 3.0, -4.0];
        let mut out = [9.0; 5];
        activation_backward(Activation::ReLU, &z, &z, &[1.0; 5], &mut out, 5);
        assert_eq!(out, [0.0, 0.0, 1.0, 1.0, 0.0]);
    }
}

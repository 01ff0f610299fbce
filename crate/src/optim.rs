//! Optimizer steps, one SIMD pass over a parameter tensor and its gradient.

use crate::simd::{F32x4, LANES};

/// SGD, as PyTorch's `SGD`: `v = μ·v + g; p -= lr·v` (with μ = 0, `p -= lr·g`).
/// `velocity` is required when `momentum != 0`.
pub fn sgd(p: &mut [f32], g: &[f32], velocity: Option<&mut [f32]>, lr: f32, momentum: f32) {
    assert_eq!(p.len(), g.len());
    match velocity {
        None => p.iter_mut().zip(g).for_each(|(x, &d)| *x -= lr * d),
        Some(v) => {
            assert_eq!(v.len(), p.len());
            for ((x, vel), &d) in p.iter_mut().zip(v.iter_mut()).zip(g) {
                *vel = momentum * *vel + d;
                *x -= lr * *vel;
            }
        }
    }
}

/// Adam with bias correction, as PyTorch's `Adam`:
/// `m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²; p -= lr·(m/bc1)/(√(v/bc2) + ε)`
/// where `bc1 = 1 − β1^t`, `bc2 = 1 − β2^t` for step t (counted in TypeScript).
#[allow(clippy::too_many_arguments)]
pub fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr: f32, beta1: f32, beta2: f32, eps: f32, bc1: f32, bc2: f32) {
    let n = p.len();
    assert!(g.len() == n && m.len() == n && v.len() == n);
    let step = lr / bc1;
    let inv_sqrt_bc2 = 1.0 / bc2.sqrt();
    let whole = n - n % LANES;
    let (b1, b2) = (F32x4::splat(beta1), F32x4::splat(beta2));
    let (c1, c2) = (F32x4::splat(1.0 - beta1), F32x4::splat(1.0 - beta2));
    let (vstep, vinv, veps) = (F32x4::splat(step), F32x4::splat(inv_sqrt_bc2), F32x4::splat(eps));
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 4 <= whole <= n and all four slices hold n floats.
        unsafe {
            let gi = F32x4::load(g.as_ptr().add(i));
            let mi = b1.mul_add(F32x4::load(m.as_ptr().add(i)), c1.mul(gi));
            let vi = b2.mul_add(F32x4::load(v.as_ptr().add(i)), c2.mul(gi.mul(gi)));
            let denom = vi.sqrt().mul(vinv).add(veps);
            let pi = F32x4::load(p.as_ptr().add(i)).sub(vstep.mul(mi).div(denom));
            mi.store(m.as_mut_ptr().add(i));
            vi.store(v.as_mut_ptr().add(i));
            pi.store(p.as_mut_ptr().add(i));
        }
        i += LANES;
    }
    for j in whole..n {
        let gj = g[j];
        m[j] = beta1 * m[j] + (1.0 - beta1) * gj;
        v[j] = beta2 * v[j] + (1.0 - beta2) * gj * gj;
        p[j] -= step * m[j] / (v[j].sqrt() * inv_sqrt_bc2 + eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_step_moves_each_parameter_by_lr() {
        // At t = 1, m̂ = g and v̂ = g², so every step is lr·g/(|g|+ε) ≈ lr·sign(g).
        let mut p = [0.0f32; 7];
        let g = [1.0, -2.0, 3.0, -4.0, 5.0, 0.5, -0.25];
        let (mut m, mut v) = ([0.0; 7], [0.0; 7]);
        adam(&mut p, &g, &mut m, &mut v, 0.1, 0.9, 0.999, 1e-8, 0.1, 0.001);
        for (x, d) in p.iter().zip(g) {
            assert!((x + 0.1 * d.signum()).abs() < 1e-5, "{x}");
        }
    }
}

//! Optimizer steps, one SIMD pass over a parameter tensor and its gradient.
//!
//! Each option that changes the arithmetic (weight decay, Nesterov, AdamW's
//! decay) is a const generic, chosen once outside the loop: with the options
//! off, the loop is the plain one, so its float operations and their order
//! (and so its results, bit for bit) do not depend on options that exist.
//!
//! SGD's velocity and Adam's first moment m are flushed to +0 where they fall below the smallest normal float
//! (1.18e-38). A weight whose gradient has become exactly 0 (a dead ReLU's inputs) has its m multiplied by β1 every
//! step until it reaches a few subnormal units, where rounding keeps it for ever (0.9·k·2⁻¹⁴⁹ rounds back to k·2⁻¹⁴⁹
//! for k ≤ 4); subnormal arithmetic is microcoded on x86, and V8 cannot turn on flush-to-zero for wasm. Between 600
//! and 900 steps at batch 64, 10 % of the course network's dense m became subnormal and its Adam took 2.1–2.5× the
//! time. A flushed m would have moved its weight by less than lr·1.2e-38/(ε·(1 − β1ᵗ)), and m gets that small only
//! hundreds of steps in, when 1 − β1ᵗ ≈ 1: about 1.2e-33 at lr 1e-3, below half an ulp of any weight larger than
//! about 2e-26 (2e-25 at lr 0.01); a flushed velocity by less than lr·1.2e-38. So while the gradient stays 0, such
//! weights keep their bits (a gradient that comes back below ~1e-30 may differ in m's last bits). The flush is
//! integer arithmetic on the float's bits, the same in Node, browsers and every worker.
//! Adam's v is not flushed: flushing it too made the pass 1.25× slower, and v decays by only β2 = 0.999 a step, so
//! it takes some 50,000 steps of a gradient that stays exactly 0 to reach the subnormals.

use crate::simd::{flush_subnormal, F32x4, LANES};

/// SGD, as PyTorch's `SGD` with dampening 0:
/// `g ← grad + wd·p`; with momentum μ: `v ← μ·v + g`, then `g ← g + μ·v` (Nesterov) or `g ← v`;
/// finally `p ← p − lr·g`.
///
/// `velocity` must be given when `momentum != 0` or `nesterov` (the caller keeps it, zeroed
/// before the first step: PyTorch's first-step `v = g` equals `μ·0 + g`). Without it,
/// momentum would be silently dropped, so that is a panic (a trap in wasm), not a fallback.
#[allow(clippy::too_many_arguments)]
pub fn sgd(
    p: &mut [f32],
    g: &[f32],
    velocity: Option<&mut [f32]>,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    nesterov: bool,
) {
    assert_eq!(p.len(), g.len());
    let wd = weight_decay != 0.0;
    match velocity {
        None => {
            assert!(momentum == 0.0 && !nesterov, "sgd: momentum or Nesterov without a velocity buffer");
            if wd {
                sgd_plain::<true>(p, g, lr, weight_decay)
            } else {
                sgd_plain::<false>(p, g, lr, weight_decay)
            }
        }
        Some(v) => {
            assert_eq!(v.len(), p.len());
            match (wd, nesterov) {
                (false, false) => sgd_momentum::<false, false>(p, g, v, lr, momentum, weight_decay),
                (true, false) => sgd_momentum::<true, false>(p, g, v, lr, momentum, weight_decay),
                (false, true) => sgd_momentum::<false, true>(p, g, v, lr, momentum, weight_decay),
                (true, true) => sgd_momentum::<true, true>(p, g, v, lr, momentum, weight_decay),
            }
        }
    }
}

fn sgd_plain<const WD: bool>(p: &mut [f32], g: &[f32], lr: f32, weight_decay: f32) {
    let n = p.len();
    let whole = n - n % LANES;
    let (vlr, vwd) = (F32x4::splat(lr), F32x4::splat(weight_decay));
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 4 <= whole <= n and both slices hold n floats.
        unsafe {
            let pi = F32x4::load(p.as_ptr().add(i));
            let mut gi = F32x4::load(g.as_ptr().add(i));
            if WD {
                gi = gi.add(vwd.mul(pi));
            }
            pi.sub(vlr.mul(gi)).store(p.as_mut_ptr().add(i));
        }
        i += LANES;
    }
    for j in whole..n {
        let mut d = g[j];
        if WD {
            d += weight_decay * p[j];
        }
        p[j] -= lr * d;
    }
}

fn sgd_momentum<const WD: bool, const NESTEROV: bool>(
    p: &mut [f32],
    g: &[f32],
    v: &mut [f32],
    lr: f32,
    momentum: f32,
    weight_decay: f32,
) {
    let n = p.len();
    let whole = n - n % LANES;
    let (vlr, vmu, vwd) = (F32x4::splat(lr), F32x4::splat(momentum), F32x4::splat(weight_decay));
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 4 <= whole <= n and all three slices hold n floats.
        unsafe {
            let pi = F32x4::load(p.as_ptr().add(i));
            let mut gi = F32x4::load(g.as_ptr().add(i));
            if WD {
                gi = gi.add(vwd.mul(pi));
            }
            let vi = vmu.mul_add(F32x4::load(v.as_ptr().add(i)), gi).flush_subnormal();
            let step = if NESTEROV { gi.add(vmu.mul(vi)) } else { vi };
            vi.store(v.as_mut_ptr().add(i));
            pi.sub(vlr.mul(step)).store(p.as_mut_ptr().add(i));
        }
        i += LANES;
    }
    for j in whole..n {
        let mut d = g[j];
        if WD {
            d += weight_decay * p[j];
        }
        v[j] = flush_subnormal(momentum * v[j] + d);
        let step = if NESTEROV { d + momentum * v[j] } else { v[j] };
        p[j] -= lr * step;
    }
}

/// Adam's settings for one step; `bc1 = 1 − β1^t`, `bc2 = 1 − β2^t` for step t (counted in TypeScript).
#[derive(Clone, Copy)]
pub struct AdamStep {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub bc1: f32,
    pub bc2: f32,
    /// PyTorch `Adam`'s L2 weight decay: `g ← grad + l2·p` before the moments (0: none).
    pub l2: f32,
    /// PyTorch `AdamW`'s decoupled decay factor `1 − lr·wd`: `p ← decay·p` before the step (1: none).
    pub decay: f32,
}

/// Adam with bias correction, as PyTorch's `Adam` and `AdamW`:
/// `g ← grad + l2·p; p ← decay·p; m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²; p -= lr·(m/bc1)/(√(v/bc2) + ε)`.
///
/// Returns whether every new p is finite, so that the training loop need not read the parameters again to check
/// the update (the check costs nothing here: the pass waits on its square roots and divisions).
pub fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) -> bool {
    let n = p.len();
    assert!(g.len() == n && m.len() == n && v.len() == n);
    match (s.l2 != 0.0, s.decay != 1.0) {
        (false, false) => adam_loop::<false, false>(p, g, m, v, s),
        (true, false) => adam_loop::<true, false>(p, g, m, v, s),
        (false, true) => adam_loop::<false, true>(p, g, m, v, s),
        (true, true) => adam_loop::<true, true>(p, g, m, v, s),
    }
}

fn adam_loop<const L2: bool, const DECAY: bool>(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) -> bool {
    let n = p.len();
    let AdamStep { lr, beta1, beta2, eps, bc1, bc2, l2, decay } = s;
    let step = lr / bc1;
    let inv_sqrt_bc2 = 1.0 / bc2.sqrt();
    let whole = n - n % LANES;
    let (b1, b2) = (F32x4::splat(beta1), F32x4::splat(beta2));
    let (c1, c2) = (F32x4::splat(1.0 - beta1), F32x4::splat(1.0 - beta2));
    let (vstep, vinv, veps) = (F32x4::splat(step), F32x4::splat(inv_sqrt_bc2), F32x4::splat(eps));
    let (vl2, vdecay) = (F32x4::splat(l2), F32x4::splat(decay));
    // NaN·0 and ∞·0 are NaN, and NaN survives the sum.
    let (zero, mut unfinite) = (F32x4::zero(), F32x4::zero());
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 4 <= whole <= n and all four slices hold n floats.
        unsafe {
            let mut pi = F32x4::load(p.as_ptr().add(i));
            let mut gi = F32x4::load(g.as_ptr().add(i));
            if L2 {
                gi = gi.add(vl2.mul(pi));
            }
            if DECAY {
                pi = pi.mul(vdecay);
            }
            let mi = b1.mul_add(F32x4::load(m.as_ptr().add(i)), c1.mul(gi)).flush_subnormal();
            let vi = b2.mul_add(F32x4::load(v.as_ptr().add(i)), c2.mul(gi.mul(gi)));
            let denom = vi.sqrt().mul(vinv).add(veps);
            let pi = pi.sub(vstep.mul(mi).div(denom));
            mi.store(m.as_mut_ptr().add(i));
            vi.store(v.as_mut_ptr().add(i));
            pi.store(p.as_mut_ptr().add(i));
            unfinite = unfinite.add(pi.mul(zero));
        }
        i += LANES;
    }
    let mut tail = 0.0f32;
    for j in whole..n {
        let mut gj = g[j];
        if L2 {
            gj += l2 * p[j];
        }
        if DECAY {
            p[j] *= decay;
        }
        m[j] = flush_subnormal(beta1 * m[j] + (1.0 - beta1) * gj);
        v[j] = beta2 * v[j] + (1.0 - beta2) * gj * gj;
        p[j] -= step * m[j] / (v[j].sqrt() * inv_sqrt_bc2 + eps);
        tail += p[j] * 0.0;
    }
    unfinite.sum_lanes() + tail == 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adam_step(lr: f32, bc1: f32, bc2: f32) -> AdamStep {
        AdamStep { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, bc1, bc2, l2: 0.0, decay: 1.0 }
    }

    #[test]
    fn adam_reports_a_new_parameter_that_is_not_finite_anywhere() {
        // 7 = one vector and a scalar tail of 3. At the first step (bc1 = 1 − β1 = 0.1) Adam moves each
        // parameter by lr·(0.1·g/0.1)/|g| = lr against its gradient's sign: lr 3e37 takes 3.3e38 past f32::MAX
        // where the gradient is negative, and leaves the others finite.
        let g = [1.0f32; 7];
        for at in 0..7 {
            let mut p = [0.5f32; 7];
            let (mut m, mut v) = ([0.0f32; 7], [0.0f32; 7]);
            assert!(adam(&mut p, &g, &mut m, &mut v, adam_step(0.1, 0.1, 0.001)));
            let mut p = [0.5f32; 7];
            p[at] = 3.3e38;
            let mut g2 = g;
            g2[at] = -1.0;
            let (mut m, mut v) = ([0.0f32; 7], [0.0f32; 7]);
            assert!(!adam(&mut p, &g2, &mut m, &mut v, adam_step(3.0e37, 0.1, 0.001)), "overflow at {}", at);
            assert!(p[at].is_infinite());
            assert!(p.iter().enumerate().all(|(i, x)| i == at || x.is_finite()));
            let mut p = [0.5f32; 7];
            p[at] = f32::NAN;
            let (mut m, mut v) = ([0.0f32; 7], [0.0f32; 7]);
            assert!(!adam(&mut p, &g, &mut m, &mut v, adam_step(0.1, 0.1, 0.001)), "NaN at {}", at);
        }
    }

    #[test]
    fn adam_first_step_moves_each_parameter_by_lr() {
        // At t = 1, m̂ = g and v̂ = g², so every step is lr·g/(|g|+ε) ≈ lr·sign(g).
        let mut p = [0.0f32; 7];
        let g = [1.0, -2.0, 3.0, -4.0, 5.0, 0.5, -0.25];
        let (mut m, mut v) = ([0.0; 7], [0.0; 7]);
        adam(&mut p, &g, &mut m, &mut v, adam_step(0.1, 0.1, 0.001));
        for (x, d) in p.iter().zip(g) {
            assert!((x + 0.1 * d.signum()).abs() < 1e-5, "{x}");
        }
    }

    #[test]
    fn state_below_the_smallest_normal_float_is_flushed_to_plus_zero() {
        let tiny = f32::MIN_POSITIVE;
        let cases = [(tiny, tiny), (-tiny, -tiny), (tiny / 2.0, 0.0), (-tiny / 2.0, 0.0), (f32::from_bits(1), 0.0), (0.0, 0.0), (-0.0, 0.0), (1.5, 1.5), (f32::INFINITY, f32::INFINITY), (f32::NEG_INFINITY, f32::NEG_INFINITY)];
        for (x, want) in cases {
            assert_eq!(flush_subnormal(x).to_bits(), f32::to_bits(want), "{:e}", x);
            let mut out = [0.0f32; 4];
            // SAFETY: `out` holds four floats.
            unsafe { F32x4::splat(x).flush_subnormal().store(out.as_mut_ptr()) };
            assert!(out.iter().all(|o| o.to_bits() == f32::to_bits(want)), "{:e}", x);
        }
        assert!(flush_subnormal(f32::NAN).is_nan());
    }

    #[test]
    fn moments_of_a_dead_weight_reach_zero_instead_of_staying_subnormal() {
        // A gradient, then zeros for ever: m (and SGD's velocity) decays by 0.9 a step and, unflushed, would stop at a
        // few subnormal units. 7 = a vector and a tail of 3.
        let (mut p, mut m, mut v) = ([0.5f32; 7], [0.0f32; 7], [0.0f32; 7]);
        let (mut ps, mut vel) = ([0.5f32; 7], [0.0f32; 7]);
        for t in 1..=1000 {
            let g = [if t == 1 { 0.25 } else { 0.0 }; 7];
            let (bc1, bc2) = (1.0 - 0.9f32.powi(t), 1.0 - 0.999f32.powi(t));
            assert!(adam(&mut p, &g, &mut m, &mut v, adam_step(0.01, bc1, bc2)));
            sgd(&mut ps, &g, Some(&mut vel), 0.01, 0.9, 0.0, false);
            for x in m.iter().chain(&vel) {
                assert!(*x == 0.0 || x.is_normal(), "step {}: {:e}", t, x);
            }
        }
        assert!(m.iter().chain(&vel).all(|x| *x == 0.0));
    }

    #[test]
    fn adamw_decays_then_steps() {
        // First step: p ← p·(1 − lr·wd) − lr·sign(g) (approximately, as above).
        let mut p = [1.0f32, -2.0, 3.0, 0.5, -1.5, 2.5, 4.0];
        let p0 = p;
        let g = [1.0, -2.0, 3.0, -4.0, 5.0, 0.5, -0.25];
        let (mut m, mut v) = ([0.0; 7], [0.0; 7]);
        let decay = 1.0 - 0.1 * 0.5;
        adam(&mut p, &g, &mut m, &mut v, AdamStep { decay, ..adam_step(0.1, 0.1, 0.001) });
        for ((x, x0), d) in p.iter().zip(p0).zip(g) {
            assert!((x - (x0 * decay - 0.1 * d.signum())).abs() < 1e-5, "{x}");
        }
    }

    #[test]
    fn adam_l2_adds_to_the_gradient() {
        // With g = 0 and l2 = 1, the effective gradient is p itself.
        let mut a = [0.5f32, -1.0, 2.0, 0.25, 3.0];
        let mut b = a;
        let p0 = a;
        let (mut m1, mut v1, mut m2, mut v2) = ([0.0; 5], [0.0; 5], [0.0; 5], [0.0; 5]);
        adam(&mut a, &[0.0; 5], &mut m1, &mut v1, AdamStep { l2: 1.0, ..adam_step(0.01, 0.1, 0.001) });
        adam(&mut b, &p0, &mut m2, &mut v2, adam_step(0.01, 0.1, 0.001));
        assert_eq!(a, b);
    }

    #[test]
    fn sgd_variants_against_scalar_formulas() {
        let n = 11; // two SIMD groups and a tail of three
        let g: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).sin()).collect();
        for &(mu, wd, nesterov) in &[(0.0, 0.0, false), (0.0, 0.1, false), (0.9, 0.0, false), (0.9, 0.1, false), (0.9, 0.0, true), (0.5, 0.2, true)] {
            let mut p: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).cos()).collect();
            let mut want: Vec<f64> = p.iter().map(|&x| x as f64).collect();
            let mut v = vec![0.0f32; n];
            let mut vw = vec![0.0f64; n];
            for _ in 0..3 {
                let vel = if mu > 0.0 { Some(&mut v[..]) } else { None };
                sgd(&mut p, &g, vel, 0.1, mu, wd, nesterov);
                for j in 0..n {
                    let d = g[j] as f64 + wd as f64 * want[j];
                    vw[j] = mu as f64 * vw[j] + d;
                    let step = if mu == 0.0 { d } else if nesterov { d + mu as f64 * vw[j] } else { vw[j] };
                    want[j] -= 0.1 * step;
                }
            }
            for j in 0..n {
                assert!((p[j] as f64 - want[j]).abs() < 1e-5, "μ {mu} wd {wd} nesterov {nesterov}: {} vs {}", p[j], want[j]);
            }
        }
    }

    #[test]
    #[should_panic(expected = "without a velocity buffer")]
    fn sgd_refuses_momentum_without_a_buffer() {
        sgd(&mut [1.0], &[1.0], None, 0.1, 0.9, 0.0, false);
    }
}

//! Batch normalization, PyTorch's `BatchNorm2d` on NCHW data seen as `[n, c, hw]`
//! (`BatchNorm1d` on `[n, f]` is the case `hw = 1`).
//!
//! Training: per channel, over all `N = n·hw` values of the batch, the mean and
//! the BIASED variance `var_b` give `invstd = 1/sqrt(var_b + eps)`,
//! `xhat = (x − mean)·invstd`, `y = gamma·xhat + beta`; the running statistics
//! move by `momentum` towards the mean and the UNBIASED variance `var_b·N/(N−1)`.
//! Evaluation normalizes with the running statistics instead.
//!
//! Statistics are sums in f64 in one fixed order (image by image, each plane
//! by `sum_f64`), so they are exact to f32 and deterministic; the caller must
//! pass the whole mini-batch (batch statistics never come from a chunk).
//! Channels go in blocks of `BLOCK` so that every pass walks memory forwards
//! and per-channel scratch lives on the stack.

use crate::simd::{F32x4, LANES};

/// Channels whose statistics are gathered in one sweep over the batch.
const BLOCK: usize = 64;
const ZEROS: [f32; BLOCK] = [0.0; BLOCK];

#[derive(Clone, Copy, Debug)]
pub struct BnShape {
    pub n: usize,
    pub c: usize,
    /// Values per channel per image: h·w (1 for `BatchNorm1d`).
    pub hw: usize,
}

impl BnShape {
    /// `n·c·hw`; panics (a trap in wasm) rather than wrap around.
    pub fn len(&self) -> usize {
        crate::mem::checked_len(&[self.n, self.c, self.hw])
    }
    /// Values each channel's statistics run over (at most `len()`, so it fits once `len()` did).
    pub fn count(&self) -> usize {
        self.n * self.hw
    }
    fn check(&self, x: usize, per_channel: &[usize]) {
        assert!(self.c > 0 && self.hw > 0, "batchnorm: empty shape");
        assert!(x >= self.len(), "batchnorm: buffer shorter than n·c·hw");
        assert!(per_channel.iter().all(|&l| l >= self.c), "batchnorm: per-channel buffer shorter than c");
    }
    /// The plane of image `i`, channel `ch` within a buffer of `len()` values.
    fn plane(&self, i: usize, ch: usize) -> core::ops::Range<usize> {
        let start = (i * self.c + ch) * self.hw;
        start..start + self.hw
    }
}

/// Σ v in f64 with four interleaved accumulators (a fixed order, so deterministic).
fn sum_f64(v: &[f32]) -> f64 {
    let mut s = [0.0f64; 4];
    let mut chunks = v.chunks_exact(4);
    for q in &mut chunks {
        for k in 0..4 {
            s[k] += q[k] as f64;
        }
    }
    for (k, &x) in chunks.remainder().iter().enumerate() {
        s[k] += x as f64;
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// Σ (v − mean)² in f64, ordered like `sum_f64`.
fn sum_sq_dev_f64(v: &[f32], mean: f64) -> f64 {
    let mut s = [0.0f64; 4];
    let mut chunks = v.chunks_exact(4);
    for q in &mut chunks {
        for k in 0..4 {
            let d = q[k] as f64 - mean;
            s[k] += d * d;
        }
    }
    for (k, &x) in chunks.remainder().iter().enumerate() {
        let d = x as f64 - mean;
        s[k] += d * d;
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// Σ a·b in f64, ordered like `sum_f64`.
fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    let mut s = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (p, q) in (&mut ca).zip(&mut cb) {
        for k in 0..4 {
            s[k] += p[k] as f64 * q[k] as f64;
        }
    }
    for (k, (&x, &y)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
        s[k] += x as f64 * y as f64;
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// A coefficient of an elementwise pass: one value for a whole plane (`hw > 1`),
/// or one per element when the "plane" is a row of channels (`hw = 1`).
trait Coef: Copy {
    /// Whether it has a value for each of `len` elements.
    fn covers(self, len: usize) -> bool;
    /// The values for elements `i..i+4`.
    ///
    /// # Safety
    /// `covers(len)` holds for some `len ≥ i + 4`.
    unsafe fn lanes(self, i: usize) -> F32x4;
    fn at(self, i: usize) -> f32;
}

impl Coef for f32 {
    #[inline(always)]
    fn covers(self, _: usize) -> bool {
        true
    }
    #[inline(always)]
    unsafe fn lanes(self, _: usize) -> F32x4 {
        F32x4::splat(self)
    }
    #[inline(always)]
    fn at(self, _: usize) -> f32 {
        self
    }
}

impl Coef for &[f32] {
    #[inline(always)]
    fn covers(self, len: usize) -> bool {
        self.len() >= len
    }
    #[inline(always)]
    unsafe fn lanes(self, i: usize) -> F32x4 {
        // SAFETY: i + 4 <= self.len() by the caller's contract.
        F32x4::load(self.as_ptr().add(i))
    }
    #[inline(always)]
    fn at(self, i: usize) -> f32 {
        self[i]
    }
}

/// `xhat = ((x − mean) − mean_lo)·invstd`, `y = gamma·xhat + beta`, elementwise.
/// `mean + mean_lo` is the f64 mean to about 48 bits: with it, xhat keeps its
/// accuracy even when the spread is tiny next to the mean.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn normalize<C: Coef>(x: &[f32], xhat: &mut [f32], y: &mut [f32], mean: C, mean_lo: C, invstd: C, gamma: C, beta: C) {
    let len = x.len();
    assert!(xhat.len() == len && y.len() == len);
    assert!(mean.covers(len) && mean_lo.covers(len) && invstd.covers(len) && gamma.covers(len) && beta.covers(len));
    let whole = len - len % LANES;
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 4 <= whole <= len, the length of all three slices, and every coefficient covers len.
        unsafe {
            let h = F32x4::load(x.as_ptr().add(i)).sub(mean.lanes(i)).sub(mean_lo.lanes(i)).mul(invstd.lanes(i));
            h.store(xhat.as_mut_ptr().add(i));
            h.mul_add(gamma.lanes(i), beta.lanes(i)).store(y.as_mut_ptr().add(i));
        }
        i += LANES;
    }
    for j in whole..len {
        let h = ((x[j] - mean.at(j)) - mean_lo.at(j)) * invstd.at(j);
        xhat[j] = h;
        y[j] = h * gamma.at(j) + beta.at(j);
    }
}

/// `dx = a·dy + (b·xhat + k)`, elementwise: batch norm's input gradient with
/// its per-channel constants folded into `a`, `b`, `k`.
#[inline(always)]
fn combine<C: Coef>(dy: &[f32], xhat: &[f32], dx: &mut [f32], a: C, b: C, k: C) {
    let len = dy.len();
    assert!(xhat.len() == len && dx.len() == len);
    assert!(a.covers(len) && b.covers(len) && k.covers(len));
    let whole = len - len % LANES;
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 4 <= whole <= len, the length of all three slices, and every coefficient covers len.
        unsafe {
            let t = F32x4::load(xhat.as_ptr().add(i)).mul_add(b.lanes(i), k.lanes(i));
            F32x4::load(dy.as_ptr().add(i)).mul_add(a.lanes(i), t).store(dx.as_mut_ptr().add(i));
        }
        i += LANES;
    }
    for j in whole..len {
        dx[j] = dy[j] * a.at(j) + (xhat[j] * b.at(j) + k.at(j));
    }
}

/// The normalize pass over channels `c0..c0+mean.len()`, given their f32 constants.
#[allow(clippy::too_many_arguments)]
fn normalize_block(
    s: &BnShape, c0: usize, x: &[f32], xhat: &mut [f32], y: &mut [f32],
    mean: &[f32], mean_lo: &[f32], invstd: &[f32], gamma: &[f32], beta: &[f32],
) {
    let width = mean.len();
    for i in 0..s.n {
        if s.hw == 1 {
            // One row of channels: vectorise across them.
            let r = s.plane(i, c0).start..s.plane(i, c0).start + width;
            normalize(&x[r.clone()], &mut xhat[r.clone()], &mut y[r], mean, mean_lo, invstd, gamma, beta);
        } else {
            for b in 0..width {
                let r = s.plane(i, c0 + b);
                normalize(&x[r.clone()], &mut xhat[r.clone()], &mut y[r], mean[b], mean_lo[b], invstd[b], gamma[b], beta[b]);
            }
        }
    }
}

/// The input-gradient pass over channels `c0..c0+a.len()`, given their f32 constants.
#[allow(clippy::too_many_arguments)]
fn combine_block(s: &BnShape, c0: usize, dy: &[f32], xhat: &[f32], dx: &mut [f32], a: &[f32], b: &[f32], k: &[f32]) {
    let width = a.len();
    for i in 0..s.n {
        if s.hw == 1 {
            // One row of channels: vectorise across them.
            let st = s.plane(i, c0).start;
            let r = st..st + width;
            combine(&dy[r.clone()], &xhat[r.clone()], &mut dx[r], a, b, k);
        } else {
            for j in 0..width {
                let r = s.plane(i, c0 + j);
                combine(&dy[r.clone()], &xhat[r.clone()], &mut dx[r], a[j], b[j], k[j]);
            }
        }
    }
}

/// Training forward: batch statistics, `y`, the saved `xhat` and `invstd`, and
/// the running statistics updated in place. Needs `N = n·hw ≥ 2` (PyTorch
/// refuses one value per channel; so does the TypeScript caller).
#[allow(clippy::too_many_arguments)]
pub fn forward_train(
    s: &BnShape, x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, momentum: f32,
    running_mean: &mut [f32], running_var: &mut [f32], y: &mut [f32], xhat: &mut [f32], invstd: &mut [f32],
) {
    s.check(x.len(), &[gamma.len(), beta.len(), running_mean.len(), running_var.len(), invstd.len()]);
    assert!(y.len() >= s.len() && xhat.len() >= s.len());
    let count = s.count();
    assert!(count >= 2, "batchnorm: training needs more than one value per channel");
    let (nf, eps, m) = (count as f64, eps as f64, momentum as f64);
    let mut c0 = 0;
    while c0 < s.c {
        let width = BLOCK.min(s.c - c0);
        let mut acc = [0.0f64; BLOCK];
        for i in 0..s.n {
            for b in 0..width {
                acc[b] += sum_f64(&x[s.plane(i, c0 + b)]);
            }
        }
        let mut mean = [0.0f64; BLOCK];
        for b in 0..width {
            mean[b] = acc[b] / nf;
            acc[b] = 0.0;
        }
        for i in 0..s.n {
            for b in 0..width {
                acc[b] += sum_sq_dev_f64(&x[s.plane(i, c0 + b)], mean[b]);
            }
        }
        let (mut mean_hi, mut mean_lo) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
        for b in 0..width {
            let ch = c0 + b;
            let var_b = acc[b] / nf;
            invstd[ch] = (1.0 / (var_b + eps).sqrt()) as f32;
            mean_hi[b] = mean[b] as f32;
            mean_lo[b] = (mean[b] - mean_hi[b] as f64) as f32;
            running_mean[ch] = ((1.0 - m) * running_mean[ch] as f64 + m * mean[b]) as f32;
            running_var[ch] = ((1.0 - m) * running_var[ch] as f64 + m * (acc[b] / (nf - 1.0))) as f32;
        }
        let r = c0..c0 + width;
        normalize_block(s, c0, x, xhat, y, &mean_hi[..width], &mean_lo[..width], &invstd[r.clone()], &gamma[r.clone()], &beta[r]);
        c0 += width;
    }
}

/// Evaluation forward: normalizes with the running statistics (left unchanged);
/// also writes `xhat` and `invstd` so that a backward pass can follow (with the
/// statistics as constants, see `backward` with `training = false`).
#[allow(clippy::too_many_arguments)]
pub fn forward_eval(
    s: &BnShape, x: &[f32], gamma: &[f32], beta: &[f32], running_mean: &[f32], running_var: &[f32], eps: f32,
    y: &mut [f32], xhat: &mut [f32], invstd: &mut [f32],
) {
    s.check(x.len(), &[gamma.len(), beta.len(), running_mean.len(), running_var.len(), invstd.len()]);
    assert!(y.len() >= s.len() && xhat.len() >= s.len());
    for (o, &v) in invstd[..s.c].iter_mut().zip(running_var) {
        *o = (1.0 / (v as f64 + eps as f64).sqrt()) as f32;
    }
    let mut c0 = 0;
    while c0 < s.c {
        let width = BLOCK.min(s.c - c0);
        let r = c0..c0 + width;
        normalize_block(s, c0, x, xhat, y, &running_mean[r.clone()], &ZEROS[..width], &invstd[r.clone()], &gamma[r.clone()], &beta[r]);
        c0 += width;
    }
}

/// `dbeta (+)= Σ dy`, `dgamma (+)= Σ dy·xhat` per channel (with `accumulate`,
/// added to what they hold). When `dx` is given: in training mode the full
/// gradient through the batch statistics,
/// `dx = gamma·invstd/N · (N·dy − Σdy − xhat·Σ(dy·xhat))`; in evaluation mode
/// (statistics constant) `dx = gamma·invstd·dy`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    s: &BnShape, dy: &[f32], xhat: &[f32], gamma: &[f32], invstd: &[f32], training: bool,
    dx: Option<&mut [f32]>, dgamma: &mut [f32], dbeta: &mut [f32], accumulate: bool,
) {
    s.check(dy.len(), &[gamma.len(), invstd.len(), dgamma.len(), dbeta.len()]);
    assert!(xhat.len() >= s.len() && dx.as_ref().map_or(true, |d| d.len() >= s.len()));
    let nf = s.count() as f64;
    let mut dx = dx;
    let mut c0 = 0;
    while c0 < s.c {
        let width = BLOCK.min(s.c - c0);
        let (mut sdy, mut sdx) = ([0.0f64; BLOCK], [0.0f64; BLOCK]);
        for i in 0..s.n {
            for b in 0..width {
                let r = s.plane(i, c0 + b);
                sdy[b] += sum_f64(&dy[r.clone()]);
                sdx[b] += dot_f64(&dy[r.clone()], &xhat[r]);
            }
        }
        let (mut a, mut bx, mut k) = ([0.0f32; BLOCK], [0.0f32; BLOCK], [0.0f32; BLOCK]);
        for b in 0..width {
            let ch = c0 + b;
            dbeta[ch] = if accumulate { dbeta[ch] + sdy[b] as f32 } else { sdy[b] as f32 };
            dgamma[ch] = if accumulate { dgamma[ch] + sdx[b] as f32 } else { sdx[b] as f32 };
            let g = gamma[ch] as f64 * invstd[ch] as f64;
            a[b] = g as f32;
            if training {
                bx[b] = (-g * sdx[b] / nf) as f32;
                k[b] = (-g * sdy[b] / nf) as f32;
            }
        }
        if let Some(dx) = dx.as_deref_mut() {
            combine_block(s, c0, dy, xhat, dx, &a[..width], &bx[..width], &k[..width]);
        }
        c0 += width;
    }
}

// ---------------------------------------------------------------- a batch in shards
//
// With a mini-batch cut into shards (spread over workers), each shard reports
// its per-channel partial sums, the caller combines every shard's in shard
// order (so the statistics do not depend on who computed which shard), and the
// shard is then normalized, or its input gradient formed, from the combined
// constants. `forward_train` and `backward` above are the same mathematics on
// a batch in one piece.

/// Per channel, the shard's `Σ x` and `Σ (x − mean_shard)²` in f64 (ordered
/// like `sum_f64`): `out[2·ch]`, `out[2·ch + 1]`. Shards combine exactly (to
/// f64) with Chan et al.'s pairwise update.
pub fn shard_stats(s: &BnShape, x: &[f32], out: &mut [f64]) {
    s.check(x.len(), &[]);
    assert!(out.len() >= 2 * s.c, "batchnorm: stats buffer shorter than 2·c");
    let nf = s.count() as f64;
    for ch in 0..s.c {
        let mut sum = 0.0;
        for i in 0..s.n {
            sum += sum_f64(&x[s.plane(i, ch)]);
        }
        let mean = sum / nf;
        let mut m2 = 0.0;
        for i in 0..s.n {
            m2 += sum_sq_dev_f64(&x[s.plane(i, ch)], mean);
        }
        out[2 * ch] = sum;
        out[2 * ch + 1] = m2;
    }
}

/// `xhat = ((x − mean) − mean_lo)·invstd`, `y = gamma·xhat + beta`, with per-channel constants given.
#[allow(clippy::too_many_arguments)]
pub fn normalize_given(
    s: &BnShape, x: &[f32], gamma: &[f32], beta: &[f32], mean: &[f32], mean_lo: &[f32], invstd: &[f32],
    y: &mut [f32], xhat: &mut [f32],
) {
    s.check(x.len(), &[gamma.len(), beta.len(), mean.len(), mean_lo.len(), invstd.len()]);
    assert!(y.len() >= s.len() && xhat.len() >= s.len());
    let mut c0 = 0;
    while c0 < s.c {
        let width = BLOCK.min(s.c - c0);
        let r = c0..c0 + width;
        normalize_block(s, c0, x, xhat, y, &mean[r.clone()], &mean_lo[r.clone()], &invstd[r.clone()], &gamma[r.clone()], &beta[r]);
        c0 += width;
    }
}

/// Per channel, the shard's `Σ dy` and `Σ dy·xhat` in f64: `out[2·ch]`, `out[2·ch + 1]`.
pub fn shard_grad_sums(s: &BnShape, dy: &[f32], xhat: &[f32], out: &mut [f64]) {
    s.check(dy.len(), &[]);
    assert!(xhat.len() >= s.len() && out.len() >= 2 * s.c);
    for ch in 0..s.c {
        let (mut sdy, mut sdx) = (0.0, 0.0);
        for i in 0..s.n {
            let r = s.plane(i, ch);
            sdy += sum_f64(&dy[r.clone()]);
            sdx += dot_f64(&dy[r.clone()], &xhat[r]);
        }
        out[2 * ch] = sdy;
        out[2 * ch + 1] = sdx;
    }
}

/// `dx = a·dy + (b·xhat + k)` with per-channel constants given (see `backward`).
pub fn combine_given(s: &BnShape, dy: &[f32], xhat: &[f32], a: &[f32], b: &[f32], k: &[f32], dx: &mut [f32]) {
    s.check(dy.len(), &[a.len(), b.len(), k.len()]);
    assert!(xhat.len() >= s.len() && dx.len() >= s.len());
    let mut c0 = 0;
    while c0 < s.c {
        let width = BLOCK.min(s.c - c0);
        combine_block(s, c0, dy, xhat, dx, &a[c0..c0 + width], &b[c0..c0 + width], &k[c0..c0 + width]);
        c0 += width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
            })
            .collect()
    }

    /// Naive f64 forward from the definition: (y, xhat, invstd, mean, var_b).
    fn naive_forward(s: &BnShape, x: &[f64], gamma: &[f64], beta: &[f64], eps: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let nf = s.count() as f64;
        let (mut y, mut xhat) = (vec![0.0; s.len()], vec![0.0; s.len()]);
        let (mut inv, mut means, mut vars) = (vec![0.0; s.c], vec![0.0; s.c], vec![0.0; s.c]);
        for ch in 0..s.c {
            let idx: Vec<usize> = (0..s.n).flat_map(|i| s.plane(i, ch)).collect();
            let mean = idx.iter().map(|&j| x[j]).sum::<f64>() / nf;
            let var = idx.iter().map(|&j| (x[j] - mean) * (x[j] - mean)).sum::<f64>() / nf;
            inv[ch] = 1.0 / (var + eps).sqrt();
            means[ch] = mean;
            vars[ch] = var;
            for &j in &idx {
                xhat[j] = (x[j] - mean) * inv[ch];
                y[j] = gamma[ch] * xhat[j] + beta[ch];
            }
        }
        (y, xhat, inv, means, vars)
    }

    fn to64(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&x| x as f64).collect()
    }

    fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{}: length", what);
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!((g as f64 - w).abs() <= tol * scale, "{}[{}]: got {}, want {}", what, i, g, w);
        }
    }

    const SHAPES: [BnShape; 5] = [
        BnShape { n: 5, c: 3, hw: 63 },
        BnShape { n: 7, c: 5, hw: 1 },
        BnShape { n: 2, c: 70, hw: 1 }, // more channels than one block
        BnShape { n: 3, c: 66, hw: 3 },
        BnShape { n: 1, c: 2, hw: 9 },
    ];

    #[test]
    fn training_forward_matches_the_definition_and_updates_running_stats() {
        for (t, s) in SHAPES.iter().enumerate() {
            let x: Vec<f32> = values(s.len(), t as u64 + 1).iter().map(|v| 3.0 * v + 0.5).collect();
            let gamma = values(s.c, 100 + t as u64);
            let beta = values(s.c, 200 + t as u64);
            let mut rm = values(s.c, 300 + t as u64);
            let mut rv: Vec<f32> = values(s.c, 400 + t as u64).iter().map(|v| v.abs() + 0.5).collect();
            let (rm0, rv0) = (rm.clone(), rv.clone());
            let (mut y, mut xhat, mut inv) = (vec![f32::NAN; s.len()], vec![f32::NAN; s.len()], vec![f32::NAN; s.c]);
            forward_train(s, &x, &gamma, &beta, 1e-5, 0.1, &mut rm, &mut rv, &mut y, &mut xhat, &mut inv);
            let (ey, exhat, einv, mean, var) = naive_forward(s, &to64(&x), &to64(&gamma), &to64(&beta), 1e-5f32 as f64);
            assert_close(&y, &ey, 1e-6, "y");
            assert_close(&xhat, &exhat, 1e-6, "xhat");
            assert_close(&inv, &einv, 1e-6, "invstd");
            let nf = s.count() as f64;
            let m = 0.1f32 as f64;
            let erm: Vec<f64> = (0..s.c).map(|ch| (1.0 - m) * rm0[ch] as f64 + m * mean[ch]).collect();
            let erv: Vec<f64> = (0..s.c).map(|ch| (1.0 - m) * rv0[ch] as f64 + m * var[ch] * nf / (nf - 1.0)).collect();
            assert_close(&rm, &erm, 1e-6, "running_mean");
            assert_close(&rv, &erv, 1e-6, "running_var");
        }
    }

    #[test]
    fn eval_forward_uses_the_running_stats() {
        for (t, s) in SHAPES.iter().enumerate() {
            let x = values(s.len(), 10 + t as u64);
            let (gamma, beta) = (values(s.c, 11), values(s.c, 12));
            let rm = values(s.c, 13);
            let rv: Vec<f32> = values(s.c, 14).iter().map(|v| v.abs() + 0.1).collect();
            let (mut y, mut xhat, mut inv) = (vec![f32::NAN; s.len()], vec![f32::NAN; s.len()], vec![f32::NAN; s.c]);
            forward_eval(s, &x, &gamma, &beta, &rm, &rv, 1e-3, &mut y, &mut xhat, &mut inv);
            for i in 0..s.n {
                for ch in 0..s.c {
                    let e = 1.0 / (rv[ch] as f64 + 1e-3f32 as f64).sqrt();
                    for j in s.plane(i, ch) {
                        let h = (x[j] as f64 - rm[ch] as f64) * e;
                        assert!((xhat[j] as f64 - h).abs() < 1e-5 * h.abs().max(1.0));
                        let want = gamma[ch] as f64 * h + beta[ch] as f64;
                        assert!((y[j] as f64 - want).abs() < 1e-5 * want.abs().max(1.0), "y[{}] = {}, want {}", j, y[j], want);
                    }
                }
            }
        }
    }

    /// Σ w·y through the f64 forward: the loss whose gradient `backward` computes for dy = w.
    fn loss(s: &BnShape, x: &[f64], gamma: &[f64], beta: &[f64], w: &[f64]) -> f64 {
        let (y, ..) = naive_forward(s, x, gamma, beta, 1e-5);
        y.iter().zip(w).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn training_backward_matches_finite_differences() {
        for s in [BnShape { n: 3, c: 2, hw: 5 }, BnShape { n: 4, c: 3, hw: 1 }] {
            let x = values(s.len(), 21);
            let (gamma, beta) = (values(s.c, 22), values(s.c, 23));
            let dy = values(s.len(), 24);
            let (mut rm, mut rv) = (vec![0.0; s.c], vec![1.0; s.c]);
            let (mut y, mut xhat, mut inv) = (vec![0.0; s.len()], vec![0.0; s.len()], vec![0.0; s.c]);
            forward_train(&s, &x, &gamma, &beta, 1e-5, 0.1, &mut rm, &mut rv, &mut y, &mut xhat, &mut inv);
            let (mut dx, mut dg, mut db) = (vec![0.0; s.len()], vec![0.0; s.c], vec![0.0; s.c]);
            backward(&s, &dy, &xhat, &gamma, &inv, true, Some(&mut dx), &mut dg, &mut db, false);

            let (x64, g64, b64, w) = (to64(&x), to64(&gamma), to64(&beta), to64(&dy));
            let h = 1e-6;
            let central = |f: &dyn Fn(f64) -> f64| (f(h) - f(-h)) / (2.0 * h);
            let ex: Vec<f64> = (0..s.len())
                .map(|j| central(&|d| {
                    let mut xp = x64.clone();
                    xp[j] += d;
                    loss(&s, &xp, &g64, &b64, &w)
                }))
                .collect();
            let eg: Vec<f64> = (0..s.c)
                .map(|ch| central(&|d| {
                    let mut gp = g64.clone();
                    gp[ch] += d;
                    loss(&s, &x64, &gp, &b64, &w)
                }))
                .collect();
            let eb: Vec<f64> = (0..s.c)
                .map(|ch| central(&|d| {
                    let mut bp = b64.clone();
                    bp[ch] += d;
                    loss(&s, &x64, &g64, &bp, &w)
                }))
                .collect();
            assert_close(&dx, &ex, 1e-4, "dx");
            assert_close(&dg, &eg, 1e-4, "dgamma");
            assert_close(&db, &eb, 1e-4, "dbeta");
        }
    }

    #[test]
    fn backward_accumulates_and_eval_mode_scales_dy() {
        for (t, s) in SHAPES.iter().enumerate() {
            let xhat = values(s.len(), 31 + t as u64);
            let dy = values(s.len(), 32 + t as u64);
            let gamma = values(s.c, 33);
            let inv: Vec<f32> = values(s.c, 34).iter().map(|v| v.abs() + 0.5).collect();
            let (mut dx, mut dg, mut db) = (vec![f32::NAN; s.len()], vec![1.0; s.c], vec![2.0; s.c]);
            backward(s, &dy, &xhat, &gamma, &inv, false, Some(&mut dx), &mut dg, &mut db, true);
            for ch in 0..s.c {
                let idx: Vec<usize> = (0..s.n).flat_map(|i| s.plane(i, ch)).collect();
                let sdy: f64 = idx.iter().map(|&j| dy[j] as f64).sum();
                let sdx: f64 = idx.iter().map(|&j| dy[j] as f64 * xhat[j] as f64).sum();
                assert!((db[ch] as f64 - (2.0 + sdy)).abs() < 1e-5, "dbeta");
                assert!((dg[ch] as f64 - (1.0 + sdx)).abs() < 1e-5, "dgamma");
                for &j in &idx {
                    let want = gamma[ch] as f64 * inv[ch] as f64 * dy[j] as f64;
                    assert!((dx[j] as f64 - want).abs() < 1e-6, "dx[{}] = {}, want {}", j, dx[j], want);
                }
            }
            // Without dx, only the parameter gradients are written.
            backward(s, &dy, &xhat, &gamma, &inv, true, None, &mut dg, &mut db, false);
        }
    }

    #[test]
    fn training_backward_matches_the_closed_form() {
        for (t, s) in SHAPES.iter().enumerate() {
            let x = values(s.len(), 41 + t as u64);
            let dy = values(s.len(), 42 + t as u64);
            let (gamma, beta) = (values(s.c, 43), values(s.c, 44));
            let (mut rm, mut rv) = (vec![0.0; s.c], vec![1.0; s.c]);
            let (mut y, mut xhat, mut inv) = (vec![0.0; s.len()], vec![0.0; s.len()], vec![0.0; s.c]);
            forward_train(s, &x, &gamma, &beta, 1e-5, 0.1, &mut rm, &mut rv, &mut y, &mut xhat, &mut inv);
            let (mut dx, mut dg, mut db) = (vec![0.0; s.len()], vec![0.0; s.c], vec![0.0; s.c]);
            backward(s, &dy, &xhat, &gamma, &inv, true, Some(&mut dx), &mut dg, &mut db, false);
            let (_, exhat, einv, _, _) = naive_forward(s, &to64(&x), &to64(&gamma), &to64(&beta), 1e-5f32 as f64);
            let nf = s.count() as f64;
            let mut want = vec![0.0; s.len()];
            for ch in 0..s.c {
                let idx: Vec<usize> = (0..s.n).flat_map(|i| s.plane(i, ch)).collect();
                let sdy: f64 = idx.iter().map(|&j| dy[j] as f64).sum();
                let sdx: f64 = idx.iter().map(|&j| dy[j] as f64 * exhat[j]).sum();
                for &j in &idx {
                    want[j] = gamma[ch] as f64 * einv[ch] / nf * (nf * dy[j] as f64 - sdy - exhat[j] * sdx);
                }
            }
            assert_close(&dx, &want, 1e-5, "dx");
        }
    }

    /// The sharded path (shard sums combined in shard order, then normalize and combine per shard) against the
    /// batch in one piece: the same statistics, outputs and gradients to f32 rounding.
    #[test]
    fn shards_combined_in_order_match_the_batch_in_one_piece() {
        for (t, s) in SHAPES.iter().enumerate().filter(|(_, s)| s.n >= 2) {
            let x: Vec<f32> = values(s.len(), 51 + t as u64).iter().map(|v| 2.0 * v + 0.75).collect();
            let dy = values(s.len(), 52 + t as u64);
            let (gamma, beta) = (values(s.c, 53), values(s.c, 54));
            let (mut rm, mut rv) = (vec![0.0; s.c], vec![1.0; s.c]);
            let (mut y, mut xhat, mut inv) = (vec![0.0; s.len()], vec![0.0; s.len()], vec![0.0; s.c]);
            forward_train(s, &x, &gamma, &beta, 1e-5, 0.1, &mut rm, &mut rv, &mut y, &mut xhat, &mut inv);
            let (mut dx, mut dg, mut db) = (vec![0.0; s.len()], vec![0.0; s.c], vec![0.0; s.c]);
            backward(s, &dy, &xhat, &gamma, &inv, true, Some(&mut dx), &mut dg, &mut db, false);

            // Shards of 1 image and n − 1 images, combined with Chan et al.'s update.
            let plane = s.c * s.hw;
            let shards = [(0, 1), (1, s.n)];
            let (mut cnt, mut mean, mut m2) = (vec![0.0f64; s.c], vec![0.0f64; s.c], vec![0.0f64; s.c]);
            for &(a, b) in &shards {
                let sh = BnShape { n: b - a, c: s.c, hw: s.hw };
                let mut st = vec![0.0; 2 * s.c];
                shard_stats(&sh, &x[a * plane..b * plane], &mut st);
                let nb = sh.count() as f64;
                for ch in 0..s.c {
                    let mb = st[2 * ch] / nb;
                    if cnt[ch] == 0.0 {
                        cnt[ch] = nb;
                        mean[ch] = mb;
                        m2[ch] = st[2 * ch + 1];
                    } else {
                        let n = cnt[ch] + nb;
                        let d = mb - mean[ch];
                        mean[ch] += d * nb / n;
                        m2[ch] += st[2 * ch + 1] + d * d * cnt[ch] * nb / n;
                        cnt[ch] = n;
                    }
                }
            }
            let nf = s.count() as f64;
            let sinv: Vec<f32> = (0..s.c).map(|ch| (1.0 / (m2[ch] / nf + 1e-5f32 as f64).sqrt()) as f32).collect();
            let hi: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
            let lo: Vec<f32> = mean.iter().zip(&hi).map(|(&m, &h)| (m - h as f64) as f32).collect();
            let (mut sy, mut sxhat, mut sdx) = (vec![0.0; s.len()], vec![0.0; s.len()], vec![0.0; s.len()]);
            let mut sums = vec![0.0f64; 2 * s.c];
            for &(a, b) in &shards {
                let sh = BnShape { n: b - a, c: s.c, hw: s.hw };
                let r = a * plane..b * plane;
                normalize_given(&sh, &x[r.clone()], &gamma, &beta, &hi, &lo, &sinv, &mut sy[r.clone()], &mut sxhat[r.clone()]);
                let mut part = vec![0.0; 2 * s.c];
                shard_grad_sums(&sh, &dy[r.clone()], &sxhat[r], &mut part);
                for (acc, p) in sums.iter_mut().zip(&part) {
                    *acc += p;
                }
            }
            let g: Vec<f64> = (0..s.c).map(|ch| gamma[ch] as f64 * sinv[ch] as f64).collect();
            let a: Vec<f32> = g.iter().map(|&g| g as f32).collect();
            let bx: Vec<f32> = (0..s.c).map(|ch| (-g[ch] * sums[2 * ch + 1] / nf) as f32).collect();
            let k: Vec<f32> = (0..s.c).map(|ch| (-g[ch] * sums[2 * ch] / nf) as f32).collect();
            for &(lo_i, hi_i) in &shards {
                let sh = BnShape { n: hi_i - lo_i, c: s.c, hw: s.hw };
                let r = lo_i * plane..hi_i * plane;
                combine_given(&sh, &dy[r.clone()], &sxhat[r.clone()], &a, &bx, &k, &mut sdx[r]);
            }
            assert_close(&sinv, &to64(&inv), 1e-6, "invstd");
            assert_close(&sy, &to64(&y), 1e-6, "y");
            assert_close(&sxhat, &to64(&xhat), 1e-6, "xhat");
            assert_close(&sdx, &to64(&dx), 1e-5, "dx");
            let sdb: Vec<f32> = (0..s.c).map(|ch| sums[2 * ch] as f32).collect();
            let sdg: Vec<f32> = (0..s.c).map(|ch| sums[2 * ch + 1] as f32).collect();
            assert_close(&sdb, &to64(&db), 1e-6, "dbeta");
            assert_close(&sdg, &to64(&dg), 1e-6, "dgamma");
        }
    }
}

//! Inverted dropout whose mask is a pure function of `(seed, step, e)`.
//!
//! `e` is an element's index within the whole mini-batch: element `j` of row
//! `r` of a chunk that starts at batch row `row_offset` has
//! `e = (row_offset + r)·cols + j`. So the mask does not depend on how a batch
//! is cut into chunks or spread across workers, and needs no RNG state.
//!
//! The draw for `e` is output number `e` of SplitMix64 seeded with
//! `key = mix64(seed·2³² + step)`: `u = mix64(key + (e + 1)·φ) >> 32`, with
//! φ = 0x9E3779B97F4A7C15 and `mix64` SplitMix64's finalizer (Steele, Lea &
//! Flood 2014; arithmetic mod 2⁶⁴). Element `e` is kept when
//! `u ≥ round(rate·2³²)`, i.e. with probability `1 − rate`; kept elements are
//! scaled by `scale = 1/(1 − rate)` (computed in f64, rounded to f32) so the
//! expected output equals the input, dropped ones become 0. Rate 0 is the
//! identity exactly.

use crate::simd::{F32x4, LANES};

const PHI: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function: a bijection of u64 with full avalanche.
#[inline(always)]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stream key of one dropout call.
pub fn stream_key(seed: u32, step: u32) -> u64 {
    mix64(((seed as u64) << 32) | step as u64)
}

/// The uniform 32-bit draw for element `e` of the stream `key`.
#[inline(always)]
pub fn draw(key: u64, e: u64) -> u32 {
    (mix64(key.wrapping_add(e.wrapping_add(1).wrapping_mul(PHI))) >> 32) as u32
}

/// Draws below this are dropped: `round(rate·2³²)`.
fn threshold(rate: f32) -> u64 {
    assert!((0.0..1.0).contains(&rate), "dropout: rate must be in [0, 1)");
    (rate as f64 * 4_294_967_296.0).round() as u64
}

/// The factor kept elements are multiplied by: `1/(1 − rate)` in f64, rounded to f32.
pub fn scale(rate: f32) -> f32 {
    (1.0 / (1.0 - rate as f64)) as f32
}

/// `out = keep ? x·scale : 0` over a chunk of `x.len()/cols` rows starting at
/// batch row `row_offset`; `mask` (when given) receives 1 for kept, 0 for dropped.
#[allow(clippy::too_many_arguments)]
pub fn dropout_forward(x: &[f32], out: &mut [f32], mask: Option<&mut [u8]>, cols: usize, row_offset: usize, rate: f32, seed: u32, step: u32) {
    let len = x.len();
    assert!(out.len() == len && mask.as_ref().map_or(true, |m| m.len() == len));
    assert!(cols > 0 && len % cols == 0, "dropout: length not a multiple of cols");
    let t = threshold(rate);
    let mut mask = mask;
    if t == 0 {
        // Every draw is ≥ 0 and the scale is 1: the identity, bit for bit.
        out.copy_from_slice(x);
        if let Some(m) = mask.as_deref_mut() {
            m.iter_mut().for_each(|b| *b = 1);
        }
        return;
    }
    let (key, base, s) = (stream_key(seed, step), row_offset as u64 * cols as u64, scale(rate));
    let keep = |i: usize| (draw(key, base + i as u64) as u64 >= t) as u8;
    let sv = F32x4::splat(s);
    let whole = len - len % LANES;
    let mut i = 0;
    while i < whole {
        let bytes = [keep(i), keep(i + 1), keep(i + 2), keep(i + 3)];
        if let Some(m) = mask.as_deref_mut() {
            m[i..i + LANES].copy_from_slice(&bytes);
        }
        // SAFETY: i + 4 <= whole <= len, the length of x and out.
        unsafe { F32x4::load(x.as_ptr().add(i)).mul(sv).keep_where(bytes).store(out.as_mut_ptr().add(i)) };
        i += LANES;
    }
    for j in whole..len {
        let k = keep(j);
        if let Some(m) = mask.as_deref_mut() {
            m[j] = k;
        }
        out[j] = if k != 0 { x[j] * s } else { 0.0 };
    }
}

/// `dx = mask ? dy·scale : 0`, through the mask the forward pass saved.
pub fn dropout_backward(dy: &[f32], mask: &[u8], scale: f32, dx: &mut [f32]) {
    let len = dy.len();
    assert!(mask.len() == len && dx.len() == len);
    let sv = F32x4::splat(scale);
    let whole = len - len % LANES;
    let mut i = 0;
    while i < whole {
        let bytes = [mask[i], mask[i + 1], mask[i + 2], mask[i + 3]];
        // SAFETY: i + 4 <= whole <= len, the length of dy and dx.
        unsafe { F32x4::load(dy.as_ptr().add(i)).mul(sv).keep_where(bytes).store(dx.as_mut_ptr().add(i)) };
        i += LANES;
    }
    for j in whole..len {
        dx[j] = if mask[j] != 0 { dy[j] * scale } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(len: usize) -> Vec<f32> {
        (0..len).map(|i| (i % 97) as f32 * 0.25 - 7.0).collect()
    }

    fn masks(len: usize, cols: usize, rate: f32, seed: u32, step: u32) -> Vec<u8> {
        let x = vec![1.0; len];
        let (mut out, mut mask) = (vec![0.0; len], vec![9u8; len]);
        dropout_forward(&x, &mut out, Some(&mut mask), cols, 0, rate, seed, step);
        mask
    }

    #[test]
    fn keep_rate_is_one_minus_rate_within_four_sigma() {
        let n = 1_000_000usize;
        for &rate in &[0.1f32, 0.3, 0.5, 0.9] {
            let mask = masks(n, 1000, rate, 7, 3);
            let kept = mask.iter().filter(|&&b| b == 1).count() as f64;
            let p = 1.0 - rate as f64;
            let sigma = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((kept - n as f64 * p).abs() < 4.0 * sigma, "rate {}: kept {} of {}", rate, kept, n);
            // Neighbours are independent: both kept with probability p².
            let pairs = mask.windows(2).filter(|w| w[0] == 1 && w[1] == 1).count() as f64;
            let sp = ((n - 1) as f64 * p * p * (1.0 - p * p)).sqrt();
            assert!((pairs - (n - 1) as f64 * p * p).abs() < 5.0 * sp, "rate {}: {} kept pairs", rate, pairs);
        }
    }

    #[test]
    fn different_steps_and_seeds_give_different_masks() {
        let n = 100_000;
        let a = masks(n, 100, 0.5, 1, 0);
        for b in [masks(n, 100, 0.5, 1, 1), masks(n, 100, 0.5, 2, 0), masks(n, 100, 0.5, 0, 1)] {
            // Independent masks agree on half the elements (σ = 158 here).
            let agree = a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64;
            assert!((agree - n as f64 / 2.0).abs() < 4.0 * 158.2, "{} of {} agree", agree, n);
        }
        assert_eq!(a, masks(n, 100, 0.5, 1, 0), "the same (seed, step) gives the same mask");
    }

    #[test]
    fn outputs_scale_kept_elements_and_backward_uses_the_same_mask() {
        let (rows, cols, rate) = (13, 7, 0.37f32);
        let x = ramp(rows * cols);
        let (mut out, mut mask) = (vec![f32::NAN; x.len()], vec![9u8; x.len()]);
        dropout_forward(&x, &mut out, Some(&mut mask), cols, 5, rate, 11, 2);
        let s = scale(rate);
        assert_eq!(s, (1.0 / (1.0 - rate as f64)) as f32);
        let key = stream_key(11, 2);
        for i in 0..x.len() {
            let keep = draw(key, (5 * cols + i) as u64) as f64 >= (rate as f64 * 4294967296.0).round();
            assert_eq!(mask[i], keep as u8);
            assert_eq!(out[i], if keep { x[i] * s } else { 0.0 });
        }
        let dy = ramp(x.len());
        let mut dx = vec![f32::NAN; x.len()];
        dropout_backward(&dy, &mask, s, &mut dx);
        for i in 0..x.len() {
            assert_eq!(dx[i], if mask[i] == 1 { dy[i] * s } else { 0.0 });
        }
    }

    #[test]
    fn rate_zero_is_the_identity() {
        let x: Vec<f32> = ramp(31).iter().map(|v| v * 1.1e-3).collect();
        let (mut out, mut mask) = (vec![0.0; 31], vec![0u8; 31]);
        dropout_forward(&x, &mut out, Some(&mut mask), 31, 0, 0.0, 5, 5);
        assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), x.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        assert!(mask.iter().all(|&b| b == 1));
        assert_eq!(scale(0.0), 1.0);
    }

    #[test]
    fn chunks_with_row_offsets_equal_the_whole_batch() {
        let (rows, cols) = (11, 13);
        let x = ramp(rows * cols);
        let (mut whole, mut wmask) = (vec![0.0; x.len()], vec![0u8; x.len()]);
        dropout_forward(&x, &mut whole, Some(&mut wmask), cols, 0, 0.45, 99, 17);
        for split in [1, 4, 6, 10] {
            let (mut out, mut mask) = (vec![0.0; x.len()], vec![0u8; x.len()]);
            let at = split * cols;
            dropout_forward(&x[..at], &mut out[..at], Some(&mut mask[..at]), cols, 0, 0.45, 99, 17);
            dropout_forward(&x[at..], &mut out[at..], Some(&mut mask[at..]), cols, split, 0.45, 99, 17);
            assert_eq!(mask, wmask, "split at row {}", split);
            assert_eq!(out, whole, "split at row {}", split);
        }
    }
}

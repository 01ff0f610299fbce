//! Average pooling over `ph × pw` windows moved by a stride `sh × sw`, NCHW.
//!
//! Windows, strides and cropping are max pooling's (`pool::PoolShape`): the
//! output is `oh = (h − ph)/sh + 1` rows by `ow` columns. Each output is the
//! mean of its window's `ph·pw` inputs (PyTorch's `AvgPool2d` without
//! padding); backward adds `delta / (ph·pw)` to each input of the window, so
//! an input in several overlapping windows receives the sum of their shares
//! and an input in none receives 0.
//!
//! Every path sums a window the same way, so they agree to the bit: each row
//! from left to right, then the row sums from top to bottom, divided by
//! `ph·pw` (for 2×2, `× 0.25`, which is the same division exactly).

use crate::pool::PoolShape;
use crate::simd::F32x4;

/// Writes the window means to `out` (`n × c × oh × ow`).
pub fn avgpool_forward(s: &PoolShape, a: &[f32], out: &mut [f32]) {
    let (in_len, out_len) = (s.input_len(), s.output_len());
    assert!(a.len() >= in_len && out.len() >= out_len);
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    for q in 0..s.planes() {
        let plane = &a[q * hw..(q + 1) * hw];
        let pout = &mut out[q * oh * ow..(q + 1) * oh * ow];
        if s.is_2x2_tiling() {
            forward_2x2(plane, s.w, oh, ow, pout);
        } else {
            forward_windows(s, plane, oh, ow, pout);
        }
    }
}

/// 2×2 windows side by side: four windows per step, SIMD over the output row.
fn forward_2x2(plane: &[f32], w: usize, oh: usize, ow: usize, out: &mut [f32]) {
    let vec_ow = ow - ow % 4;
    let quarter = F32x4::splat(0.25);
    for oy in 0..oh {
        let r0 = &plane[2 * oy * w..2 * oy * w + 2 * ow];
        let r1 = &plane[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        let o = &mut out[oy * ow..(oy + 1) * ow];
        let mut ox = 0;
        while ox < vec_ow {
            let x = 2 * ox;
            // SAFETY: x + 8 <= 2·vec_ow <= 2·ow = r0.len() = r1.len(), and ox + 4 <= ow = o.len().
            unsafe {
                let (e0, o0) = F32x4::deinterleave(F32x4::load(r0.as_ptr().add(x)), F32x4::load(r0.as_ptr().add(x + 4)));
                let (e1, o1) = F32x4::deinterleave(F32x4::load(r1.as_ptr().add(x)), F32x4::load(r1.as_ptr().add(x + 4)));
                e0.add(o0).add(e1.add(o1)).mul(quarter).store(o.as_mut_ptr().add(ox));
            }
            ox += 4;
        }
        for ox in vec_ow..ow {
            let (x0, x1) = (2 * ox, 2 * ox + 1);
            o[ox] = ((r0[x0] + r0[x1]) + (r1[x0] + r1[x1])) * 0.25;
        }
    }
}

fn forward_windows(s: &PoolShape, plane: &[f32], oh: usize, ow: usize, out: &mut [f32]) {
    let area = (s.ph * s.pw) as f32;
    for oy in 0..oh {
        for ox in 0..ow {
            let (y0, x0) = (oy * s.sh, ox * s.sw);
            let row_sum = |y: usize| {
                let row = &plane[y * s.w + x0..y * s.w + x0 + s.pw];
                row[1..].iter().fold(row[0], |acc, &v| acc + v)
            };
            let sum = (y0 + 1..y0 + s.ph).fold(row_sum(y0), |acc, y| acc + row_sum(y));
            out[oy * ow + ox] = sum / area;
        }
    }
}

/// Overwrites `da` (`n × c × h × w`) with each window's `delta / (ph·pw)`, summed over the windows holding an input.
pub fn avgpool_backward(s: &PoolShape, delta: &[f32], da: &mut [f32]) {
    let (in_len, out_len) = (s.input_len(), s.output_len());
    assert!(delta.len() >= out_len && da.len() >= in_len);
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    for q in 0..s.planes() {
        let pda = &mut da[q * hw..(q + 1) * hw];
        let pdelta = &delta[q * oh * ow..(q + 1) * oh * ow];
        if s.is_2x2_tiling() {
            if s.leaves_gaps() {
                pda.iter_mut().for_each(|x| *x = 0.0);
            }
            backward_2x2(pdelta, s.w, oh, ow, pda);
        } else {
            // Inputs in no window get 0; overlapping windows add their shares.
            pda.iter_mut().for_each(|x| *x = 0.0);
            backward_windows(s, pdelta, oh, ow, pda);
        }
    }
}

fn backward_2x2(delta: &[f32], w: usize, oh: usize, ow: usize, da: &mut [f32]) {
    let vec_ow = ow - ow % 4;
    let quarter = F32x4::splat(0.25);
    for oy in 0..oh {
        let (d0, rest) = da[2 * oy * w..].split_at_mut(w);
        let d1 = &mut rest[..2 * ow];
        let d0 = &mut d0[..2 * ow];
        let dl = &delta[oy * ow..(oy + 1) * ow];
        let mut ox = 0;
        while ox < vec_ow {
            let x = 2 * ox;
            // SAFETY: ox + 4 <= ow = dl.len(); x + 8 <= 2·ow = d0.len() = d1.len().
            unsafe {
                let (lo, hi) = F32x4::load(dl.as_ptr().add(ox)).mul(quarter).duplicate_pairs();
                lo.store(d0.as_mut_ptr().add(x));
                hi.store(d0.as_mut_ptr().add(x + 4));
                lo.store(d1.as_mut_ptr().add(x));
                hi.store(d1.as_mut_ptr().add(x + 4));
            }
            ox += 4;
        }
        for ox in vec_ow..ow {
            let d = dl[ox] * 0.25;
            d0[2 * ox..2 * ox + 2].copy_from_slice(&[d, d]);
            d1[2 * ox..2 * ox + 2].copy_from_slice(&[d, d]);
        }
    }
}

/// Any window and stride; `da` must be zeroed.
fn backward_windows(s: &PoolShape, delta: &[f32], oh: usize, ow: usize, da: &mut [f32]) {
    let area = (s.ph * s.pw) as f32;
    for oy in 0..oh {
        for ox in 0..ow {
            let (y0, x0) = (oy * s.sh, ox * s.sw);
            let d = delta[oy * ow + ox] / area;
            for y in y0..y0 + s.ph {
                da[y * s.w + x0..y * s.w + x0 + s.pw].iter_mut().for_each(|g| *g += d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::tests::Lcg;

    /// The definition in float64: window means, and each window's delta spread evenly over its inputs.
    fn naive(s: &PoolShape, a: &[f32], delta: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
        let mut out = vec![0.0; s.planes() * oh * ow];
        let mut da = vec![0.0; s.planes() * hw];
        let area = (s.ph * s.pw) as f64;
        for q in 0..s.planes() {
            for oy in 0..oh {
                for ox in 0..ow {
                    let o = (q * oh + oy) * ow + ox;
                    for y in oy * s.sh..oy * s.sh + s.ph {
                        for x in ox * s.sw..ox * s.sw + s.pw {
                            out[o] += a[q * hw + y * s.w + x] as f64 / area;
                            da[q * hw + y * s.w + x] += delta[o] as f64 / area;
                        }
                    }
                }
            }
        }
        (out, da)
    }

    fn close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!((g as f64 - w).abs() <= 1e-6 * (1.0 + w.abs()), "index {}: {} vs {}", i, g, w);
        }
    }

    #[test]
    fn matches_the_definition() {
        let mut rng = Lcg(3);
        let shapes: [[usize; 8]; 8] = [
            [2, 3, 7, 9, 2, 2, 2, 2],   // the tiling, cropped
            [1, 2, 8, 19, 2, 2, 2, 2],  // SIMD body and tail
            [1, 1, 7, 7, 3, 3, 2, 2],   // overlapping
            [2, 2, 10, 9, 2, 2, 1, 1],  // 2×2, stride 1
            [1, 3, 7, 9, 2, 3, 3, 2],   // strides that do not divide
            [1, 1, 11, 13, 2, 2, 3, 3], // gaps
            [2, 1, 9, 10, 3, 4, 3, 4],  // tiling, other area
            [1, 1, 5, 3, 5, 3, 1, 1],   // one window
        ];
        for d in shapes.iter() {
            let s = PoolShape { n: d[0], c: d[1], h: d[2], w: d[3], ph: d[4], pw: d[5], sh: d[6], sw: d[7] };
            let a: Vec<f32> = (0..s.input_len()).map(|_| rng.uniform()).collect();
            let delta: Vec<f32> = (0..s.output_len()).map(|_| rng.uniform()).collect();
            let mut out = vec![f32::NAN; s.output_len()];
            let mut da = vec![f32::NAN; s.input_len()];
            avgpool_forward(&s, &a, &mut out);
            avgpool_backward(&s, &delta, &mut da);
            let (want_out, want_da) = naive(&s, &a, &delta);
            close(&out, &want_out);
            close(&da, &want_da);
        }
    }

    #[test]
    fn the_2x2_fast_path_equals_the_general_windows() {
        let mut rng = Lcg(9);
        let s = PoolShape::tiled(1, 1, 9, 21, 2, 2);
        let a: Vec<f32> = (0..s.input_len()).map(|_| rng.uniform()).collect();
        let delta: Vec<f32> = (0..s.output_len()).map(|_| rng.uniform()).collect();
        let (oh, ow) = (s.oh(), s.ow());
        let (mut fast, mut general) = (vec![0.0; oh * ow], vec![0.0; oh * ow]);
        avgpool_forward(&s, &a, &mut fast);
        forward_windows(&s, &a, oh, ow, &mut general);
        assert_eq!(fast, general);
        let (mut fast_da, mut general_da) = (vec![f32::NAN; s.input_len()], vec![0.0; s.input_len()]);
        avgpool_backward(&s, &delta, &mut fast_da);
        backward_windows(&s, &delta, oh, ow, &mut general_da);
        assert_eq!(fast_da, general_da);
    }
}

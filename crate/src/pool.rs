//! Max pooling over `ph × pw` windows moved by a stride `sh × sw`, NCHW.
//!
//! The output has `oh = (h − ph)/sh + 1` rows (rounded down) and likewise
//! `ow` columns; inputs no window reaches never win and their gradient is 0.
//! With the stride equal to the area (the course's tiling) windows neither
//! overlap nor leave gaps, and trailing rows and columns that do not fill a
//! window are cropped.
//!
//! Backward hands each window's delta to that window's own maxima, the inputs
//! equal to its pooled output (every tied maximum gets the whole delta, the
//! course's rule); with `strict` the delta is divided by the number of maxima
//! in the window. The winners are found again from the forward's input and
//! output rather than recorded in a byte mask: on the course's shapes writing
//! the mask cost the forward pass a third of its time, and comparing the input
//! with its pooled output costs backward no more than reading the bytes did.
//! `maxpool_winners` builds the course's `mask` (1 where an input is the
//! maximum of a window that contains it) for whoever wants to look at it.
//!
//! The maximum of a window is the same in every path, NaN included: each
//! row's maximum from left to right, then the maximum of the rows from top
//! to bottom, each step keeping the running value unless the next is greater
//! (`F32x4::max`, lane-wise). A NaN is therefore skipped unless it comes
//! first; a NaN maximum is equal to nothing, so its window passes no gradient.

use crate::simd::F32x4;

#[derive(Clone, Copy, Debug)]
pub struct PoolShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub ph: usize,
    pub pw: usize,
    pub sh: usize,
    pub sw: usize,
}

pub use crate::mem::checked_len;

impl PoolShape {
    /// The course's layout: windows side by side (stride = area).
    pub fn tiled(n: usize, c: usize, h: usize, w: usize, ph: usize, pw: usize) -> Self {
        PoolShape { n, c, h, w, ph, pw, sh: ph, sw: pw }
    }
    pub fn oh(&self) -> usize {
        (self.h - self.ph) / self.sh + 1
    }
    pub fn ow(&self) -> usize {
        (self.w - self.pw) / self.sw + 1
    }
    /// Stride = area: no overlap and no gaps, so each input belongs to at most one window.
    pub fn is_tiling(&self) -> bool {
        self.sh == self.ph && self.sw == self.pw
    }
    /// Some input lies in no window: cropped at the end, or skipped by a stride larger than the area.
    pub fn leaves_gaps(&self) -> bool {
        (self.h - self.ph) % self.sh != 0 || (self.w - self.pw) % self.sw != 0 || self.sh > self.ph || self.sw > self.pw
    }
    /// The tiling by 2×2 windows, which has SIMD paths.
    pub fn is_2x2_tiling(&self) -> bool {
        self.ph == 2 && self.pw == 2 && self.is_tiling()
    }
    /// Floats in the input (and its gradient), after checking the shape.
    pub fn input_len(&self) -> usize {
        self.check();
        checked_len(&[self.n, self.c, self.h, self.w])
    }
    /// Floats in the pooled output (and its delta), after checking the shape.
    pub fn output_len(&self) -> usize {
        self.check();
        checked_len(&[self.n, self.c, self.oh(), self.ow()])
    }
    pub fn planes(&self) -> usize {
        self.n * self.c
    }
    pub fn check(&self) {
        assert!(self.ph >= 1 && self.pw >= 1 && self.ph <= self.h && self.pw <= self.w, "pool: window larger than input");
        assert!(self.sh >= 1 && self.sw >= 1, "pool: stride must be positive");
    }
}

/// The running maximum's step: keep `best` unless `v` is greater (NaN never is).
#[inline(always)]
fn step_max(best: f32, v: f32) -> f32 {
    if v > best {
        v
    } else {
        best
    }
}

/// The maximum of the window whose top-left input is (y0, x0): rows first, then across rows.
pub(crate) fn window_max(s: &PoolShape, plane: &[f32], y0: usize, x0: usize) -> f32 {
    let row_max = |y: usize| {
        let row = &plane[y * s.w + x0..y * s.w + x0 + s.pw];
        row[1..].iter().fold(row[0], |best, &v| step_max(best, v))
    };
    (y0 + 1..y0 + s.ph).fold(row_max(y0), |best, y| step_max(best, row_max(y)))
}

/// Writes the window maxima to `out` (`n × c × oh × ow`).
pub fn maxpool_forward(s: &PoolShape, a: &[f32], out: &mut [f32]) {
    let (in_len, out_len) = (s.input_len(), s.output_len());
    assert!(a.len() >= in_len && out.len() >= out_len);
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    let fast = s.is_2x2_tiling();
    for q in 0..s.planes() {
        let plane = &a[q * hw..(q + 1) * hw];
        let pout = &mut out[q * oh * ow..(q + 1) * oh * ow];
        if fast {
            forward_2x2(plane, s.w, oh, ow, pout);
        } else {
            forward_windows(s, plane, oh, ow, pout);
        }
    }
}

/// The course's `mask` (`n × c × h × w`, overwritten): 1 where an input equals the pooled output `out` of a window
/// that contains it, from the forward's input `a` and output. Training does not need it (backward finds the same
/// winners itself); it is for looking at what the pooling chose.
pub fn maxpool_winners(s: &PoolShape, a: &[f32], out: &[f32], mask: &mut [u8]) {
    let (in_len, out_len) = (s.input_len(), s.output_len());
    assert!(a.len() >= in_len && out.len() >= out_len && mask.len() >= in_len);
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    mask[..in_len].iter_mut().for_each(|m| *m = 0);
    for q in 0..s.planes() {
        let (plane, pmask) = (&a[q * hw..(q + 1) * hw], &mut mask[q * hw..(q + 1) * hw]);
        for oy in 0..oh {
            for ox in 0..ow {
                let (y0, x0, best) = (oy * s.sh, ox * s.sw, out[(q * oh + oy) * ow + ox]);
                for y in y0..y0 + s.ph {
                    let row = &plane[y * s.w + x0..y * s.w + x0 + s.pw];
                    for (m, &v) in pmask[y * s.w + x0..y * s.w + x0 + s.pw].iter_mut().zip(row) {
                        *m |= (v == best) as u8;
                    }
                }
            }
        }
    }
}

/// The course's case, 2×2 windows side by side: four windows per step, SIMD over the output row.
fn forward_2x2(plane: &[f32], w: usize, oh: usize, ow: usize, out: &mut [f32]) {
    let vec_ow = ow - ow % 4;
    for oy in 0..oh {
        let r0 = &plane[2 * oy * w..2 * oy * w + 2 * ow];
        let r1 = &plane[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        let o = &mut out[oy * ow..(oy + 1) * ow];
        let four = |ox: usize, o: &mut [f32]| {
            let x = 2 * ox;
            assert!(ox + 4 <= ow);
            // SAFETY: x + 8 <= 2·ow = r0.len() = r1.len(), and ox + 4 <= ow = o.len().
            unsafe {
                let (e0, o0) = F32x4::deinterleave(F32x4::load(r0.as_ptr().add(x)), F32x4::load(r0.as_ptr().add(x + 4)));
                let (e1, o1) = F32x4::deinterleave(F32x4::load(r1.as_ptr().add(x)), F32x4::load(r1.as_ptr().add(x + 4)));
                // Row maxima, then across the rows: `window_max`'s order.
                e0.max(o0).max(e1.max(o1)).store(o.as_mut_ptr().add(ox));
            }
        };
        let mut ox = 0;
        while ox < vec_ow {
            four(ox, o);
            ox += 4;
        }
        if ow >= 4 {
            // The row's last four windows again, ending at its end: the same values, no scalar remainder
            // (whose data-dependent branches mispredicted about half the time).
            if vec_ow < ow {
                four(ow - 4, o);
            }
            continue;
        }
        for ox in vec_ow..ow {
            let (x0, x1) = (2 * ox, 2 * ox + 1);
            o[ox] = step_max(step_max(r0[x0], r0[x1]), step_max(r1[x0], r1[x1]));
        }
    }
}

/// Any window and stride.
fn forward_windows(s: &PoolShape, plane: &[f32], oh: usize, ow: usize, out: &mut [f32]) {
    for oy in 0..oh {
        for ox in 0..ow {
            out[oy * ow + ox] = window_max(s, plane, oy * s.sh, ox * s.sw);
        }
    }
}

/// Overwrites `da` (`n × c × h × w`) with the pooled `delta` (`n × c × oh × ow`)
/// handed to each window's maxima: its inputs in `a` equal to its pooled output in `out`.
pub fn maxpool_backward(s: &PoolShape, a: &[f32], out: &[f32], delta: &[f32], strict: bool, da: &mut [f32]) {
    maxpool_backward_gated(s, a, out, delta, strict, false, da)
}

/// `maxpool_backward`, and with `relu_gate` also through the ReLU whose output `a` is (`a = max(z, 0)`):
/// overwrites `da` with ∂C/∂z. A window's winners hold its maximum, so ReLU′ at every winner is
/// `out > 0`: a window whose pooled output is not positive passes nothing, the others pass
/// their delta unchanged — the same floats as a separate ReLU backward pass over `da`, without it.
#[allow(clippy::too_many_arguments)]
pub fn maxpool_backward_gated(s: &PoolShape, a: &[f32], out: &[f32], delta: &[f32], strict: bool, relu_gate: bool, da: &mut [f32]) {
    maxpool_backward_gated_strided(s, a, out, delta, strict, relu_gate, da, s.w)
}

/// `maxpool_backward_gated` writing each row of ∂C/∂z at row stride `da_stride` ≥ w (planes of `h × da_stride`;
/// columns w..da_stride left as they are), for the 2×2 tiling of an even-sized input, which writes every column
/// below w: the layout `conv::filter_gradient_wide` reads. Other shapes take `da_stride == w`.
#[allow(clippy::too_many_arguments)]
pub fn maxpool_backward_gated_strided(s: &PoolShape, a: &[f32], out: &[f32], delta: &[f32], strict: bool, relu_gate: bool, da: &mut [f32], da_stride: usize) {
    let (in_len, out_len) = (s.input_len(), s.output_len());
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    let tiling = s.is_tiling();
    // The 2×2 tiling gates each delta as it reads it; the other paths first gate a plane's deltas into `gated`.
    let two_by_two = tiling && s.ph == 2 && s.pw == 2;
    assert!(da_stride == s.w || (two_by_two && !s.leaves_gaps() && da_stride > s.w));
    let da_plane = s.h * da_stride;
    assert!(a.len() >= in_len && out.len() >= out_len && delta.len() >= out_len && da.len() >= s.planes() * da_plane);
    let mut gated = vec![0.0f32; if relu_gate && !two_by_two { oh * ow } else { 0 }];
    for q in 0..s.planes() {
        let pda = &mut da[q * da_plane..(q + 1) * da_plane];
        let (pa, pout) = (&a[q * hw..(q + 1) * hw], &out[q * oh * ow..(q + 1) * oh * ow]);
        let mut pdelta = &delta[q * oh * ow..(q + 1) * oh * ow];
        if relu_gate && !two_by_two {
            crate::simd::zip_map(&mut gated, pdelta, pout, |d, o| d.where_positive(o), |d, o| if o > 0.0 { d } else { 0.0 });
            pdelta = &gated;
        }
        if !tiling || s.leaves_gaps() {
            // Inputs outside every window get 0; overlapping windows add their shares.
            pda.iter_mut().for_each(|x| *x = 0.0);
        }
        if !tiling {
            backward_windows(s, pa, pout, pdelta, strict, pda);
        } else if two_by_two {
            if relu_gate {
                backward_2x2::<true>(pdelta, pa, pout, s.w, da_stride, oh, ow, strict, pda);
            } else {
                backward_2x2::<false>(pdelta, pa, pout, s.w, da_stride, oh, ow, strict, pda);
            }
        } else {
            backward_tiles(s, pdelta, pa, pout, oh, ow, strict, pda);
        }
    }
}

/// The 2×2 tiling: each pooled output and its delta duplicated into the pairs of inputs below them, compared and kept.
/// With `GATE`, a delta whose pooled output is not positive is 0 (the ReLU's backward, as `maxpool_backward_gated`'s
/// separate pass over a plane computes it for the other paths).
#[allow(clippy::too_many_arguments)]
fn backward_2x2<const GATE: bool>(delta: &[f32], a: &[f32], out: &[f32], w: usize, da_w: usize, oh: usize, ow: usize, strict: bool, da: &mut [f32]) {
    // Strict mode divides by per-window counts: the scalar loop below handles it.
    let vec_ow = if strict { 0 } else { ow - ow % 4 };
    for oy in 0..oh {
        let a0 = &a[2 * oy * w..2 * oy * w + 2 * ow];
        let a1 = &a[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        let (d0, rest) = da[2 * oy * da_w..].split_at_mut(da_w);
        let d1 = &mut rest[..2 * ow];
        let d0 = &mut d0[..2 * ow];
        let (dl, ol) = (&delta[oy * ow..(oy + 1) * ow], &out[oy * ow..(oy + 1) * ow]);
        let four = |ox: usize, d0: &mut [f32], d1: &mut [f32]| {
            let x = 2 * ox;
            assert!(ox + 4 <= ow);
            // SAFETY: ox + 4 <= ow = dl.len() = ol.len(); x + 8 <= 2·ow = a0.len() = a1.len() = d0.len() = d1.len().
            unsafe {
                let (d, best) = (F32x4::load(dl.as_ptr().add(ox)), F32x4::load(ol.as_ptr().add(ox)));
                let (dlo, dhi) = if GATE { d.where_positive(best) } else { d }.duplicate_pairs();
                let (blo, bhi) = best.duplicate_pairs();
                dlo.where_equal(F32x4::load(a0.as_ptr().add(x)), blo).store(d0.as_mut_ptr().add(x));
                dhi.where_equal(F32x4::load(a0.as_ptr().add(x + 4)), bhi).store(d0.as_mut_ptr().add(x + 4));
                dlo.where_equal(F32x4::load(a1.as_ptr().add(x)), blo).store(d1.as_mut_ptr().add(x));
                dhi.where_equal(F32x4::load(a1.as_ptr().add(x + 4)), bhi).store(d1.as_mut_ptr().add(x + 4));
            }
        };
        let mut ox = 0;
        while ox < vec_ow {
            four(ox, d0, d1);
            ox += 4;
        }
        if !strict && ow >= 4 {
            // The row's last four windows again, ending at its end: each input is written once per window, so
            // writing it twice writes the same value.
            if vec_ow < ow {
                four(ow - 4, d0, d1);
            }
            continue;
        }
        for ox in vec_ow..ow {
            let (x0, x1, best) = (2 * ox, 2 * ox + 1, ol[ox]);
            let won = [a0[x0] == best, a0[x1] == best, a1[x0] == best, a1[x1] == best];
            let mut d = if GATE && !(best > 0.0) { 0.0 } else { dl[ox] };
            if strict {
                let winners = won.iter().filter(|&&b| b).count() as u32;
                if winners > 1 {
                    d /= winners as f32;
                }
            }
            d0[x0] = if won[0] { d } else { 0.0 };
            d0[x1] = if won[1] { d } else { 0.0 };
            d1[x0] = if won[2] { d } else { 0.0 };
            d1[x1] = if won[3] { d } else { 0.0 };
        }
    }
}

/// Windows side by side: each input belongs to one window at most, so it is overwritten.
#[allow(clippy::too_many_arguments)]
fn backward_tiles(s: &PoolShape, delta: &[f32], a: &[f32], out: &[f32], oh: usize, ow: usize, strict: bool, da: &mut [f32]) {
    for oy in 0..oh {
        for ox in 0..ow {
            let (y0, x0, best) = (oy * s.ph, ox * s.pw, out[oy * ow + ox]);
            let mut d = delta[oy * ow + ox];
            if strict {
                let mut winners = 0u32;
                for y in y0..y0 + s.ph {
                    winners += a[y * s.w + x0..y * s.w + x0 + s.pw].iter().map(|&v| (v == best) as u32).sum::<u32>();
                }
                if winners > 1 {
                    d /= winners as f32;
                }
            }
            for y in y0..y0 + s.ph {
                let row = &a[y * s.w + x0..y * s.w + x0 + s.pw];
                for (g, &v) in da[y * s.w + x0..y * s.w + x0 + s.pw].iter_mut().zip(row) {
                    *g = if v == best { d } else { 0.0 };
                }
            }
        }
    }
}

/// Any stride: a window's maxima are its inputs equal to its pooled output; `da` must be zeroed (shares add up).
fn backward_windows(s: &PoolShape, a: &[f32], out: &[f32], delta: &[f32], strict: bool, da: &mut [f32]) {
    let ow = s.ow();
    for oy in 0..s.oh() {
        for ox in 0..ow {
            let (y0, x0) = (oy * s.sh, ox * s.sw);
            let best = out[oy * ow + ox];
            let mut d = delta[oy * ow + ox];
            if strict {
                let mut winners = 0u32;
                for y in y0..y0 + s.ph {
                    winners += a[y * s.w + x0..y * s.w + x0 + s.pw].iter().map(|&v| (v == best) as u32).sum::<u32>();
                }
                if winners > 1 {
                    d /= winners as f32;
                }
            }
            for y in y0..y0 + s.ph {
                let row = &a[y * s.w + x0..y * s.w + x0 + s.pw];
                for (g, &v) in da[y * s.w + x0..y * s.w + x0 + s.pw].iter_mut().zip(row) {
                    if v == best {
                        *g += d;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small deterministic generator: values in 0..levels (many ties) or in [−1, 1).
    pub(crate) struct Lcg(pub u64);
    impl Lcg {
        pub(crate) fn next(&mut self) -> u32 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) as u32
        }
        pub(crate) fn level(&mut self, levels: u32) -> f32 {
            (self.next() % levels) as f32
        }
        pub(crate) fn uniform(&mut self) -> f32 {
            (self.next() % 2000) as f32 / 1000.0 - 1.0
        }
    }

    fn shape(n: usize, c: usize, h: usize, w: usize, ph: usize, pw: usize, sh: usize, sw: usize) -> PoolShape {
        PoolShape { n, c, h, w, ph, pw, sh, sw }
    }

    /// Straight from the definition: every window's maximum, its winners, its delta shared among them.
    fn naive(s: &PoolShape, a: &[f32], delta: &[f32], strict: bool) -> (Vec<f32>, Vec<u8>, Vec<f32>) {
        let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
        let mut out = vec![0.0; s.planes() * oh * ow];
        let mut mask = vec![0u8; s.planes() * hw];
        let mut da = vec![0.0; s.planes() * hw];
        for q in 0..s.planes() {
            for oy in 0..oh {
                for ox in 0..ow {
                    let cells: Vec<usize> =
                        (0..s.ph).flat_map(|dy| (0..s.pw).map(move |dx| q * hw + (oy * s.sh + dy) * s.w + ox * s.sw + dx)).collect();
                    let best = cells.iter().map(|&i| a[i]).fold(f32::NEG_INFINITY, f32::max);
                    let o = (q * oh + oy) * ow + ox;
                    out[o] = best;
                    let winners: Vec<usize> = cells.into_iter().filter(|&i| a[i] == best).collect();
                    let share = if strict { delta[o] / winners.len() as f32 } else { delta[o] };
                    for i in winners {
                        mask[i] = 1;
                        da[i] += share;
                    }
                }
            }
        }
        (out, mask, da)
    }

    fn run(s: &PoolShape, a: &[f32], delta: &[f32], strict: bool) -> (Vec<f32>, Vec<u8>, Vec<f32>) {
        let mut out = vec![f32::NAN; s.output_len()];
        let mut mask = vec![7u8; s.input_len()];
        let mut da = vec![f32::NAN; s.input_len()];
        maxpool_forward(s, a, &mut out);
        maxpool_winners(s, a, &out, &mut mask);
        maxpool_backward(s, a, &out, delta, strict, &mut da);
        (out, mask, da)
    }

    const SHAPES: [[usize; 8]; 9] = [
        [1, 1, 7, 7, 3, 3, 2, 2],   // overlapping windows
        [2, 3, 9, 11, 3, 3, 2, 2],  // overlapping
        [1, 2, 10, 9, 2, 2, 1, 1],  // 2×2 windows, stride 1
        [2, 2, 7, 9, 2, 3, 3, 2],   // strides that do not divide the input
        [1, 1, 11, 13, 2, 2, 3, 3], // stride larger than the window: gaps
        [2, 3, 7, 9, 2, 2, 2, 2],   // the tiling, cropped
        [1, 2, 9, 10, 3, 4, 3, 4],  // tiling, other areas
        [1, 1, 5, 19, 1, 3, 1, 3],
        [1, 2, 6, 6, 4, 1, 1, 1],
    ];

    #[test]
    fn windows_strides_and_ties_match_the_definition() {
        let mut rng = Lcg(7);
        for d in SHAPES.iter() {
            let s = shape(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
            for levels in [3, 1_000_000] {
                let a: Vec<f32> = (0..s.input_len()).map(|_| rng.level(levels)).collect();
                let delta: Vec<f32> = (0..s.output_len()).map(|_| rng.uniform()).collect();
                for strict in [false, true] {
                    let got = run(&s, &a, &delta, strict);
                    let want = naive(&s, &a, &delta, strict);
                    assert_eq!(got.0, want.0, "out {:?}", d);
                    assert_eq!(got.1, want.1, "mask {:?}", d);
                    assert_eq!(got.2, want.2, "da {:?} strict {}", d, strict);
                }
            }
        }
    }

    #[test]
    fn the_relu_gate_is_the_deltas_gated_by_positive_outputs() {
        // Gated backward = the plain backward of the deltas zeroed where the pooled output is not positive: on
        // every shape (the 2×2 tiling gates inside its loop, the others in a pass first), with ties, zeros,
        // negative and NaN inputs, strict or not; rows of 13 windows (vectors and the shifted last one) and of 3.
        let mut rng = Lcg(11);
        let mut shapes: Vec<[usize; 8]> = SHAPES.to_vec();
        shapes.extend_from_slice(&[[2, 3, 26, 26, 2, 2, 2, 2], [1, 2, 7, 6, 2, 2, 2, 2], [1, 1, 4, 9, 2, 2, 2, 2]]);
        for d in shapes.iter() {
            let s = shape(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
            let mut a: Vec<f32> = (0..s.input_len()).map(|_| rng.level(4) - 2.0).collect();
            a[0] = f32::NAN;
            let delta: Vec<f32> = (0..s.output_len()).map(|_| rng.uniform()).collect();
            let mut out = vec![f32::NAN; s.output_len()];
            maxpool_forward(&s, &a, &mut out);
            let gated: Vec<f32> = delta.iter().zip(&out).map(|(&d, &o)| if o > 0.0 { d } else { 0.0 }).collect();
            for strict in [false, true] {
                let (mut got, mut want) = (vec![f32::NAN; s.input_len()], vec![f32::NAN; s.input_len()]);
                maxpool_backward_gated(&s, &a, &out, &delta, strict, true, &mut got);
                maxpool_backward(&s, &a, &out, &gated, strict, &mut want);
                assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "{:?} strict {}", d, strict);
            }
        }
    }

    #[test]
    fn overlapping_ties_by_hand() {
        // One 1×5 row, windows of 3 moved by 2: [2, 5, 5] and [5, 5, 1] share the middle 5.
        let s = shape(1, 1, 1, 5, 1, 3, 1, 2);
        let a = [2.0, 5.0, 5.0, 5.0, 1.0];
        let mut out = [0.0; 2];
        let mut mask = [9u8; 5];
        maxpool_forward(&s, &a, &mut out);
        maxpool_winners(&s, &a, &out, &mut mask);
        assert_eq!(out, [5.0, 5.0]);
        assert_eq!(mask, [0, 1, 1, 1, 0]);
        let mut da = [f32::NAN; 5];
        maxpool_backward(&s, &a, &out, &[6.0, 4.0], false, &mut da);
        assert_eq!(da, [0.0, 6.0, 10.0, 4.0, 0.0]);
        maxpool_backward(&s, &a, &out, &[6.0, 4.0], true, &mut da);
        assert_eq!(da, [0.0, 3.0, 5.0, 2.0, 0.0]);
    }

    #[test]
    fn ties_and_cropping() {
        // one 3×5 plane, 2×2 areas: one area with a two-way tie, the last row and column cropped
        let s = PoolShape::tiled(1, 1, 3, 5, 2, 2);
        let a = [1.0, 4.0, 2.0, 2.0, 9.0, 4.0, 0.0, 2.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0];
        let mut out = [0.0; 2];
        let mut mask = [9u8; 15];
        maxpool_forward(&s, &a, &mut out);
        maxpool_winners(&s, &a, &out, &mut mask);
        assert_eq!(out, [4.0, 2.0]);
        assert_eq!(mask, [0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut da = [f32::NAN; 15];
        maxpool_backward(&s, &a, &out, &[6.0, 3.0], false, &mut da);
        assert_eq!(da, [0.0, 6.0, 3.0, 3.0, 0.0, 6.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        maxpool_backward(&s, &a, &out, &[6.0, 3.0], true, &mut da);
        assert_eq!(da, [0.0, 3.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn tiling_fast_paths_equal_the_general_windows() {
        // The 2×2 SIMD paths and the tiles' backward against the any-stride code on the same windows.
        let mut rng = Lcg(11);
        for (h, w) in [(9, 21), (8, 8), (26, 26), (3, 2)] {
            let s = PoolShape::tiled(1, 1, h, w, 2, 2);
            let a: Vec<f32> = (0..h * w).map(|_| rng.level(4)).collect();
            let delta: Vec<f32> = (0..s.output_len()).map(|_| rng.uniform()).collect();
            let (oh, ow) = (s.oh(), s.ow());
            let mut general_out = vec![0.0; oh * ow];
            forward_windows(&s, &a, oh, ow, &mut general_out);
            for strict in [false, true] {
                let (out, _, da) = run(&s, &a, &delta, strict);
                assert_eq!(out, general_out);
                let mut general_da = vec![0.0; h * w];
                backward_windows(&s, &a, &out, &delta, strict, &mut general_da);
                assert_eq!(da, general_da);
            }
        }
    }

    #[test]
    fn nan_gives_the_general_maximum_and_passes_no_gradient() {
        // NaN at every position of a window, in the SIMD body (first 4 windows of a row) and the scalar tail.
        for s in [PoolShape::tiled(1, 1, 4, 14, 2, 2), shape(1, 1, 4, 14, 2, 2, 1, 1), PoolShape::tiled(1, 1, 6, 9, 3, 3)] {
            let mut rng = Lcg(5);
            for spot in 0..s.input_len() {
                let mut a: Vec<f32> = (0..s.input_len()).map(|_| rng.uniform()).collect();
                a[spot] = f32::NAN;
                a[(spot * 7 + 3) % s.input_len()] = f32::NAN;
                let mut out = vec![0.0; s.output_len()];
                maxpool_forward(&s, &a, &mut out);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                // the same as the general code's maximum, window by window
                let (oh, ow) = (s.oh(), s.ow());
                let mut general = vec![0.0; oh * ow];
                forward_windows(&s, &a, oh, ow, &mut general);
                assert_eq!(bits(&general), bits(&out), "{:?} NaN at {}", s, spot);
                // a NaN maximum is equal to nothing: its window has no winner and passes no gradient
                let mut mask = vec![9u8; s.input_len()];
                maxpool_winners(&s, &a, &out, &mut mask);
                let mut da = vec![f32::NAN; s.input_len()];
                maxpool_backward(&s, &a, &out, &vec![1.0; s.output_len()], false, &mut da);
                for (o, m) in out.iter().enumerate() {
                    if m.is_nan() && s.is_tiling() {
                        let (oy, ox) = (o / ow, o % ow);
                        for y in oy * s.sh..oy * s.sh + s.ph {
                            let cells = y * s.w + ox * s.sw..y * s.w + ox * s.sw + s.pw;
                            assert!(mask[cells.clone()].iter().all(|&b| b == 0));
                            assert!(da[cells].iter().all(|&g| g == 0.0), "{:?} NaN at {}", s, spot);
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "overflows")]
    fn sizes_are_overflow_checked() {
        shape(1 << 20, 1 << 20, 1 << 20, 1 << 20, 1, 1, 1, 1).input_len();
    }
}

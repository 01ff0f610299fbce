//! Max pooling over `ph × pw` windows moved by a stride `sh × sw`, NCHW.
//!
//! The output has `oh = (h − ph)/sh + 1` rows (rounded down) and likewise
//! `ow` columns; inputs no window reaches never win and their gradient is 0.
//! With the stride equal to the area (the course's tiling) windows neither
//! overlap nor leave gaps, and trailing rows and columns that do not fill a
//! window are cropped.
//!
//! The forward pass can record winners in a byte mask shaped like the input,
//! the course's `mask`: 1 where an input is the maximum of a window that
//! contains it (with overlapping windows: of any such window). Backward hands
//! each window's delta to that window's own maxima (every tied maximum gets
//! the whole delta, the course's rule); with `strict` the delta is divided
//! by the number of maxima in the window. A per-input mask cannot say which
//! of several overlapping windows an input won, so off the tiling backward
//! recomputes each window's maxima as the inputs equal to its pooled output.
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
    /// Stride = area: no overlap and no gaps, so a mask says who won which window.
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

/// Writes the window maxima to `out` (`n × c × oh × ow`) and, when given,
/// the winners to `mask` (`n × c × h × w`); inference needs no mask.
pub fn maxpool_forward(s: &PoolShape, a: &[f32], out: &mut [f32], mask: Option<&mut [u8]>) {
    let (in_len, out_len) = (s.input_len(), s.output_len());
    assert!(a.len() >= in_len && out.len() >= out_len);
    match mask {
        Some(m) => {
            assert!(m.len() >= in_len);
            forward_planes::<true>(s, a, out, m)
        }
        None => forward_planes::<false>(s, a, out, &mut []),
    }
}

/// One kernel for training (`RECORD`: write the mask) and inference, so both
/// compute every maximum the same way; `RECORD` is a constant, so inference
/// pays no branch for the mask it does not write.
fn forward_planes<const RECORD: bool>(s: &PoolShape, a: &[f32], out: &mut [f32], mask: &mut [u8]) {
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    let fast = s.is_2x2_tiling();
    for q in 0..s.planes() {
        let plane = &a[q * hw..(q + 1) * hw];
        let pout = &mut out[q * oh * ow..(q + 1) * oh * ow];
        let pmask: &mut [u8] = if RECORD { &mut mask[q * hw..(q + 1) * hw] } else { &mut [] };
        if RECORD && (!fast || s.leaves_gaps()) {
            // Inputs outside every window never win; the general path ORs each window's winners in.
            pmask.iter_mut().for_each(|x| *x = 0);
        }
        if fast {
            forward_2x2::<RECORD>(plane, s.w, oh, ow, pout, pmask);
        } else {
            forward_windows::<RECORD>(s, plane, oh, ow, pout, pmask);
        }
    }
}

/// The course's case, 2×2 windows side by side: four windows per step, SIMD over the output row.
fn forward_2x2<const RECORD: bool>(plane: &[f32], w: usize, oh: usize, ow: usize, out: &mut [f32], mask: &mut [u8]) {
    let vec_ow = ow - ow % 4;
    for oy in 0..oh {
        let r0 = &plane[2 * oy * w..2 * oy * w + 2 * ow];
        let r1 = &plane[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        let (m0, m1): (&mut [u8], &mut [u8]) = if RECORD {
            let (m0, rest) = mask[2 * oy * w..].split_at_mut(w);
            (&mut m0[..2 * ow], &mut rest[..2 * ow])
        } else {
            (&mut [], &mut [])
        };
        let o = &mut out[oy * ow..(oy + 1) * ow];
        let mut ox = 0;
        while ox < vec_ow {
            let x = 2 * ox;
            // SAFETY: x + 8 <= 2·vec_ow <= 2·ow = r0.len() = r1.len(), and ox + 4 <= ow = o.len().
            let (e0, o0, e1, o1) = unsafe {
                let (e0, o0) = F32x4::deinterleave(F32x4::load(r0.as_ptr().add(x)), F32x4::load(r0.as_ptr().add(x + 4)));
                let (e1, o1) = F32x4::deinterleave(F32x4::load(r1.as_ptr().add(x)), F32x4::load(r1.as_ptr().add(x + 4)));
                (e0, o0, e1, o1)
            };
            // Row maxima, then across the rows: `window_max`'s order.
            let best = e0.max(o0).max(e1.max(o1));
            // SAFETY: as above.
            unsafe { best.store(o.as_mut_ptr().add(ox)) };
            if RECORD {
                m0[x..x + 8].copy_from_slice(&F32x4::pair_winners(e0, o0, best));
                m1[x..x + 8].copy_from_slice(&F32x4::pair_winners(e1, o1, best));
            }
            ox += 4;
        }
        for ox in vec_ow..ow {
            let (x0, x1) = (2 * ox, 2 * ox + 1);
            let (p, q, r, t) = (r0[x0], r0[x1], r1[x0], r1[x1]);
            let best = step_max(step_max(p, q), step_max(r, t));
            o[ox] = best;
            if RECORD {
                m0[x0] = (p == best) as u8;
                m0[x1] = (q == best) as u8;
                m1[x0] = (r == best) as u8;
                m1[x1] = (t == best) as u8;
            }
        }
    }
}

/// Any window and stride; `mask` (when `RECORD`) must be zeroed: winners are ORed in.
fn forward_windows<const RECORD: bool>(s: &PoolShape, plane: &[f32], oh: usize, ow: usize, out: &mut [f32], mask: &mut [u8]) {
    for oy in 0..oh {
        for ox in 0..ow {
            let (y0, x0) = (oy * s.sh, ox * s.sw);
            let best = window_max(s, plane, y0, x0);
            out[oy * ow + ox] = best;
            if RECORD {
                for y in y0..y0 + s.ph {
                    let row = &plane[y * s.w + x0..y * s.w + x0 + s.pw];
                    for (m, &v) in mask[y * s.w + x0..y * s.w + x0 + s.pw].iter_mut().zip(row) {
                        *m |= (v == best) as u8;
                    }
                }
            }
        }
    }
}

/// Overwrites `da` (`n × c × h × w`) with the pooled `delta` (`n × c × oh × ow`)
/// handed to each window's maxima. On the tiling (stride = area) the winners
/// come from `mask` and `a`, `out` are not read (may be empty); otherwise they
/// are recomputed from the input `a` and the pooled output `out` and `mask` is
/// not read (may be empty).
#[allow(clippy::too_many_arguments)]
pub fn maxpool_backward(s: &PoolShape, a: &[f32], out: &[f32], delta: &[f32], mask: &[u8], strict: bool, da: &mut [f32]) {
    maxpool_backward_gated(s, a, out, delta, mask, strict, false, da)
}

/// `maxpool_backward`, and with `relu_gate` also through the ReLU whose output `a` is (`a = max(z, 0)`):
/// overwrites `da` with ∂C/∂z. A window's winners hold its maximum, so ReLU′ at every winner is
/// `out > 0`: a window whose pooled output is not positive passes nothing, the others pass
/// their delta unchanged — the same floats as a separate ReLU backward pass over `da`, without it.
/// With `relu_gate`, `out` is always read.
#[allow(clippy::too_many_arguments)]
pub fn maxpool_backward_gated(s: &PoolShape, a: &[f32], out: &[f32], delta: &[f32], mask: &[u8], strict: bool, relu_gate: bool, da: &mut [f32]) {
    let (in_len, out_len) = (s.input_len(), s.output_len());
    assert!(delta.len() >= out_len && da.len() >= in_len);
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    let tiling = s.is_tiling();
    if tiling {
        assert!(mask.len() >= in_len);
    } else {
        assert!(a.len() >= in_len && out.len() >= out_len);
    }
    if relu_gate {
        assert!(out.len() >= out_len);
    }
    let mut gated = vec![0.0f32; if relu_gate { oh * ow } else { 0 }];
    for q in 0..s.planes() {
        let pda = &mut da[q * hw..(q + 1) * hw];
        let mut pdelta = &delta[q * oh * ow..(q + 1) * oh * ow];
        if relu_gate {
            crate::simd::zip_map(&mut gated, pdelta, &out[q * oh * ow..(q + 1) * oh * ow], |d, o| d.where_positive(o), |d, o| if o > 0.0 { d } else { 0.0 });
            pdelta = &gated;
        }
        if !tiling || s.leaves_gaps() {
            // Inputs outside every window get 0; overlapping windows add their shares.
            pda.iter_mut().for_each(|x| *x = 0.0);
        }
        if !tiling {
            backward_windows(s, &a[q * hw..(q + 1) * hw], &out[q * oh * ow..(q + 1) * oh * ow], pdelta, strict, pda);
        } else if s.ph == 2 && s.pw == 2 {
            backward_2x2(pdelta, &mask[q * hw..(q + 1) * hw], s.w, oh, ow, strict, pda);
        } else {
            backward_tiles(s, pdelta, &mask[q * hw..(q + 1) * hw], oh, ow, strict, pda);
        }
    }
}

fn backward_2x2(delta: &[f32], mask: &[u8], w: usize, oh: usize, ow: usize, strict: bool, da: &mut [f32]) {
    // Strict mode divides by per-window counts: the scalar loop below handles it.
    let vec_ow = if strict { 0 } else { ow - ow % 4 };
    for oy in 0..oh {
        let m0 = &mask[2 * oy * w..2 * oy * w + 2 * ow];
        let m1 = &mask[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        let (d0, rest) = da[2 * oy * w..].split_at_mut(w);
        let d1 = &mut rest[..2 * ow];
        let d0 = &mut d0[..2 * ow];
        let dl = &delta[oy * ow..(oy + 1) * ow];
        let mut ox = 0;
        while ox < vec_ow {
            let x = 2 * ox;
            // SAFETY: ox + 4 <= ow = dl.len(); x + 8 <= 2·ow = d0.len() = d1.len().
            unsafe {
                let (lo, hi) = F32x4::load(dl.as_ptr().add(ox)).duplicate_pairs();
                let b = |m: &[u8], i: usize| [m[i], m[i + 1], m[i + 2], m[i + 3]];
                lo.keep_where(b(m0, x)).store(d0.as_mut_ptr().add(x));
                hi.keep_where(b(m0, x + 4)).store(d0.as_mut_ptr().add(x + 4));
                lo.keep_where(b(m1, x)).store(d1.as_mut_ptr().add(x));
                hi.keep_where(b(m1, x + 4)).store(d1.as_mut_ptr().add(x + 4));
            }
            ox += 4;
        }
        for ox in vec_ow..ow {
            let (x0, x1) = (2 * ox, 2 * ox + 1);
            let mut d = dl[ox];
            if strict {
                let winners = m0[x0] as u32 + m0[x1] as u32 + m1[x0] as u32 + m1[x1] as u32;
                if winners > 1 {
                    d /= winners as f32;
                }
            }
            d0[x0] = if m0[x0] != 0 { d } else { 0.0 };
            d0[x1] = if m0[x1] != 0 { d } else { 0.0 };
            d1[x0] = if m1[x0] != 0 { d } else { 0.0 };
            d1[x1] = if m1[x1] != 0 { d } else { 0.0 };
        }
    }
}

/// Windows side by side, winners from the mask: each input belongs to one window, so it is overwritten.
fn backward_tiles(s: &PoolShape, delta: &[f32], mask: &[u8], oh: usize, ow: usize, strict: bool, da: &mut [f32]) {
    for oy in 0..oh {
        for ox in 0..ow {
            let (y0, x0) = (oy * s.ph, ox * s.pw);
            let mut d = delta[oy * ow + ox];
            if strict {
                let mut winners = 0u32;
                for y in y0..y0 + s.ph {
                    winners += mask[y * s.w + x0..y * s.w + x0 + s.pw].iter().map(|&m| m as u32).sum::<u32>();
                }
                if winners > 1 {
                    d /= winners as f32;
                }
            }
            for y in y0..y0 + s.ph {
                let row = &mask[y * s.w + x0..y * s.w + x0 + s.pw];
                for (g, &m) in da[y * s.w + x0..y * s.w + x0 + s.pw].iter_mut().zip(row) {
                    *g = if m != 0 { d } else { 0.0 };
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
        maxpool_forward(s, a, &mut out, Some(&mut mask));
        maxpool_backward(s, a, &out, delta, &mask, strict, &mut da);
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
    fn overlapping_ties_by_hand() {
        // One 1×5 row, windows of 3 moved by 2: [2, 5, 5] and [5, 5, 1] share the middle 5.
        let s = shape(1, 1, 1, 5, 1, 3, 1, 2);
        let a = [2.0, 5.0, 5.0, 5.0, 1.0];
        let mut out = [0.0; 2];
        let mut mask = [0u8; 5];
        maxpool_forward(&s, &a, &mut out, Some(&mut mask));
        assert_eq!(out, [5.0, 5.0]);
        assert_eq!(mask, [0, 1, 1, 1, 0]);
        let mut da = [f32::NAN; 5];
        maxpool_backward(&s, &a, &out, &[6.0, 4.0], &mask, false, &mut da);
        assert_eq!(da, [0.0, 6.0, 10.0, 4.0, 0.0]);
        maxpool_backward(&s, &a, &out, &[6.0, 4.0], &mask, true, &mut da);
        assert_eq!(da, [0.0, 3.0, 5.0, 2.0, 0.0]);
    }

    #[test]
    fn ties_and_cropping() {
        // one 3×5 plane, 2×2 areas: one area with a two-way tie, the last row and column cropped
        let s = PoolShape::tiled(1, 1, 3, 5, 2, 2);
        let a = [1.0, 4.0, 2.0, 2.0, 9.0, 4.0, 0.0, 2.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0];
        let mut out = [0.0; 2];
        let mut mask = [0u8; 15];
        maxpool_forward(&s, &a, &mut out, Some(&mut mask));
        assert_eq!(out, [4.0, 2.0]);
        assert_eq!(mask, [0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut da = [f32::NAN; 15];
        maxpool_backward(&s, &[], &[], &[6.0, 3.0], &mask, false, &mut da);
        assert_eq!(da, [0.0, 6.0, 3.0, 3.0, 0.0, 6.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        maxpool_backward(&s, &[], &[], &[6.0, 3.0], &mask, true, &mut da);
        assert_eq!(da, [0.0, 3.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn tiling_fast_paths_equal_the_general_windows() {
        // The 2×2 SIMD path and the mask-based backward against the any-stride code on the same windows.
        let mut rng = Lcg(11);
        for (h, w) in [(9, 21), (8, 8), (26, 26), (3, 2)] {
            let s = PoolShape::tiled(1, 1, h, w, 2, 2);
            let a: Vec<f32> = (0..h * w).map(|_| rng.level(4)).collect();
            let delta: Vec<f32> = (0..s.output_len()).map(|_| rng.uniform()).collect();
            let (oh, ow) = (s.oh(), s.ow());
            let mut general_out = vec![0.0; oh * ow];
            let mut general_mask = vec![0u8; h * w];
            forward_windows::<true>(&s, &a, oh, ow, &mut general_out, &mut general_mask);
            for strict in [false, true] {
                let (out, mask, da) = run(&s, &a, &delta, strict);
                assert_eq!(out, general_out);
                assert_eq!(mask, general_mask);
                let mut general_da = vec![0.0; h * w];
                backward_windows(&s, &a, &out, &delta, strict, &mut general_da);
                assert_eq!(da, general_da);
            }
        }
    }

    #[test]
    fn nan_gives_the_same_maximum_with_and_without_a_mask() {
        // NaN at every position of a window, in the SIMD body (first 4 windows of a row) and the scalar tail.
        for s in [PoolShape::tiled(1, 1, 4, 14, 2, 2), shape(1, 1, 4, 14, 2, 2, 1, 1), PoolShape::tiled(1, 1, 6, 9, 3, 3)] {
            let mut rng = Lcg(5);
            for spot in 0..s.input_len() {
                let mut a: Vec<f32> = (0..s.input_len()).map(|_| rng.uniform()).collect();
                a[spot] = f32::NAN;
                a[(spot * 7 + 3) % s.input_len()] = f32::NAN;
                let mut with_mask = vec![0.0; s.output_len()];
                let mut without = vec![0.0; s.output_len()];
                let mut mask = vec![0u8; s.input_len()];
                maxpool_forward(&s, &a, &mut with_mask, Some(&mut mask));
                maxpool_forward(&s, &a, &mut without, None);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&with_mask), bits(&without), "{:?} NaN at {}", s, spot);
                // and the same as the general code's maximum, window by window
                let (oh, ow) = (s.oh(), s.ow());
                let mut general = vec![0.0; oh * ow];
                forward_windows::<false>(&s, &a, oh, ow, &mut general, &mut []);
                assert_eq!(bits(&general), bits(&without));
                // a NaN maximum is equal to nothing: on the tiling its window records no winner
                if s.is_tiling() {
                    for (o, m) in with_mask.iter().enumerate() {
                        if m.is_nan() {
                            let (oy, ox) = (o / ow, o % ow);
                            for y in oy * s.sh..oy * s.sh + s.ph {
                                assert!(mask[y * s.w + ox * s.sw..y * s.w + ox * s.sw + s.pw].iter().all(|&b| b == 0));
                            }
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

//! Max pooling over non-overlapping `ph × pw` areas, NCHW.
//!
//! Trailing rows and columns that do not fill an area are cropped: they never
//! win and their gradient is 0. The forward pass records the winners in a
//! byte mask shaped like the input (1 = holds its area's maximum), the
//! course's `mask`. Backward hands an area's delta to every winner; with
//! `strict` it is divided by the number of winners (ties share the delta).

use crate::simd::F32x4;

#[derive(Clone, Copy, Debug)]
pub struct PoolShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub ph: usize,
    pub pw: usize,
}

impl PoolShape {
    pub fn oh(&self) -> usize {
        self.h / self.ph
    }
    pub fn ow(&self) -> usize {
        self.w / self.pw
    }
    fn planes(&self) -> usize {
        self.n * self.c
    }
    fn check(&self) {
        assert!(self.ph >= 1 && self.pw >= 1 && self.ph <= self.h && self.pw <= self.w, "pool: area larger than input");
    }
}

/// Writes the area maxima to `out` (`n × c × h/ph × w/pw`) and, when given,
/// the winners to `mask` (`n × c × h × w`); inference needs no mask.
pub fn maxpool_forward(s: &PoolShape, a: &[f32], out: &mut [f32], mut mask: Option<&mut [u8]>) {
    s.check();
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    assert!(a.len() >= s.planes() * hw && out.len() >= s.planes() * oh * ow);
    assert!(mask.as_ref().map_or(true, |m| m.len() >= s.planes() * hw));
    let cropped = s.h % s.ph != 0 || s.w % s.pw != 0;
    for q in 0..s.planes() {
        let plane = &a[q * hw..(q + 1) * hw];
        let pout = &mut out[q * oh * ow..(q + 1) * oh * ow];
        let pmask = match mask.as_deref_mut() {
            Some(m) => &mut m[q * hw..(q + 1) * hw],
            None => {
                max_only(s, plane, oh, ow, pout);
                continue;
            }
        };
        if cropped {
            // Rows and columns outside every area never win.
            pmask.iter_mut().for_each(|x| *x = 0);
        }
        if s.ph == 2 && s.pw == 2 {
            forward_2x2(plane, s.w, oh, ow, pout, pmask);
        } else {
            forward_any(s, plane, oh, ow, pout, pmask);
        }
    }
}

/// Area maxima without winners (inference).
fn max_only(s: &PoolShape, plane: &[f32], oh: usize, ow: usize, out: &mut [f32]) {
    if s.ph == 2 && s.pw == 2 {
        let vec_ow = ow - ow % 4;
        for oy in 0..oh {
            let r0 = &plane[2 * oy * s.w..2 * oy * s.w + 2 * ow];
            let r1 = &plane[(2 * oy + 1) * s.w..(2 * oy + 1) * s.w + 2 * ow];
            let o = &mut out[oy * ow..(oy + 1) * ow];
            let mut ox = 0;
            while ox < vec_ow {
                // SAFETY: 2·ox + 8 <= 2·ow = r0.len() = r1.len(), and ox + 4 <= ow = o.len().
                unsafe {
                    let (e0, o0) = F32x4::deinterleave(F32x4::load(r0.as_ptr().add(2 * ox)), F32x4::load(r0.as_ptr().add(2 * ox + 4)));
                    let (e1, o1) = F32x4::deinterleave(F32x4::load(r1.as_ptr().add(2 * ox)), F32x4::load(r1.as_ptr().add(2 * ox + 4)));
                    e0.max(o0).max(e1.max(o1)).store(o.as_mut_ptr().add(ox));
                }
                ox += 4;
            }
            for ox in vec_ow..ow {
                let m = r0[2 * ox].max(r0[2 * ox + 1]).max(r1[2 * ox].max(r1[2 * ox + 1]));
                o[ox] = m;
            }
        }
        return;
    }
    for oy in 0..oh {
        for ox in 0..ow {
            out[oy * ow + ox] = area_max(s, plane, oy * s.ph, ox * s.pw);
        }
    }
}

/// The maximum of the area whose top-left input is (y0, x0).
fn area_max(s: &PoolShape, plane: &[f32], y0: usize, x0: usize) -> f32 {
    let mut best = plane[y0 * s.w + x0];
    for y in y0..y0 + s.ph {
        for &v in &plane[y * s.w + x0..y * s.w + x0 + s.pw] {
            if v > best {
                best = v;
            }
        }
    }
    best
}

/// The common 2×2 case: four areas per step, SIMD over the output row.
fn forward_2x2(plane: &[f32], w: usize, oh: usize, ow: usize, out: &mut [f32], mask: &mut [u8]) {
    let vec_ow = ow - ow % 4;
    for oy in 0..oh {
        let r0 = &plane[2 * oy * w..2 * oy * w + 2 * ow];
        let r1 = &plane[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        let (m0, rest) = mask[2 * oy * w..].split_at_mut(w);
        let m1 = &mut rest[..2 * ow];
        let m0 = &mut m0[..2 * ow];
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
            let best = e0.max(o0).max(e1.max(o1));
            // SAFETY: as above.
            unsafe { best.store(o.as_mut_ptr().add(ox)) };
            m0[x..x + 8].copy_from_slice(&F32x4::pair_winners(e0, o0, best));
            m1[x..x + 8].copy_from_slice(&F32x4::pair_winners(e1, o1, best));
            ox += 4;
        }
        for ox in vec_ow..ow {
            let (x0, x1) = (2 * ox, 2 * ox + 1);
            let (p, q, r, t) = (r0[x0], r0[x1], r1[x0], r1[x1]);
            let top = if q > p { q } else { p };
            let bottom = if t > r { t } else { r };
            let best = if bottom > top { bottom } else { top };
            o[ox] = best;
            m0[x0] = (p == best) as u8;
            m0[x1] = (q == best) as u8;
            m1[x0] = (r == best) as u8;
            m1[x1] = (t == best) as u8;
        }
    }
}

fn forward_any(s: &PoolShape, plane: &[f32], oh: usize, ow: usize, out: &mut [f32], mask: &mut [u8]) {
    for oy in 0..oh {
        for ox in 0..ow {
            let (y0, x0) = (oy * s.ph, ox * s.pw);
            let best = area_max(s, plane, y0, x0);
            for y in y0..y0 + s.ph {
                let row = &plane[y * s.w + x0..y * s.w + x0 + s.pw];
                for (m, &v) in mask[y * s.w + x0..y * s.w + x0 + s.pw].iter_mut().zip(row) {
                    *m = (v == best) as u8;
                }
            }
            out[oy * ow + ox] = best;
        }
    }
}

/// Overwrites `da` (`n × c × h × w`) with the pooled `delta` (`n × c × h/ph × w/pw`) routed through `mask`.
pub fn maxpool_backward(s: &PoolShape, delta: &[f32], mask: &[u8], strict: bool, da: &mut [f32]) {
    s.check();
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    assert!(delta.len() >= s.planes() * oh * ow && mask.len() >= s.planes() * hw && da.len() >= s.planes() * hw);
    let cropped = s.h % s.ph != 0 || s.w % s.pw != 0;
    for q in 0..s.planes() {
        let pmask = &mask[q * hw..(q + 1) * hw];
        let pda = &mut da[q * hw..(q + 1) * hw];
        let pdelta = &delta[q * oh * ow..(q + 1) * oh * ow];
        if cropped {
            pda.iter_mut().for_each(|x| *x = 0.0);
        }
        if s.ph == 2 && s.pw == 2 {
            backward_2x2(pdelta, pmask, s.w, oh, ow, strict, pda);
        } else {
            backward_any(s, pdelta, pmask, oh, ow, strict, pda);
        }
    }
}

fn backward_2x2(delta: &[f32], mask: &[u8], w: usize, oh: usize, ow: usize, strict: bool, da: &mut [f32]) {
    // Strict mode divides by per-area counts: the scalar loop below handles it.
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

fn backward_any(s: &PoolShape, delta: &[f32], mask: &[u8], oh: usize, ow: usize, strict: bool, da: &mut [f32]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_and_cropping() {
        // one 3×5 plane, 2×2 areas: one area with a two-way tie, the last row and column cropped
        let s = PoolShape { n: 1, c: 1, h: 3, w: 5, ph: 2, pw: 2 };
        let a = [1.0, 4.0, 2.0, 2.0, 9.0, 4.0, 0.0, 2.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0];
        let mut out = [0.0; 2];
        let mut mask = [0u8; 15];
        maxpool_forward(&s, &a, &mut out, Some(&mut mask));
        assert_eq!(out, [4.0, 2.0]);
        assert_eq!(mask, [0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut da = [f32::NAN; 15];
        maxpool_backward(&s, &[6.0, 3.0], &mask, false, &mut da);
        assert_eq!(da, [0.0, 6.0, 3.0, 3.0, 0.0, 6.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        maxpool_backward(&s, &[6.0, 3.0], &mask, true, &mut da);
        assert_eq!(da, [0.0, 3.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
}

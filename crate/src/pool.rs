//! Max pooling over non-overlapping `ph × pw` areas, NCHW.
//!
//! Trailing rows and columns that do not fill an area are cropped: they never
//! win and their gradient is 0. The forward pass records the winners in a
//! byte mask shaped like the input (1 = holds its area's maximum), the
//! course's `mask`. Backward hands an area's delta to every winner; with
//! `strict` it is divided by the number of winners (ties share the delta).

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

/// Writes the area maxima to `out` (`n × c × h/ph × w/pw`) and the winners to `mask` (`n × c × h × w`).
pub fn maxpool_forward(s: &PoolShape, a: &[f32], out: &mut [f32], mask: &mut [u8]) {
    s.check();
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    assert!(a.len() >= s.planes() * hw && mask.len() >= s.planes() * hw && out.len() >= s.planes() * oh * ow);
    for q in 0..s.planes() {
        let plane = &a[q * hw..(q + 1) * hw];
        let pmask = &mut mask[q * hw..(q + 1) * hw];
        pmask.iter_mut().for_each(|x| *x = 0);
        let pout = &mut out[q * oh * ow..(q + 1) * oh * ow];
        for oy in 0..oh {
            for ox in 0..ow {
                let (y0, x0) = (oy * s.ph, ox * s.pw);
                let mut best = plane[y0 * s.w + x0];
                for y in y0..y0 + s.ph {
                    for &v in &plane[y * s.w + x0..y * s.w + x0 + s.pw] {
                        if v > best {
                            best = v;
                        }
                    }
                }
                for y in y0..y0 + s.ph {
                    for x in x0..x0 + s.pw {
                        pmask[y * s.w + x] = (plane[y * s.w + x] == best) as u8;
                    }
                }
                pout[oy * ow + ox] = best;
            }
        }
    }
}

/// Overwrites `da` (`n × c × h × w`) with the pooled `delta` (`n × c × h/ph × w/pw`) routed through `mask`.
pub fn maxpool_backward(s: &PoolShape, delta: &[f32], mask: &[u8], strict: bool, da: &mut [f32]) {
    s.check();
    let (oh, ow, hw) = (s.oh(), s.ow(), s.h * s.w);
    assert!(delta.len() >= s.planes() * oh * ow && mask.len() >= s.planes() * hw && da.len() >= s.planes() * hw);
    for q in 0..s.planes() {
        let pmask = &mask[q * hw..(q + 1) * hw];
        let pda = &mut da[q * hw..(q + 1) * hw];
        pda.iter_mut().for_each(|x| *x = 0.0);
        let pdelta = &delta[q * oh * ow..(q + 1) * oh * ow];
        for oy in 0..oh {
            for ox in 0..ow {
                let (y0, x0) = (oy * s.ph, ox * s.pw);
                let mut d = pdelta[oy * ow + ox];
                if strict {
                    let mut winners = 0u32;
                    for y in y0..y0 + s.ph {
                        winners += pmask[y * s.w + x0..y * s.w + x0 + s.pw].iter().map(|&m| m as u32).sum::<u32>();
                    }
                    if winners > 1 {
                        d /= winners as f32;
                    }
                }
                for y in y0..y0 + s.ph {
                    for x in x0..x0 + s.pw {
                        if pmask[y * s.w + x] != 0 {
                            pda[y * s.w + x] = d;
                        }
                    }
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
        maxpool_forward(&s, &a, &mut out, &mut mask);
        assert_eq!(out, [4.0, 2.0]);
        assert_eq!(mask, [0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut da = [f32::NAN; 15];
        maxpool_backward(&s, &[6.0, 3.0], &mask, false, &mut da);
        assert_eq!(da, [0.0, 6.0, 3.0, 3.0, 0.0, 6.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        maxpool_backward(&s, &[6.0, 3.0], &mask, true, &mut da);
        assert_eq!(da, [0.0, 3.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
}

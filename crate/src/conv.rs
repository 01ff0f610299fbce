//! 2-D convolution layer kernels, NCHW, "valid" mode, as the course defines it:
//!
//! `Z[i,j] = b[j] + Σ_k A[i,k] * F[j,k]` where `*` is the true convolution of
//! `scipy.signal.convolve2d(.., mode='valid')` (the kernel is flipped).
//!
//! Both passes go through im2col + GEMM. The flip is folded into the im2col
//! layout: row `(k,u,v)` of the column matrix holds `A[i,k,y+fh-1-u, x+fw-1-v]`,
//! so `Z_i = F · cols_i` with F used exactly as stored (`m × c·fh·fw`).
//! Backward, with `Δ` = ∂C/∂Z:
//! `dF = Σ_i Δ_i · cols_iᵀ`, `db[j] = Σ Δ[:,j]`, `dA_i = col2im(Fᵀ · Δ_i)`,
//! which is exercise 1's `dA = Σ_j Δ *full F[::-1,::-1]` and
//! `dF[::-1,::-1] = Σ_i A * Δ[::-1,::-1]` written as matrix products.

use crate::conv_direct;
use crate::gemm::{gemm, MatRef};

/// Geometry of one convolution.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub m: usize,
    pub fh: usize,
    pub fw: usize,
}

impl ConvShape {
    pub fn zh(&self) -> usize {
        self.h - self.fh + 1
    }
    pub fn zw(&self) -> usize {
        self.w - self.fw + 1
    }
    /// Rows of the column matrix: c·fh·fw.
    pub fn col_rows(&self) -> usize {
        self.c * self.fh * self.fw
    }
    /// Output pixels per image and channel: zh·zw.
    pub fn out_pixels(&self) -> usize {
        self.zh() * self.zw()
    }
    /// Floats of the per-image column scratch the kernels need.
    pub fn cols_len(&self) -> usize {
        self.col_rows() * self.out_pixels()
    }
    fn check(&self) {
        assert!(self.fh >= 1 && self.fw >= 1 && self.fh <= self.h && self.fw <= self.w, "conv2d: filter larger than input");
    }
}

/// Fills `cols` (`c·fh·fw × zh·zw`) for one image `a` (`c × h × w`), flipped as described above.
fn im2col(s: &ConvShape, a: &[f32], cols: &mut [f32]) {
    let (zh, zw) = (s.zh(), s.zw());
    let p = zh * zw;
    let mut row = 0;
    for k in 0..s.c {
        let plane = &a[k * s.h * s.w..(k + 1) * s.h * s.w];
        for u in 0..s.fh {
            for v in 0..s.fw {
                let (dy, dx) = (s.fh - 1 - u, s.fw - 1 - v);
                let dst = &mut cols[row * p..(row + 1) * p];
                for y in 0..zh {
                    let src = &plane[(y + dy) * s.w + dx..(y + dy) * s.w + dx + zw];
                    dst[y * zw..(y + 1) * zw].copy_from_slice(src);
                }
                row += 1;
            }
        }
    }
}

/// Adds `cols` back into one image gradient `da` (`c × h × w`); the adjoint of `im2col`.
fn col2im_add(s: &ConvShape, cols: &[f32], da: &mut [f32]) {
    let (zh, zw) = (s.zh(), s.zw());
    let p = zh * zw;
    let mut row = 0;
    for k in 0..s.c {
        let plane = &mut da[k * s.h * s.w..(k + 1) * s.h * s.w];
        for u in 0..s.fh {
            for v in 0..s.fw {
                let (dy, dx) = (s.fh - 1 - u, s.fw - 1 - v);
                let src = &cols[row * p..(row + 1) * p];
                for y in 0..zh {
                    let dst = &mut plane[(y + dy) * s.w + dx..(y + dy) * s.w + dx + zw];
                    dst.iter_mut().zip(&src[y * zw..(y + 1) * zw]).for_each(|(d, x)| *d += *x);
                }
                row += 1;
            }
        }
    }
}

/// `z = b + A * F` for the whole batch; with `relu`, `max(z, 0)` instead (a
/// fused ReLU activation). `cols` is scratch of `cols_len()` floats.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_forward(s: &ConvShape, a: &[f32], f: &[f32], b: &[f32], z: &mut [f32], relu: bool, cols: &mut [f32], ws: &mut [f32]) {
    s.check();
    let (k, p) = (s.col_rows(), s.out_pixels());
    assert!(a.len() >= s.n * s.c * s.h * s.w && f.len() >= s.m * k && b.len() >= s.m);
    assert!(z.len() >= s.n * s.m * p && cols.len() >= k * p);
    if conv_direct::forward_applies(s) {
        return conv_direct::forward(s, a, f, b, z, relu);
    }
    for i in 0..s.n {
        im2col(s, &a[i * s.c * s.h * s.w..(i + 1) * s.c * s.h * s.w], cols);
        let zi = &mut z[i * s.m * p..(i + 1) * s.m * p];
        for j in 0..s.m {
            zi[j * p..(j + 1) * p].iter_mut().for_each(|x| *x = b[j]);
        }
        gemm(MatRef::row_major(f, s.m, k), MatRef::row_major(cols, k, p), zi, p, true, ws);
    }
    if relu {
        z[..s.n * s.m * p].iter_mut().for_each(|x| *x = if *x > 0.0 { *x } else { 0.0 });
    }
}

/// Gradients of the convolution given `delta` = ∂C/∂Z (`n × m × zh × zw`).
///
/// Overwrites `df` (`m × c × fh × fw`) and `db` (`m`), or adds to them with
/// `accumulate` (a batch taken in chunks); when `da` is given, overwrites it
/// with ∂C/∂A (`n × c × h × w`). `cols` and `dcols` are scratch of
/// `cols_len()` floats each.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    s: &ConvShape,
    a: &[f32],
    f: &[f32],
    delta: &[f32],
    df: &mut [f32],
    db: &mut [f32],
    mut da: Option<&mut [f32]>,
    cols: &mut [f32],
    dcols: &mut [f32],
    ws: &mut [f32],
    accumulate: bool,
) {
    s.check();
    let (k, p) = (s.col_rows(), s.out_pixels());
    let img = s.c * s.h * s.w;
    assert!(a.len() >= s.n * img && f.len() >= s.m * k && delta.len() >= s.n * s.m * p);
    assert!(df.len() >= s.m * k && db.len() >= s.m && cols.len() >= k * p && dcols.len() >= k * p);
    let direct = conv_direct::filter_gradient_applies(s);
    if direct {
        conv_direct::filter_gradient(s, a, delta, df, accumulate);
    } else if s.n == 0 && !accumulate {
        df[..s.m * k].iter_mut().for_each(|x| *x = 0.0);
    }
    // With the direct filter gradient, the per-image loop is only needed for ∂C/∂A.
    let images = if direct && da.is_none() { 0 } else { s.n };
    for i in 0..images {
        let di = &delta[i * s.m * p..(i + 1) * s.m * p];
        if !direct {
            im2col(s, &a[i * img..(i + 1) * img], cols);
            // dF (m × k) (+)= Δ_i (m × p) · cols_iᵀ (p × k)
            gemm(MatRef::row_major(di, s.m, p), MatRef::transposed(cols, p, k), df, k, accumulate || i > 0, ws);
        }
        if let Some(da) = da.as_deref_mut() {
            // dcols (k × p) = Fᵀ (k × m) · Δ_i (m × p)
            gemm(MatRef::transposed(f, k, s.m), MatRef::row_major(di, s.m, p), dcols, p, false, ws);
            let dai = &mut da[i * img..(i + 1) * img];
            dai.iter_mut().for_each(|x| *x = 0.0);
            col2im_add(s, dcols, dai);
        }
    }
    for j in 0..s.m {
        let mut sum = 0.0f64;
        for i in 0..s.n {
            let plane = &delta[(i * s.m + j) * p..(i * s.m + j + 1) * p];
            sum += plane.iter().map(|&x| x as f64).sum::<f64>();
        }
        db[j] = if accumulate { db[j] + sum as f32 } else { sum as f32 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::WORKSPACE_LEN;

    /// scipy.signal.convolve2d(a, f, mode='valid') for one plane.
    fn convolve_valid(a: &[f32], h: usize, w: usize, f: &[f32], fh: usize, fw: usize) -> Vec<f64> {
        let (zh, zw) = (h - fh + 1, w - fw + 1);
        let mut out = vec![0.0; zh * zw];
        for y in 0..zh {
            for x in 0..zw {
                let mut s = 0.0;
                for u in 0..fh {
                    for v in 0..fw {
                        s += a[(y + fh - 1 - u) * w + x + fw - 1 - v] as f64 * f[u * fw + v] as f64;
                    }
                }
                out[y * zw + x] = s;
            }
        }
        out
    }

    #[test]
    fn forward_is_true_convolution() {
        let s = ConvShape { n: 2, c: 3, h: 7, w: 6, m: 5, fh: 3, fw: 2 };
        let a: Vec<f32> = (0..s.n * s.c * s.h * s.w).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
        let f: Vec<f32> = (0..s.m * s.c * s.fh * s.fw).map(|i| ((i * 53 % 19) as f32 - 9.0) / 5.0).collect();
        let b: Vec<f32> = (0..s.m).map(|j| j as f32 * 0.5).collect();
        let mut z = vec![0.0; s.n * s.m * s.out_pixels()];
        let mut cols = vec![0.0; s.cols_len()];
        let mut ws = vec![0.0; WORKSPACE_LEN];
        conv2d_forward(&s, &a, &f, &b, &mut z, false, &mut cols, &mut ws);
        let p = s.out_pixels();
        for i in 0..s.n {
            for j in 0..s.m {
                let mut expect = vec![b[j] as f64; p];
                for k in 0..s.c {
                    let plane = &a[(i * s.c + k) * s.h * s.w..(i * s.c + k + 1) * s.h * s.w];
                    let filt = &f[(j * s.c + k) * s.fh * s.fw..(j * s.c + k + 1) * s.fh * s.fw];
                    for (e, v) in expect.iter_mut().zip(convolve_valid(plane, s.h, s.w, filt, s.fh, s.fw)) {
                        *e += v;
                    }
                }
                for (q, e) in expect.iter().enumerate() {
                    assert!((z[(i * s.m + j) * p + q] as f64 - e).abs() < 1e-4);
                }
            }
        }
    }
}

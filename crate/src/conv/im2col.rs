//! The im2col + GEMM path: any padding and stride.
//!
//! The flip of the true convolution is folded into the column layout: row
//! `(k,u,v)` of an image's column matrix holds, for output `(y,x)`, the padded
//! input `Ap[k, y·sh + fh−1−u, x·sw + fw−1−v]`, i.e. the input at row
//! `y·sh + fh−1−u − pt`, column `x·sw + fw−1−v − pl`, or 0 where that lies in
//! the padding. So `Z_i = F · cols_i` with F used exactly as stored
//! (`m × c·fh·fw`). Backward, with `Δ` = ∂C/∂Z:
//! `dF = Σ_i Δ_i · cols_iᵀ` and `dA_i = col2im(Fᵀ · Δ_i)`, where col2im (the
//! adjoint of im2col) drops what falls on padding. Without padding and stride
//! these are exercise 1's `dF[::-1,::-1] = Σ_i A * Δ[::-1,::-1]` and
//! `dA = Σ_j Δ *full F[::-1,::-1]` written as matrix products.

use super::ConvShape;
use crate::gemm::{gemm, MatRef};
use crate::mem::{copy_short, zero_short};

/// The outputs `lo..hi` (of `z`) whose input index `x·stride + d − pad` lies in `0..len`.
fn inside(z: usize, stride: usize, d: usize, pad: usize, len: usize) -> (usize, usize) {
    // x·stride + d ≥ pad  ⟺  x ≥ ⌈(pad − d)/stride⌉;  x·stride + d < len + pad  ⟺  x < ⌈(len + pad − d)/stride⌉.
    // (len + pad <= the padded size, which `ConvShape::lengths` has checked fits.)
    let lo = if pad > d { ceil_div(pad - d, stride) } else { 0 };
    let hi = if len + pad > d { ceil_div(len + pad - d, stride).min(z) } else { 0 };
    (lo.min(hi), hi)
}

/// ⌈a / b⌉ without the overflow of (a + b − 1) / b.
fn ceil_div(a: usize, b: usize) -> usize {
    a / b + usize::from(a % b != 0)
}

/// Fills `cols` (`c·fh·fw × zh·zw`) for one image `a` (`c × h × w`), flipped and padded as described above.
pub fn im2col(s: &ConvShape, a: &[f32], cols: &mut [f32]) {
    let (zh, zw) = (s.zh(), s.zw());
    let p = zh * zw;
    let mut row = 0;
    for k in 0..s.c {
        let plane = &a[k * s.h * s.w..(k + 1) * s.h * s.w];
        for u in 0..s.fh {
            for v in 0..s.fw {
                let (dy, dx) = (s.fh - 1 - u, s.fw - 1 - v);
                let (y0, y1) = inside(zh, s.sh, dy, s.pt, s.h);
                let (x0, x1) = inside(zw, s.sw, dx, s.pl, s.w);
                let dst = &mut cols[row * p..(row + 1) * p];
                // Rows above and below the image at once; within a row, its few padded outputs and the copy inline
                // (`copy_short`: a memcpy and two memset calls per row were most of im2col's time).
                dst[..y0 * zw].fill(0.0);
                dst[y1 * zw..].fill(0.0);
                for y in y0..y1 {
                    let out = &mut dst[y * zw..(y + 1) * zw];
                    let iy = y * s.sh + dy - s.pt;
                    let src = &plane[iy * s.w..(iy + 1) * s.w];
                    zero_short(&mut out[..x0]);
                    zero_short(&mut out[x1..]);
                    if s.sw == 1 {
                        let ix0 = x0 + dx - s.pl;
                        copy_short(&mut out[x0..x1], &src[ix0..ix0 + (x1 - x0)]);
                    } else {
                        for x in x0..x1 {
                            out[x] = src[x * s.sw + dx - s.pl];
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Adds `cols` back into one image gradient `da` (`c × h × w`): the adjoint of `im2col`, padding dropped.
pub fn col2im_add(s: &ConvShape, cols: &[f32], da: &mut [f32]) {
    let (zh, zw) = (s.zh(), s.zw());
    let p = zh * zw;
    let mut row = 0;
    for k in 0..s.c {
        let plane = &mut da[k * s.h * s.w..(k + 1) * s.h * s.w];
        for u in 0..s.fh {
            for v in 0..s.fw {
                let (dy, dx) = (s.fh - 1 - u, s.fw - 1 - v);
                let (y0, y1) = inside(zh, s.sh, dy, s.pt, s.h);
                let (x0, x1) = inside(zw, s.sw, dx, s.pl, s.w);
                let src = &cols[row * p..(row + 1) * p];
                for y in y0..y1 {
                    let iy = y * s.sh + dy - s.pt;
                    let dst = &mut plane[iy * s.w..(iy + 1) * s.w];
                    let src = &src[y * zw + x0..y * zw + x1];
                    if s.sw == 1 {
                        let ix0 = x0 + dx - s.pl;
                        dst[ix0..ix0 + (x1 - x0)].iter_mut().zip(src).for_each(|(d, x)| *d += *x);
                    } else {
                        for (x, value) in (x0..x1).zip(src) {
                            dst[x * s.sw + dx - s.pl] += *value;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// `z = b + A * F` for the whole batch, `max(z, 0)` with `relu`. `cols` is scratch of `cols_len()` floats.
#[allow(clippy::too_many_arguments)]
pub fn forward(s: &ConvShape, a: &[f32], f: &[f32], b: &[f32], z: &mut [f32], relu: bool, cols: &mut [f32], ws: &mut [f32]) {
    let (k, p) = (s.col_rows(), s.out_pixels());
    let img = s.c * s.h * s.w;
    for i in 0..s.n {
        im2col(s, &a[i * img..(i + 1) * img], cols);
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

/// `dF (m × k) (+)= Σ_i Δ_i (m × p) · cols_iᵀ (p × k)`, overwriting `df` unless `accumulate`.
pub fn filter_gradient(s: &ConvShape, a: &[f32], delta: &[f32], df: &mut [f32], accumulate: bool, cols: &mut [f32], ws: &mut [f32]) {
    let (k, p) = (s.col_rows(), s.out_pixels());
    let img = s.c * s.h * s.w;
    if s.n == 0 && !accumulate {
        df[..s.m * k].iter_mut().for_each(|x| *x = 0.0);
    }
    for i in 0..s.n {
        im2col(s, &a[i * img..(i + 1) * img], cols);
        let di = &delta[i * s.m * p..(i + 1) * s.m * p];
        gemm(MatRef::row_major(di, s.m, p), MatRef::transposed(cols, p, k), df, k, accumulate || i > 0, ws);
    }
}

/// `dA_i = col2im(Fᵀ (k × m) · Δ_i (m × p))`, overwriting `da` (`n × c × h × w`). `dcols` is scratch of `cols_len()` floats.
pub fn input_gradient(s: &ConvShape, f: &[f32], delta: &[f32], da: &mut [f32], dcols: &mut [f32], ws: &mut [f32]) {
    let (k, p) = (s.col_rows(), s.out_pixels());
    let img = s.c * s.h * s.w;
    for i in 0..s.n {
        let di = &delta[i * s.m * p..(i + 1) * s.m * p];
        gemm(MatRef::transposed(f, k, s.m), MatRef::row_major(di, s.m, p), dcols, p, false, ws);
        let dai = &mut da[i * img..(i + 1) * img];
        dai.iter_mut().for_each(|x| *x = 0.0);
        col2im_add(s, dcols, dai);
    }
}

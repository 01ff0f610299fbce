//! 2-D convolution layer kernels, NCHW. The course defines the unpadded,
//! stride-1 case:
//!
//! `Z[i,j] = b[j] + Σ_k A[i,k] * F[j,k]` where `*` is the true convolution of
//! `scipy.signal.convolve2d(.., mode='valid')` (the kernel is flipped).
//!
//! Padding and stride follow PyTorch's meaning, applied to that convolution:
//! zero-pad each input plane by `pt, pb, pl, pr` rows/columns (top, bottom,
//! left, right), take the valid true convolution, keep every `sh`-th row and
//! `sw`-th column of it starting at 0. So `zh = ⌊(h + pt + pb − fh)/sh⌋ + 1`
//! (likewise `zw`), and ∂C/∂A is the gradient for the unpadded input (what
//! falls on padding is dropped).
//!
//! Two implementations, and this file is the one place that picks between them:
//! - `direct.rs`: direct kernels for no padding and stride 1 (the course's
//!   network runs through them); a padded stride-1 shape uses them on a
//!   zero-padded copy of each image.
//! - `im2col.rs`: im2col + GEMM for every shape, and col2im for ∂C/∂A.

mod direct;
mod im2col;

use crate::simd::F32x4;

/// Geometry of one convolution. Build it with `unpadded` or field by field,
/// and validate it with `lengths` before using any other method.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub m: usize,
    pub fh: usize,
    pub fw: usize,
    /// Zero rows above and below, zero columns left and right of each input plane.
    pub pt: usize,
    pub pb: usize,
    pub pl: usize,
    pub pr: usize,
    /// Vertical and horizontal stride, ≥ 1.
    pub sh: usize,
    pub sw: usize,
}

/// Buffer lengths (in floats) of a valid `ConvShape`, each known to fit in `usize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvLengths {
    /// `n·c·h·w`
    pub input: usize,
    /// `m·c·fh·fw`
    pub filter: usize,
    /// `n·m·zh·zw`
    pub output: usize,
    /// `c·fh·fw·zh·zw`: the per-image column scratch (`cols`, `dcols`).
    pub cols: usize,
}

impl ConvShape {
    /// The course's convolution: no padding, stride 1.
    pub fn unpadded(n: usize, c: usize, h: usize, w: usize, m: usize, fh: usize, fw: usize) -> Self {
        ConvShape { n, c, h, w, m, fh, fw, pt: 0, pb: 0, pl: 0, pr: 0, sh: 1, sw: 1 }
    }

    /// The buffer lengths, or `None` if the geometry is invalid (a zero filter
    /// size or stride, a filter larger than the padded input) or a size
    /// overflows `usize`. Once this is `Some`, every product the kernels form
    /// from these dimensions fits, so the methods below need no checks.
    pub fn lengths(&self) -> Option<ConvLengths> {
        if self.fh == 0 || self.fw == 0 || self.sh == 0 || self.sw == 0 {
            return None;
        }
        let hp = self.h.checked_add(self.pt)?.checked_add(self.pb)?;
        let wp = self.w.checked_add(self.pl)?.checked_add(self.pr)?;
        if self.fh > hp || self.fw > wp {
            return None;
        }
        let (zh, zw) = ((hp - self.fh) / self.sh + 1, (wp - self.fw) / self.sw + 1);
        let pixels = zh.checked_mul(zw)?;
        let taps = self.c.checked_mul(self.fh)?.checked_mul(self.fw)?;
        Some(ConvLengths {
            input: self.n.checked_mul(self.c)?.checked_mul(self.h)?.checked_mul(self.w)?,
            filter: self.m.checked_mul(taps)?,
            output: self.n.checked_mul(self.m)?.checked_mul(pixels)?,
            cols: taps.checked_mul(pixels)?,
        })
    }

    /// Validated lengths; panics (a trap in wasm, which TypeScript's own checks rule out) otherwise.
    pub fn checked_lengths(&self) -> ConvLengths {
        match self.lengths() {
            Some(len) => len,
            None => panic!("conv2d: invalid geometry, or its sizes overflow"),
        }
    }

    pub fn zh(&self) -> usize {
        (self.h + self.pt + self.pb - self.fh) / self.sh + 1
    }
    pub fn zw(&self) -> usize {
        (self.w + self.pl + self.pr - self.fw) / self.sw + 1
    }
    /// Rows of the column matrix: c·fh·fw.
    pub fn col_rows(&self) -> usize {
        self.c * self.fh * self.fw
    }
    /// Output pixels per image and channel: zh·zw.
    pub fn out_pixels(&self) -> usize {
        self.zh() * self.zw()
    }
    /// The course's case, which the direct kernels take as it is.
    pub fn is_unpadded_unit_stride(&self) -> bool {
        self.pt == 0 && self.pb == 0 && self.pl == 0 && self.pr == 0 && self.sh == 1 && self.sw == 1
    }
}

/// How one pass is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    /// `direct.rs` on the input as it is.
    Direct,
    /// `direct.rs` on each image zero-padded into the `cols` scratch (stride 1 only;
    /// `c·(h+pt+pb)·(w+pl+pr) <= c·fh·fw·zh·zw` then, since fh·zh >= zh + fh − 1).
    DirectOnPaddedCopy,
    /// `im2col.rs`.
    Im2col,
}

fn forward_path(s: &ConvShape) -> Path {
    if direct::forward_applies(s) {
        Path::Direct
    } else if s.sh == 1 && s.sw == 1 && direct::forward_applies(&direct::padded_image_shape(s)) {
        Path::DirectOnPaddedCopy
    } else {
        Path::Im2col
    }
}

/// The input gradient through the forward kernel (`direct::input_gradient`) where that computes no more outputs than
/// im2col's product has columns (`h` rows of the forward's blocks against `zh·zw`): 'same' padding on rows the
/// blocks fit. vggMini's 32 → 32 at 28×28: 0.79× the time of im2col + GEMM + col2im; its 32 → 64 at 14×14, whose
/// rows of 14 take 16 outputs of blocks, 1.03× (im2col kept); LeNet-5's 6 → 16 at 14×14 (valid 5×5, h·w = 1.96·zh·zw),
/// 1.35× (im2col kept). Measured on 32 images, 2026-12-02 (DEVELOPERS.md, session 19).
fn input_gradient_path(s: &ConvShape) -> Path {
    if direct::input_gradient_applies(s) && s.h * direct::forward_row_outputs(s.w) <= s.out_pixels() {
        Path::Direct
    } else {
        Path::Im2col
    }
}

/// Inputs with at least this many channels take the filter gradient through im2col + GEMM: the
/// direct kernel keeps one filter row of taps per pass, which pays off for the course's single
/// input channel, while the GEMM reuses each loaded value across 8 filters. Measured with
/// vggMini's 3×3 'same' layers (c = 32): 1.6× faster at 14×14, even at 28×28.
const FILTER_GRADIENT_IM2COL_CHANNELS: usize = 8;

/// 5×5 filters go through im2col from this many channels: the direct kernel's blocks of 2 filters × 5 taps load 7
/// vectors for 10 multiply-adds, and since im2col copies rows inline its product wins from 2 channels (LeNet-5's
/// 6 → 16 at 14×14: 0.80× the time; 2, 3, 4 channels 0.85×, 0.82×, 0.84×), while one channel (LeNet-5's first
/// layer, padded 28×28) stays direct (im2col 1.8×). 3×3 filters keep the direct kernel below 8 channels (im2col
/// 1.4–1.6× at 3 and 6 channels, 28×28). Measured on 32 images, 2026-12-02 (DEVELOPERS.md, session 19).
const FILTER_GRADIENT_IM2COL_CHANNELS_5X5: usize = 2;

fn filter_gradient_path(s: &ConvShape) -> Path {
    if s.c >= FILTER_GRADIENT_IM2COL_CHANNELS || (s.fh == 5 && s.fw == 5 && s.c >= FILTER_GRADIENT_IM2COL_CHANNELS_5X5) {
        Path::Im2col
    } else if direct::filter_gradient_applies(s) {
        Path::Direct
    } else if s.sh == 1 && s.sw == 1 && direct::filter_gradient_applies(&direct::padded_image_shape(s)) {
        Path::DirectOnPaddedCopy
    } else {
        Path::Im2col
    }
}

/// `z = b + A * F` for the whole batch; with `relu`, `max(z, 0)` instead (a
/// fused ReLU activation). `cols` is scratch of `lengths().cols` floats.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_forward(s: &ConvShape, a: &[f32], f: &[f32], b: &[f32], z: &mut [f32], relu: bool, cols: &mut [f32], ws: &mut [f32]) {
    conv2d_forward_then(s, a, f, b, z, relu, cols, ws, |_, _| {})
}

/// `conv2d_forward`, handing each image's output to `then(i, z_i)` as soon as it is written, while it is still in
/// cache. Every path computes image by image, so the floats are those of `conv2d_forward`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_forward_then(
    s: &ConvShape,
    a: &[f32],
    f: &[f32],
    b: &[f32],
    z: &mut [f32],
    relu: bool,
    cols: &mut [f32],
    ws: &mut [f32],
    mut then: impl FnMut(usize, &[f32]),
) {
    let len = s.checked_lengths();
    assert!(a.len() >= len.input && f.len() >= len.filter && b.len() >= s.m);
    assert!(z.len() >= len.output && cols.len() >= len.cols);
    let (img, out) = (s.c * s.h * s.w, s.m * s.out_pixels());
    let one = ConvShape { n: 1, ..*s };
    match forward_path(s) {
        Path::Direct => {
            let taps = direct::Taps::new(s, f);
            for i in 0..s.n {
                let zi = &mut z[i * out..(i + 1) * out];
                direct::forward_with_taps(&one, &taps, &a[i * img..(i + 1) * img], b, zi, relu);
                then(i, zi);
            }
        }
        Path::DirectOnPaddedCopy => {
            let padded = direct::padded_image_shape(s);
            let taps = direct::Taps::new(&padded, f);
            for i in 0..s.n {
                let zi = &mut z[i * out..(i + 1) * out];
                direct::pad_image(s, &a[i * img..(i + 1) * img], cols);
                direct::forward_with_taps(&padded, &taps, cols, b, zi, relu);
                then(i, zi);
            }
        }
        Path::Im2col => {
            for i in 0..s.n {
                let zi = &mut z[i * out..(i + 1) * out];
                im2col::forward(&one, &a[i * img..(i + 1) * img], f, b, zi, relu, cols, ws);
                then(i, zi);
            }
        }
    }
}

/// Whether `conv2d_forward_pooled` handles this convolution (followed by a 2×2 max pooling of stride 2): the direct
/// kernel on the input as it is or on a zero-padded copy of each image, with whole groups of 4 filters.
pub fn forward_pooled_applies(s: &ConvShape) -> bool {
    match forward_path(s) {
        Path::Direct => direct::forward_pooled_applies(s),
        Path::DirectOnPaddedCopy => direct::forward_pooled_applies(&direct::padded_image_shape(s)),
        Path::Im2col => false,
    }
}

/// The convolution with its ReLU and a 2×2 max pooling of stride 2, image by image, without z (inference): `out`
/// gets the pooled output (`n × m × ⌊zh/2⌋ × ⌊zw/2⌋`), the floats of `conv2d_forward` then the pooling (see
/// `direct::forward_pooled`). `cols` is scratch of `lengths().cols` floats (a padded image's copy).
pub fn conv2d_forward_pooled(s: &ConvShape, a: &[f32], f: &[f32], b: &[f32], out: &mut [f32], cols: &mut [f32]) {
    let len = s.checked_lengths();
    assert!(forward_pooled_applies(s) && a.len() >= len.input && f.len() >= len.filter && b.len() >= s.m && cols.len() >= len.cols);
    let (img, pooled) = (s.c * s.h * s.w, s.m * (s.zh() / 2) * (s.zw() / 2));
    assert!(out.len() >= s.n * pooled);
    let padded = forward_path(s) == Path::DirectOnPaddedCopy;
    let one = if padded { direct::padded_image_shape(s) } else { ConvShape { n: 1, ..*s } };
    let taps = direct::Taps::new(&one, f);
    for i in 0..s.n {
        let (ai, oi) = (&a[i * img..(i + 1) * img], &mut out[i * pooled..(i + 1) * pooled]);
        if padded {
            direct::pad_image(s, ai, cols);
            direct::forward_pooled(&one, &taps, cols, b, oi);
        } else {
            direct::forward_pooled(&one, &taps, ai, b, oi);
        }
    }
}

/// Gradients of the convolution given `delta` = ∂C/∂Z (`n × m × zh × zw`).
///
/// Overwrites `df` (`m × c × fh × fw`) and `db` (`m`), or adds to them with
/// `accumulate` (a batch taken in chunks); when `da` is given, overwrites it
/// with ∂C/∂A (`n × c × h × w`, the unpadded input). `cols` and `dcols` are
/// scratch of `lengths().cols` floats each.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    s: &ConvShape,
    a: &[f32],
    f: &[f32],
    delta: &[f32],
    df: &mut [f32],
    db: &mut [f32],
    da: Option<&mut [f32]>,
    cols: &mut [f32],
    dcols: &mut [f32],
    ws: &mut [f32],
    accumulate: bool,
) {
    let len = s.checked_lengths();
    assert!(a.len() >= len.input && f.len() >= len.filter && delta.len() >= len.output);
    assert!(df.len() >= len.filter && db.len() >= s.m && cols.len() >= len.cols && dcols.len() >= len.cols);
    assert!(da.as_ref().map_or(true, |da| da.len() >= len.input));
    let mut plane_sums = vec![0.0f32; s.n * s.m];
    filter_gradient_and_plane_sums(s, a, delta, df, accumulate, cols, ws, &mut plane_sums);
    if let Some(da) = da {
        input_gradient(s, f, delta, da, dcols, ws);
    }
    bias_gradient(s.m, s.n, |i, j| plane_sums[i * s.m + j], db, accumulate);
}

/// `dF` from Δ for the whole batch, through the kernel `filter_gradient_path` picks: overwrites `df`, or adds to it.
/// Every path goes image by image, adding each image's taps into `df`, so a call per image (the first one overwriting)
/// gives the same floats as one call for all of them.
pub fn filter_gradient(s: &ConvShape, a: &[f32], delta: &[f32], df: &mut [f32], accumulate: bool, cols: &mut [f32], ws: &mut [f32]) {
    let len = s.checked_lengths();
    let p = s.out_pixels();
    if wide_delta_applies(s) {
        let mut sums = vec![0.0f32; s.n * s.m];
        return filter_gradient_and_plane_sums(s, a, delta, df, accumulate, cols, ws, &mut sums);
    }
    match filter_gradient_path(s) {
        Path::Direct => direct::filter_gradient(s, a, delta, df, accumulate),
        Path::DirectOnPaddedCopy => {
            let padded = direct::padded_image_shape(s);
            let (img, out) = (s.c * s.h * s.w, s.m * p);
            if s.n == 0 && !accumulate {
                df[..len.filter].iter_mut().for_each(|x| *x = 0.0);
            }
            for i in 0..s.n {
                direct::pad_image(s, &a[i * img..(i + 1) * img], cols);
                direct::filter_gradient(&padded, cols, &delta[i * out..(i + 1) * out], df, accumulate || i > 0);
            }
        }
        Path::Im2col => im2col::filter_gradient(s, a, delta, df, accumulate, cols, ws),
    }
}

/// Whether the filter gradient of this shape runs on Δ laid out at the input's row stride
/// (`direct::filter_gradient_wide`, the course's first layer): the fused pooling backward writes Δ so, other callers
/// copy it so (`filter_gradient_and_plane_sums`), and the bias gradient takes the plane sums that kernel makes.
pub fn wide_delta_applies(s: &ConvShape) -> bool {
    filter_gradient_path(s) == Path::Direct && direct::filter_gradient_wide_applies(s)
}

/// `filter_gradient` from Δ at the input's row stride (`m` planes of `zh × w` an image, columns zw..w zero), and each
/// plane's sum into `plane_sums` (`n × m`): see `wide_delta_applies`.
pub fn filter_gradient_wide(s: &ConvShape, a: &[f32], delta_wide: &[f32], df: &mut [f32], accumulate: bool, plane_sums: &mut [f32]) {
    assert!(wide_delta_applies(s));
    direct::filter_gradient_wide(s, a, delta_wide, df, accumulate, plane_sums)
}

/// `filter_gradient` and each plane of Δ's sum (`plane_sums[i·m + j]`, as `bias_gradient` takes them), from Δ in the
/// usual layout: where `wide_delta_applies`, each image's Δ copied to the input's row stride for that kernel.
#[allow(clippy::too_many_arguments)]
pub fn filter_gradient_and_plane_sums(s: &ConvShape, a: &[f32], delta: &[f32], df: &mut [f32], accumulate: bool, cols: &mut [f32], ws: &mut [f32], plane_sums: &mut [f32]) {
    let p = s.out_pixels();
    assert!(delta.len() >= s.n * s.m * p && plane_sums.len() >= s.n * s.m);
    if !wide_delta_applies(s) {
        filter_gradient(s, a, delta, df, accumulate, cols, ws);
        for (q, sum) in plane_sums[..s.n * s.m].iter_mut().enumerate() {
            *sum = plane_sum(&delta[q * p..(q + 1) * p]);
        }
        return;
    }
    let (img, zw, w) = (s.c * s.h * s.w, s.zw(), s.w);
    let one = ConvShape { n: 1, ..*s };
    // One image of Δ at row stride w; its columns zw..w stay zero.
    let mut wide = vec![0.0f32; s.m * s.zh() * w];
    if s.n == 0 && !accumulate {
        df[..s.m * s.col_rows()].iter_mut().for_each(|x| *x = 0.0);
    }
    for i in 0..s.n {
        for (to, from) in wide.chunks_exact_mut(w).zip(delta[i * s.m * p..(i + 1) * s.m * p].chunks_exact(zw)) {
            to[..zw].copy_from_slice(from);
        }
        direct::filter_gradient_wide(&one, &a[i * img..(i + 1) * img], &wide, df, accumulate || i > 0, &mut plane_sums[i * s.m..(i + 1) * s.m]);
    }
}

/// ∂C/∂A (`n × c × h × w`, the unpadded input) from Δ, overwriting `da`.
pub fn input_gradient(s: &ConvShape, f: &[f32], delta: &[f32], da: &mut [f32], dcols: &mut [f32], ws: &mut [f32]) {
    match input_gradient_path(s) {
        Path::Direct => direct::input_gradient(s, f, delta, da, dcols),
        _ => im2col::input_gradient(s, f, delta, da, dcols, ws),
    }
}

/// `db[j] (+)= Σ_i plane_sum(i, j)`: each image's plane sum in f32, their total in f64, images in order.
pub fn bias_gradient(m: usize, n: usize, plane_sum: impl Fn(usize, usize) -> f32, db: &mut [f32], accumulate: bool) {
    for (j, out) in db[..m].iter_mut().enumerate() {
        let mut sum = 0.0f64;
        for i in 0..n {
            sum += plane_sum(i, j) as f64;
        }
        *out = if accumulate { *out + sum as f32 } else { sum as f32 };
    }
}

/// The sum of one output plane of Δ (for the shapes without a wide Δ: `filter_gradient_and_plane_sums`), in f32 over four lanes × two accumulators (the images'
/// sums then add up in f64). A single f64 chain here cost a third of the course network's
/// convolution backward: every add waited for the one before.
pub fn plane_sum(plane: &[f32]) -> f32 {
    let whole = plane.len() - plane.len() % 8;
    let (mut s0, mut s1) = (F32x4::zero(), F32x4::zero());
    let mut x = 0;
    while x < whole {
        // SAFETY: x + 8 <= whole <= plane.len().
        unsafe {
            s0 = s0.add(F32x4::load(plane.as_ptr().add(x)));
            s1 = s1.add(F32x4::load(plane.as_ptr().add(x + 4)));
        }
        x += 8;
    }
    plane[whole..].iter().fold(s0.add(s1).sum_lanes(), |t, &v| t + v)
}

#[cfg(test)]
mod tests;

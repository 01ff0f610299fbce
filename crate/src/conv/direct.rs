//! Direct (no im2col) convolution kernels for the shapes CNNs mostly use:
//! the forward pass vectorised along each output row, and the filter
//! gradient for small filters with one register accumulator per tap.
//! They take no padding and stride 1; `mod.rs` chooses them when they apply
//! (a padded stride-1 shape goes through them on a zero-padded copy of each
//! image, see `pad_image`) and falls back to im2col + GEMM otherwise.
//! Same mathematics as `im2col.rs`: the true convolution of exercise 1.

use super::ConvShape;
use crate::simd::{load_partial, F32x4};

/// Whether `forward` handles this shape (an output row of at least one vector).
pub fn forward_applies(s: &ConvShape) -> bool {
    s.is_unpadded_unit_stride() && s.zw() >= 4
}

/// `z = b + A * F` (valid true convolution) for the whole batch.
///
/// Register blocks of 4 filters × 8 (or 4) outputs of a row; the last block
/// of a row is shifted left to end at the row's end, recomputing a few
/// outputs rather than handling a remainder (see `row_blocks`).
///
/// With `relu`, writes `max(z, 0)` instead of z: a ReLU layer gets its
/// activation while the block is still in registers, and needs no copy of z
/// (its derivative only asks whether z > 0, which max(z, 0) > 0 answers).
///
/// The filters come regrouped (`Taps::new(s, f)`): one regrouping serves many calls.
pub fn forward_with_taps(s: &ConvShape, taps: &Taps, a: &[f32], b: &[f32], z: &mut [f32], relu: bool) {
    assert!(forward_applies(s));
    let p = s.out_pixels();
    let img = s.c * s.h * s.w;
    assert!(a.len() >= s.n * img && b.len() >= s.m && z.len() >= s.n * s.m * p);
    for i in 0..s.n {
        let ai = &a[i * img..(i + 1) * img];
        let zi = &mut z[i * s.m * p..(i + 1) * s.m * p];
        // The tap loop stays a loop: unrolled, LLVM hoists every tap's loads ahead of the
        // arithmetic and V8 then spills them (measured: ~30 % slower).
        if relu {
            filter_blocks::<true>(s, taps, ai, b, zi);
        } else {
            filter_blocks::<false>(s, taps, ai, b, zi);
        }
    }
}

/// The taps of a forward pass in the order its inner loop walks them, so that the loop is one counter:
/// each tap's input offset from a block's top-left input, and the filters' weights regrouped so that a
/// group of 4 filters finds its 4 weights of a tap side by side (zero past the last filter).
pub struct Taps {
    /// `k·h·w + u·w + v` for every channel k and input offset (u, v).
    input_offsets: Vec<usize>,
    /// `[group][tap][4]`: filter 4·group + jj's weight at the tap paired with that input offset.
    weights: Vec<f32>,
}

impl Taps {
    pub fn new(s: &ConvShape, f: &[f32]) -> Taps {
        let (fh, fw, taps) = (s.fh, s.fw, s.col_rows());
        assert!(f.len() >= s.m * taps);
        let mut input_offsets = Vec::with_capacity(taps);
        for k in 0..s.c {
            for u in 0..fh {
                for v in 0..fw {
                    input_offsets.push(k * s.h * s.w + u * s.w + v);
                }
            }
        }
        let groups = (s.m + 3) / 4;
        let mut weights = vec![0.0; groups * taps * 4];
        for j in 0..s.m {
            for k in 0..s.c {
                for u in 0..fh {
                    for v in 0..fw {
                        // The true convolution pairs input offset (u, v) with filter tap (fh−1−u, fw−1−v).
                        let t = (k * fh + u) * fw + v;
                        weights[((j / 4) * taps + t) * 4 + j % 4] = f[j * taps + k * fh * fw + (fh - 1 - u) * fw + (fw - 1 - v)];
                    }
                }
            }
        }
        Taps { input_offsets, weights }
    }
}

/// All blocks of one image.
fn filter_blocks<const RELU: bool>(s: &ConvShape, taps: &Taps, ai: &[f32], b: &[f32], zi: &mut [f32]) {
    let mut j0 = 0;
    while j0 < s.m {
        match s.m - j0 {
            1 => row_blocks::<1, RELU>(s, taps, ai, b, j0, zi),
            2 => row_blocks::<2, RELU>(s, taps, ai, b, j0, zi),
            3 => row_blocks::<3, RELU>(s, taps, ai, b, j0, zi),
            _ => row_blocks::<4, RELU>(s, taps, ai, b, j0, zi),
        }
        j0 += 4;
    }
}

#[inline(always)]
fn row_blocks<const JB: usize, const RELU: bool>(s: &ConvShape, taps: &Taps, ai: &[f32], b: &[f32], j0: usize, zi: &mut [f32]) {
    let (zh, zw) = (s.zh(), s.zw());
    // Blocks of 8 outputs, the last one shifted left to end at the row's end, unless at most 4 outputs would be left
    // for it: those get one vector ending there (the course's 26 = 3·8 + 2 computes 28 outputs a row, not 32). Rows
    // narrower than 8 take vectors only. One call site per block width keeps the wasm small.
    let eights = if zw < 8 || (zw % 8 != 0 && zw % 8 <= 4) { zw / 8 } else { (zw + 7) / 8 };
    // A row whose 8-blocks leave it one vector to go: the vectors of two rows make one block (two rows of 4 outputs
    // in the 8 accumulators), which a one-vector block's taps would leave half used. The course's 26-wide rows: 13
    // such blocks an image instead of 26. Only for whole groups of 4 filters: the wasm keeps one such block per ReLU
    // choice (the last group of a layer with m % 4 != 0 takes the one-vector blocks).
    let one_tail = JB == 4 && zw >= 8 && zw % 8 != 0 && zw % 8 <= 4;
    for y in 0..zh {
        for q in 0..eights {
            block::<JB, 2, false, RELU>(s, taps, ai, b, j0, y, (8 * q).min(zw - 8), zi);
        }
        if one_tail {
            continue;
        }
        let mut x = 8 * eights;
        while x < zw {
            block::<JB, 1, false, RELU>(s, taps, ai, b, j0, y, x.min(zw - 4), zi);
            x += 4;
        }
    }
    if one_tail {
        let mut y = 0;
        while y + 2 <= zh {
            block::<JB, 2, true, RELU>(s, taps, ai, b, j0, y, zw - 4, zi);
            y += 2;
        }
        if y < zh {
            block::<JB, 1, false, RELU>(s, taps, ai, b, j0, y, zw - 4, zi);
        }
    }
}

/// Outputs `z[j0..j0+JB, y, x0..x0+4·NV]` of one image; with `STACKED`, its NV vectors are rows y … y+NV−1 of
/// outputs x0..x0+4 instead (each output's taps and sums are the same either way).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block<const JB: usize, const NV: usize, const STACKED: bool, const RELU: bool>(
    s: &ConvShape,
    taps: &Taps,
    ai: &[f32],
    b: &[f32],
    j0: usize,
    y: usize,
    x0: usize,
    zi: &mut [f32],
) {
    let (zw, p) = (s.zw(), s.out_pixels());
    let acc = block_sums::<JB, NV, STACKED>(s, taps, ai, b, j0, y, x0);
    let out_step = if STACKED { zw } else { 4 };
    assert!(zi.len() >= s.m * p);
    for (jj, row) in acc.iter().enumerate() {
        let at = (j0 + jj) * p + y * zw + x0;
        let out = &mut zi[at..at + (NV - 1) * out_step + 4];
        for (q, v) in row.iter().enumerate() {
            let v = if RELU { v.relu() } else { *v };
            // SAFETY: `out` holds (NV−1)·out_step + 4 floats.
            unsafe { v.store(out.as_mut_ptr().add(q * out_step)) };
        }
    }
}

/// The sums (bias included) of a block's outputs, `[filter][vector]`: see `block`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block_sums<const JB: usize, const NV: usize, const STACKED: bool>(
    s: &ConvShape,
    taps: &Taps,
    ai: &[f32],
    b: &[f32],
    j0: usize,
    y: usize,
    x0: usize,
) -> [[F32x4; NV]; JB] {
    let count = s.col_rows();
    // Where vector q's inputs start, from the block's first: along the row, or a row down.
    let in_step = if STACKED { s.w } else { 4 };
    let (rows, width) = if STACKED { (NV, 4) } else { (1, 4 * NV) };
    // Every read below stays inside `ai` and `taps.weights`
    // (with no padding and stride 1, which `forward` asserts, zh = h−fh+1 and zw = w−fw+1):
    // rows y+q+u < zh+fh−1 = h; columns x0+v+width−1 < x0+width+fw−1 <= zw+fw−1 = w; filters j0+jj < m;
    // an input offset is at most (c−1)·h·w + (fh−1)·w + fw−1.
    assert!(x0 + width <= s.zw() && y + rows <= s.zh() && j0 + JB <= s.m && j0 % 4 == 0);
    assert!(ai.len() >= s.c * s.h * s.w && b.len() >= j0 + JB);
    assert!(taps.input_offsets.len() == count && taps.weights.len() >= (j0 / 4 + 1) * count * 4);
    let mut acc = [[F32x4::zero(); NV]; JB];
    for (jj, row) in acc.iter_mut().enumerate() {
        *row = [F32x4::splat(b[j0 + jj]); NV];
    }
    // SAFETY: row y, column x0 of channel 0 (see the comment on bounds).
    let corner = unsafe { ai.as_ptr().add(y * s.w + x0) };
    let group = &taps.weights[(j0 / 4) * count * 4..(j0 / 4 + 1) * count * 4];
    for (t, &offset) in taps.input_offsets.iter().enumerate() {
        let mut ins = [F32x4::zero(); NV];
        for (q, x) in ins.iter_mut().enumerate() {
            // SAFETY: the input offset's row (+q) and columns x0+v .. x0+v+3 (+4q) < w (see the comment on bounds).
            *x = unsafe { F32x4::load(corner.add(offset + q * in_step)) };
        }
        for (jj, accs) in acc.iter_mut().enumerate() {
            // SAFETY: t < count, jj < 4: inside this group's weights.
            let w = F32x4::splat(unsafe { *group.as_ptr().add(t * 4 + jj) });
            for (q, x) in accs.iter_mut().enumerate() {
                *x = w.mul_add(ins[q], *x);
            }
        }
    }
    acc
}

/// Whether `forward_pooled` handles this shape: `forward`'s, with whole groups of 4 filters (one instance of its
/// register block, which keeps the wasm small), at least one 2×2 window and rows of at least two.
pub fn forward_pooled_applies(s: &ConvShape) -> bool {
    forward_applies(s) && s.m % 4 == 0 && s.zh() >= 2 && s.zw() >= 4
}

/// The convolution with its ReLU and the 2×2 max pooling of stride 2 after it, for one image, when nothing needs z
/// (inference): `out` (`m × ⌊zh/2⌋ × ⌊zw/2⌋`) gets each window's maximum of `max(z, 0)`, and z is never stored
/// (the course's, 86 kB an image, cost the forward pass its stores and a pooling pass over them). Rows and columns
/// no window reaches are not computed.
///
/// Blocks of 4 filters × 2 rows × 4 outputs (`block`'s stacked ones), pooled in registers: each window's maximum is
/// taken over max(z, 0), where no lane is NaN or −0, so it is the float the separate pooling computes in whatever
/// order. Blocks start at columns 0, 4, 8, …; the last one ends at column 2·⌊zw/2⌋ (recomputing a pair of windows
/// where that is not a multiple of 4).
pub fn forward_pooled(s: &ConvShape, taps: &Taps, ai: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(forward_pooled_applies(s) && s.n == 1);
    let (oh, ow) = (s.zh() / 2, s.zw() / 2);
    let plane = oh * ow;
    assert!(out.len() >= s.m * plane && ow >= 2);
    for j0 in (0..s.m).step_by(4) {
        for oy in 0..oh {
            let mut x0 = 0;
            while x0 < 2 * ow {
                let x = x0.min(2 * ow - 4);
                let acc = block_sums::<4, 2, true>(s, taps, ai, b, j0, 2 * oy, x);
                for (jj, rows) in acc.iter().enumerate() {
                    let (top, bottom) = (rows[0].relu(), rows[1].relu());
                    // Each row's pairs, then the two rows: lanes 0 and 1 hold windows x/2 and x/2 + 1.
                    let (even, odd) = F32x4::deinterleave(top, bottom);
                    let row_max = even.max(odd);
                    let best = row_max.max(row_max.swap_halves());
                    let at = (j0 + jj) * plane + oy * ow + x / 2;
                    assert!(at + 2 <= out.len());
                    // SAFETY: at + 2 <= out.len().
                    unsafe { best.store_low2(out.as_mut_ptr().add(at)) };
                }
                x0 += 4;
            }
        }
    }
}

/// Whether `filter_gradient` handles this shape.
pub fn filter_gradient_applies(s: &ConvShape) -> bool {
    s.is_unpadded_unit_stride() && s.zw() >= 4 && matches!((s.fh, s.fw), (1, 1) | (2, 2) | (3, 3) | (5, 5))
}

/// Whether an input row is exactly a row of Δ's vectors, `w = 4·⌈zw/4⌉` (the course's 28 = 4·⌈26/4⌉): Δ laid out at
/// the input's row stride (zero columns zw..w) is then read in whole vectors, one flat loop a plane
/// (`filter_gradient_wide`).
pub fn rows_fill_vectors(s: &ConvShape) -> bool {
    s.w % 4 == 0 && s.w == 4 * ((s.zw() + 3) / 4)
}

/// Whether `filter_gradient_wide` handles this shape: 3×3 filters whose input rows fill whole vectors of Δ.
pub fn filter_gradient_wide_applies(s: &ConvShape) -> bool {
    filter_gradient_applies(s) && s.fh == 3 && s.fw == 3 && rows_fill_vectors(s)
}

/// `filter_gradient` from Δ laid out at the input's row stride (`m` planes of `zh × w`, columns zw..w zero, as the
/// fused pooling backward writes it), each (channel, filter row, filter pair) pass one flat loop over the plane
/// instead of a loop per row with a partial last vector; and each plane's sum (image i, filter j at
/// `plane_sums[i·m + j]`), taken as the first pass loads Δ. The backward pass of the course's first layer 1.11×
/// faster with both (DEVELOPERS.md, session 22). Its lanes sum in another order than `filter_gradient`'s, so every
/// caller of a shape `conv::wide_delta_applies` to (this kernel's shapes that `conv::filter_gradient_path` gives the
/// direct kernel) goes through it, and no other.
pub fn filter_gradient_wide(s: &ConvShape, a: &[f32], delta_wide: &[f32], df: &mut [f32], accumulate: bool, plane_sums: &mut [f32]) {
    assert!(filter_gradient_wide_applies(s));
    let (img, wide) = (s.c * s.h * s.w, s.m * s.zh() * s.w);
    assert!(a.len() >= s.n * img && delta_wide.len() >= s.n * wide && df.len() >= s.m * s.col_rows() && plane_sums.len() >= s.n * s.m);
    if !accumulate {
        df[..s.m * s.col_rows()].iter_mut().for_each(|x| *x = 0.0);
    }
    for i in 0..s.n {
        let (ai, di) = (&a[i * img..(i + 1) * img], &delta_wide[i * wide..(i + 1) * wide]);
        let mut j0 = 0;
        while j0 < s.m {
            filter_block_wide(s, ai, di, j0, df, &mut plane_sums[i * s.m..(i + 1) * s.m]);
            j0 += 2;
        }
    }
}

/// Four inputs from `plane` at `at`, those past its end read as +0.0: the last vector of a plane's last row, whose
/// taps right of the first reach past it (onto the lanes of Δ's zero columns).
#[inline(always)]
fn inputs_at(plane: &[f32], at: usize) -> F32x4 {
    if at + 4 <= plane.len() {
        // SAFETY: at + 4 <= plane.len().
        unsafe { F32x4::load(plane.as_ptr().add(at)) }
    } else {
        load_partial(&plane[at.min(plane.len())..])
    }
}

/// Filters j0 and j0 + 1 (or j0 alone, the last of an odd count) of one image from wide Δ (see
/// `filter_gradient_wide`): added into `df` in `filter_block`'s order (each lane's products in another), and the planes' sums into `plane_sums[j0..]` (taken
/// in the first pass, which loads every vector of them once).
#[inline(always)]
fn filter_block_wide(s: &ConvShape, ai: &[f32], di: &[f32], j0: usize, df: &mut [f32], plane_sums: &mut [f32]) {
    let (zh, w) = (s.zh(), s.w);
    let (plane, wide) = (s.h * w, zh * w);
    // A last filter of an odd count goes through the pair's code with its plane twice (one instance of the loop
    // keeps the wasm small); the copy's sums are dropped.
    let count = (s.m - j0).min(2);
    let j1 = j0 + count - 1;
    // Every read below but the last vector's taps stays inside channel k's plane of `ai` (rows y+su < h; at flat
    // position p <= zh·w − 8 of Δ, every vector before the last, p + su·w + sv + 4 <= zh·w − 8 + 2·w + 2 + 4 < h·w)
    // and inside planes j0 and j1 of `di`; the last vector's taps (p = zh·w − 4) go through `inputs_at`, which reads
    // past the plane as +0.0. For su < 2 those taps read the next row's first two inputs (times Δ's zero columns).
    assert!(j1 < s.m && ai.len() >= s.c * plane && di.len() >= s.m * wide && wide >= 4 && wide % 4 == 0 && plane_sums.len() >= s.m);
    let planes = [&di[j0 * wide..(j0 + 1) * wide], &di[j1 * wide..(j1 + 1) * wide]];
    for k in 0..s.c {
        let aplane = &ai[k * plane..(k + 1) * plane];
        for su in 0..3 {
            let arow = &aplane[su * w..];
            // The first pass loads every vector of the planes once: it sums them too (its own instance, so that the
            // other passes keep their registers).
            let acc = if k == 0 && su == 0 {
                let (acc, sums) = wide_pass::<true>(arow, planes, wide);
                for (jj, v) in sums.iter().take(count).enumerate() {
                    plane_sums[j0 + jj] = v.sum_lanes();
                }
                acc
            } else {
                wide_pass::<false>(arow, planes, wide).0
            };
            for (jj, accs) in acc.iter().take(count).enumerate() {
                let out = &mut df[(j0 + jj) * s.c * 9 + k * 9..(j0 + jj) * s.c * 9 + (k + 1) * 9];
                for (sv, v) in accs.iter().enumerate() {
                    out[(2 - su) * 3 + (2 - sv)] += v.sum_lanes();
                }
            }
        }
    }
}

/// One pass of `filter_block_wide`: for each of the two planes (each `wide` long), the sums of Δ times the inputs
/// `arow[p + sv]` (sv < 3) over its flat positions p, and with `SUM` the plane's own sum.
#[inline(always)]
fn wide_pass<const SUM: bool>(arow: &[f32], planes: [&[f32]; 2], wide: usize) -> ([[F32x4; 3]; 2], [F32x4; 2]) {
    assert!(planes.iter().all(|d| d.len() >= wide) && wide >= 4 && wide % 4 == 0 && arow.len() + 2 >= wide);
    let last = wide - 4;
    let mut acc = [[F32x4::zero(); 3]; 2];
    let mut sums = [F32x4::zero(); 2];
    let mut step = |p: usize, av: [F32x4; 3]| {
        for (jj, accs) in acc.iter_mut().enumerate() {
            // SAFETY: p + 4 <= wide <= planes[jj].len().
            let d = unsafe { F32x4::load(planes[jj].as_ptr().add(p)) };
            if SUM {
                sums[jj] = sums[jj].add(d);
            }
            for (sv, a) in av.iter().enumerate() {
                accs[sv] = d.mul_add(*a, accs[sv]);
            }
        }
    };
    let mut p = 0;
    while p < last {
        // SAFETY: p + 2 + 4 <= arow.len() for p < last (see `filter_block_wide` on bounds).
        let av = unsafe { [0, 1, 2].map(|sv| F32x4::load(arow.as_ptr().add(p + sv))) };
        step(p, av);
        p += 4;
    }
    step(last, [0, 1, 2].map(|sv| inputs_at(arow, last + sv)));
    (acc, sums)
}

/// `dF = ∂C/∂F` from `delta` = ∂C/∂Z, overwriting `df` (`m × c × fh × fw`) or adding to it.
pub fn filter_gradient(s: &ConvShape, a: &[f32], delta: &[f32], df: &mut [f32], accumulate: bool) {
    assert!(filter_gradient_applies(s));
    if !accumulate {
        df[..s.m * s.col_rows()].iter_mut().for_each(|x| *x = 0.0);
    }
    match (s.fh, s.fw) {
        (1, 1) => filter_gradient_taps::<1, 1>(s, a, delta, df),
        (2, 2) => filter_gradient_taps::<2, 2>(s, a, delta, df),
        (3, 3) => filter_gradient_taps::<3, 3>(s, a, delta, df),
        (5, 5) => filter_gradient_taps::<5, 5>(s, a, delta, df),
        _ => panic!("filter_gradient: unsupported filter size"),
    }
}

/// dF[j,k,fh−1−su,fw−1−sv] += Σ_i Σ_{y,x} Δ[i,j,y,x] · A[i,k,y+su,x+sv].
///
/// Register blocks of 2 filters × FW taps of one filter row su (3 filters for
/// FW ≤ 2): each vector of A (four outputs' inputs at tap (su, sv)) is loaded
/// once for the block's filters, each vector of Δ once for FW taps — 6
/// multiply-adds per 5 loads for 3×3, 10 per 7 for 5×5 in 13 registers
/// (V8 has 15). Lanes accumulate along x; a row's last, partial
/// vector is the one ending at the row's end with its already-counted lanes
/// masked off, so every output is counted once and no scalar tail remains.
fn filter_gradient_taps<const FH: usize, const FW: usize>(s: &ConvShape, a: &[f32], delta: &[f32], df: &mut [f32]) {
    assert!(s.fh == FH && s.fw == FW && s.zw() >= 4 && s.is_unpadded_unit_stride());
    let p = s.out_pixels();
    let img = s.c * s.h * s.w;
    assert!(a.len() >= s.n * img && delta.len() >= s.n * s.m * p && df.len() >= s.m * s.col_rows());
    for i in 0..s.n {
        let ai = &a[i * img..(i + 1) * img];
        let di = &delta[i * s.m * p..(i + 1) * s.m * p];
        // Filters a block takes: 3 × FW accumulators for FW ≤ 2, else 2 × FW. 3 × 3 fits V8's 15 registers only
        // if the 3 vectors of Δ and the 3 of A are not all live at once, but LLVM hoists the loads and V8 then
        // spills an accumulator every step (measured on the course's shape: 2 × 3 is 1.3× faster). FW is a
        // constant, so the other arm is not compiled in.
        let mut j0 = 0;
        while j0 < s.m {
            let jb = if FW >= 3 {
                let jb = (s.m - j0).min(2);
                if jb == 1 {
                    filter_block::<1, FH, FW>(s, ai, di, j0, df);
                } else {
                    filter_block::<2, FH, FW>(s, ai, di, j0, df);
                }
                jb
            } else {
                let jb = (s.m - j0).min(3);
                match jb {
                    1 => filter_block::<1, FH, FW>(s, ai, di, j0, df),
                    2 => filter_block::<2, FH, FW>(s, ai, di, j0, df),
                    _ => filter_block::<3, FH, FW>(s, ai, di, j0, df),
                }
                jb
            };
            j0 += jb;
        }
    }
}

/// Filters `j0..j0+JB` of one image: adds their taps' sums into `df`.
#[inline(always)]
fn filter_block<const JB: usize, const FH: usize, const FW: usize>(s: &ConvShape, ai: &[f32], di: &[f32], j0: usize, df: &mut [f32]) {
    let (zh, zw, p) = (s.zh(), s.zw(), s.out_pixels());
    // Every read below stays inside `ai` (c planes of h×w) and `di` (m planes of zh×zw):
    // rows y+su < zh+FH−1 = h; columns x+sv+3 <= zw−4+FW−1+3 = w−1; filters j0+jj < m.
    assert!(j0 + JB <= s.m && zw >= 4 && ai.len() >= s.c * s.h * s.w && di.len() >= s.m * p);
    let whole = zw / 4;
    // The last vector starts at zw−4 and repeats the 4·whole − (zw−4) lanes before it.
    let tail = zw % 4 != 0;
    let tail_mask = F32x4::mask_from_lane(4 - zw % 4);
    let plane = s.h * s.w;
    for k in 0..s.c {
        // SAFETY: channel k < c of `ai`.
        let aplane = unsafe { ai.as_ptr().add(k * plane) };
        for su in 0..FH {
            let mut acc = [[F32x4::zero(); FW]; JB];
            for y in 0..zh {
                // SAFETY: row y+su < h of channel k; row y of planes j0..j0+JB < m (see the bounds above).
                let (arow, drow) = unsafe { (aplane.add((y + su) * s.w), di.as_ptr().add(j0 * p + y * zw)) };
                let mut step = |x: usize, masked: bool| {
                    let mut d = [F32x4::zero(); JB];
                    for (jj, dv) in d.iter_mut().enumerate() {
                        // SAFETY: x + 4 <= zw: four outputs of row y of plane j0+jj.
                        let v = unsafe { F32x4::load(drow.add(jj * p + x)) };
                        *dv = if masked { v.and(tail_mask) } else { v };
                    }
                    for sv in 0..FW {
                        // SAFETY: x + sv + 4 <= zw + FW − 1 = w: four inputs of row y+su.
                        let av = unsafe { F32x4::load(arow.add(x + sv)) };
                        for (jj, accs) in acc.iter_mut().enumerate() {
                            accs[sv] = d[jj].mul_add(av, accs[sv]);
                        }
                    }
                };
                for q in 0..whole {
                    step(4 * q, false);
                }
                if tail {
                    step(zw - 4, true);
                }
            }
            for (jj, accs) in acc.iter().enumerate() {
                let out = &mut df[((j0 + jj) * s.c + k) * FH * FW..((j0 + jj) * s.c + k + 1) * FH * FW];
                for (sv, v) in accs.iter().enumerate() {
                    out[(FH - 1 - su) * FW + (FW - 1 - sv)] += v.sum_lanes();
                }
            }
        }
    }
}

/// Outputs the forward kernel computes for a row of `zw` (see `row_blocks`): `zw`, or more where the row's last block
/// is shifted back over outputs already computed (14 → 16, 10 → 12, 7 → 8).
pub fn forward_row_outputs(zw: usize) -> usize {
    let short_tail = zw >= 8 && zw % 8 != 0 && zw % 8 <= 4;
    let eights = if zw < 8 || short_tail { zw / 8 } else { (zw + 7) / 8 };
    8 * eights + 4 * ((zw - (8 * eights).min(zw) + 3) / 4)
}

/// Whether `input_gradient` handles this shape: stride 1, padding narrower than the filter on every side, and input
/// rows of at least one vector.
pub fn input_gradient_applies(s: &ConvShape) -> bool {
    s.sh == 1 && s.sw == 1 && s.pt < s.fh && s.pb < s.fh && s.pl < s.fw && s.pr < s.fw && s.w >= 4
}

/// ∂C/∂A (`n × c × h × w`, the unpadded input) from Δ, overwriting `da`: with stride 1 it is a valid convolution of
/// each image's Δ, zero-padded by `fh−1−pt` rows above, `fh−1−pb` below and likewise left and right, with the filters
/// turned around — `G[k,j,u,v] = F[j,k,fh−1−u,fw−1−v]`, channels and filters swapped — so the forward kernel's
/// register blocks compute it, with no column matrix to fill and add back:
/// `dA[k,y,x] = Σ_j Σ_{u,v} Δp[j,y+u,x+v] · F[j,k,u,v]`.
///
/// It multiplies every tap of every input position, padding included, where im2col's product skips the taps that
/// fall outside the output: `h·w / (zh·zw)` times the arithmetic (1 for 'same' padding, 1.96 for LeNet-5's second
/// convolution), which `mod.rs` weighs when it picks a path.
///
/// `scratch` holds each padded Δ when it is long enough (the caller's im2col scratch, `c·fh·fw·zh·zw` floats, is for
/// the usual shapes); otherwise a buffer is allocated for the call.
pub fn input_gradient(s: &ConvShape, f: &[f32], delta: &[f32], da: &mut [f32], scratch: &mut [f32]) {
    assert!(input_gradient_applies(s));
    let (zh, zw, img, out) = (s.zh(), s.zw(), s.c * s.h * s.w, s.m * s.out_pixels());
    assert!(f.len() >= s.m * s.col_rows() && delta.len() >= s.n * out && da.len() >= s.n * img);
    // Each image's Δ (m planes of zh × zw) padded; the forward convolution over it (m channels, c filters) is h × w.
    let padding = ConvShape { n: 1, c: s.m, h: zh, w: zw, m: s.c, pt: s.fh - 1 - s.pt, pb: s.fh - 1 - s.pb, pl: s.fw - 1 - s.pl, pr: s.fw - 1 - s.pr, ..*s };
    let turned_shape = padded_image_shape(&padding);
    debug_assert!(turned_shape.zh() == s.h && turned_shape.zw() == s.w);
    let (fh, fw, taps) = (s.fh, s.fw, s.fh * s.fw);
    let mut turned = vec![0.0f32; s.c * s.m * taps];
    for k in 0..s.c {
        for j in 0..s.m {
            for u in 0..fh {
                for v in 0..fw {
                    turned[((k * s.m + j) * fh + u) * fw + v] = f[((j * s.c + k) * fh + fh - 1 - u) * fw + fw - 1 - v];
                }
            }
        }
    }
    let taps = Taps::new(&turned_shape, &turned);
    let zeros = vec![0.0f32; s.c];
    let padded_len = s.m * turned_shape.h * turned_shape.w;
    let mut own = Vec::new();
    let padded = if scratch.len() >= padded_len {
        &mut scratch[..padded_len]
    } else {
        own.resize(padded_len, 0.0f32);
        &mut own[..]
    };
    for i in 0..s.n {
        pad_image(&padding, &delta[i * out..(i + 1) * out], padded);
        forward_with_taps(&turned_shape, &taps, padded, &zeros, &mut da[i * img..(i + 1) * img], false);
    }
}

/// The shape of one image zero-padded as `s` says, with the same filters and
/// stride 1: the direct kernels' view of a padded stride-1 convolution.
pub fn padded_image_shape(s: &ConvShape) -> ConvShape {
    assert!(s.sh == 1 && s.sw == 1);
    ConvShape { n: 1, h: s.h + s.pt + s.pb, w: s.w + s.pl + s.pr, pt: 0, pb: 0, pl: 0, pr: 0, ..*s }
}

/// Copies one image `a` (`c × h × w`) into `dst` (`c × (pt+h+pb) × (pl+w+pr)`), zeros around it.
pub fn pad_image(s: &ConvShape, a: &[f32], dst: &mut [f32]) {
    let (hp, wp) = (s.h + s.pt + s.pb, s.w + s.pl + s.pr);
    let dst = &mut dst[..s.c * hp * wp];
    dst.fill(0.0);
    for k in 0..s.c {
        for y in 0..s.h {
            let at = (k * hp + s.pt + y) * wp + s.pl;
            crate::mem::copy_short(&mut dst[at..at + s.w], &a[(k * s.h + y) * s.w..(k * s.h + y + 1) * s.w]);
        }
    }
}

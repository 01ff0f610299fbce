//! A convolution and the max pooling after it, image by image, both ways.
//! Forward, the pooling reads an image's output while it is still in cache
//! (and for inference the course's pair pools in registers, without z);
//! backward, one image's ∂C/∂z is scattered by the pooling and taken up by the
//! filter gradient likewise, instead of a whole shard's (5 MB for 63 of the
//! course's images) streaming through memory between two kernels (backward:
//! 1.2× on the course's pair, measured against the two kernels). Each image
//! gets the same arithmetic as in the separate kernels, which go image by image
//! too, so the results are the same floats.

use crate::conv::{self, ConvShape};
use crate::pool::{self, PoolShape};

/// Checks that `p` pools the output of `c`, and returns one-image shapes of both.
fn one_image(c: &ConvShape, p: &PoolShape) -> (ConvShape, PoolShape) {
    assert!(p.n == c.n && p.c == c.m && p.h == c.zh() && p.w == c.zw(), "conv_pool: the pooling's input is not the convolution's output");
    (ConvShape { n: 1, ..*c }, PoolShape { n: 1, ..*p })
}

/// The forward pass of the convolution (`relu`: with its fused ReLU) into `z`, and of the max pooling over `z` into
/// `out`, image by image. Without `keep_z` (inference) the course's pair — a ReLU convolution that the direct kernel
/// computes in whole groups of 4 filters, then a 2×2 pooling of stride 2 — pools in registers and never writes z
/// (`conv::conv2d_forward_pooled`; 1.1–1.2× faster on the course's shape): `out` gets the same floats.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    c: &ConvShape,
    p: &PoolShape,
    a: &[f32],
    f: &[f32],
    b: &[f32],
    z: &mut [f32],
    out: &mut [f32],
    relu: bool,
    keep_z: bool,
    cols: &mut [f32],
    ws: &mut [f32],
) {
    let (_, p1) = one_image(c, p);
    let olen = p1.output_len();
    assert!(out.len() >= c.n * olen);
    if !keep_z && relu && p.is_2x2_tiling() && conv::forward_pooled_applies(c) {
        return conv::conv2d_forward_pooled(c, a, f, b, out, cols);
    }
    conv::conv2d_forward_then(c, a, f, b, z, relu, cols, ws, |i, zi| pool::maxpool_forward(&p1, zi, &mut out[i * olen..(i + 1) * olen]));
}

/// The backward pass of max pooling, of the ReLU (`relu_gate`: `z` holds max(z, 0)) and of the convolution's
/// parameters: `dz` (scratch of the convolution's output size) gets ∂C/∂z image by image, `df` and `db` are
/// overwritten (or added to), and `da`, when given, gets ∂C/∂A for the whole batch.
///
/// Without `da` (a first layer), every image's ∂C/∂z goes to the first image's place in `dz` (which then needs only
/// one image's length): the filter gradient and the bias sums use it up before the next image's, and one image's
/// (86 kB for the course's) stays in cache where a whole shard's (2.8 MB for 32 images) streamed through it,
/// evicting what the dense layer reads next. For the course's shape it is laid out at the input's row stride
/// there (`writes_wide_delta`), as the filter gradient reads it best.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    c: &ConvShape,
    p: &PoolShape,
    a: &[f32],
    f: &[f32],
    z: &[f32],
    out: &[f32],
    pooled_delta: &[f32],
    strict: bool,
    relu_gate: bool,
    dz: &mut [f32],
    df: &mut [f32],
    db: &mut [f32],
    da: Option<&mut [f32]>,
    cols: &mut [f32],
    dcols: &mut [f32],
    ws: &mut [f32],
    accumulate: bool,
) {
    let (c1, p1) = one_image(c, p);
    let (img, zlen, olen) = (c.c * c.h * c.w, c.m * c.out_pixels(), p1.output_len());
    assert!(a.len() >= c.n * img && z.len() >= c.n * zlen && out.len() >= c.n * olen);
    let whole_batch = da.is_some();
    assert!(dz.len() >= if whole_batch { c.n } else { c.n.min(1) } * zlen && pooled_delta.len() >= c.n * olen);
    let mut plane_sums = vec![0.0f32; c.n * c.m];
    if c.n == 0 {
        conv::filter_gradient(c, a, dz, df, accumulate, cols, ws);
    }
    let wide = !whole_batch && writes_wide_delta(c, p, dz.len());
    let stride = if wide { c.w } else { c.zw() };
    let slot_len = c.m * c.zh() * stride;
    if wide {
        // The columns past zw stay zero: the pooling writes only columns below zw.
        for row in dz[..slot_len].chunks_exact_mut(c.w) {
            row[c.zw()..].iter_mut().for_each(|x| *x = 0.0);
        }
    }
    for i in 0..c.n {
        let slot = if whole_batch { i } else { 0 };
        let dzi = &mut dz[slot * slot_len..(slot + 1) * slot_len];
        let (zi, outi) = (&z[i * zlen..(i + 1) * zlen], &out[i * olen..(i + 1) * olen]);
        pool::maxpool_backward_gated_strided(&p1, zi, outi, &pooled_delta[i * olen..(i + 1) * olen], strict, relu_gate, dzi, stride);
        let ai = &a[i * img..(i + 1) * img];
        let sums = &mut plane_sums[i * c.m..(i + 1) * c.m];
        if wide {
            conv::filter_gradient_wide(&c1, ai, dzi, df, accumulate || i > 0, sums);
        } else {
            conv::filter_gradient_and_plane_sums(&c1, ai, dzi, df, accumulate || i > 0, cols, ws, sums);
        }
    }
    conv::bias_gradient(c.m, c.n, |i, j| plane_sums[i * c.m + j], db, accumulate);
    if let Some(da) = da {
        conv::input_gradient(c, f, dz, da, dcols, ws);
    }
}

/// Whether `backward` without ∂C/∂A writes each image's ∂C/∂z at the input's row stride: a 2×2 pooling of stride 2
/// that covers every output, a filter gradient that reads that layout (`conv::wide_delta_applies`), and room for one
/// image of it in `dz` (the course's: 32 planes of 26 × 28, for any shard of 2 images or more). The pooling then
/// writes it so and the filter gradient runs one flat loop a plane, for the floats of the usual layout.
fn writes_wide_delta(c: &ConvShape, p: &PoolShape, dz_len: usize) -> bool {
    p.is_2x2_tiling() && c.zh() % 2 == 0 && c.zw() % 2 == 0 && conv::wide_delta_applies(&ConvShape { n: 1, ..*c }) && dz_len >= c.m * c.zh() * c.w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::WORKSPACE_LEN;

    fn values(len: usize, seed: u32, levels: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                // Few levels: ties and non-positive windows are common.
                (s % levels) as f32 / levels as f32 - 0.4
            })
            .collect()
    }

    fn same_bits(what: &str, x: &[f32], y: &[f32]) {
        assert!(x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()), "{what} differs");
    }

    #[test]
    fn image_by_image_gives_the_separate_kernels_floats() {
        // (conv n, c, h, w, m, fh, fw, pad, stride; pool ph, pw, sh, sw): the direct kernel, its padded copy, im2col
        // (stride 2, and c ≥ 8 for the filter gradient), tiling 2×2 cropped, tiling 3×2, overlapping windows.
        let cases: [([usize; 9], [usize; 4]); 9] = [
            ([3, 1, 9, 10, 5, 3, 3, 0, 1], [2, 2, 2, 2]),
            // Rows that fill whole vectors (w = 4·⌈zw/4⌉): a first layer's ∂C/∂z at the input's row stride (the last
            // with three channels and an odd filter count).
            ([2, 1, 10, 12, 5, 3, 3, 0, 1], [2, 2, 2, 2]),
            ([2, 1, 28, 28, 32, 3, 3, 0, 1], [2, 2, 2, 2]),
            ([3, 3, 10, 8, 3, 3, 3, 0, 1], [2, 2, 2, 2]),
            ([2, 2, 8, 9, 4, 3, 3, 1, 1], [3, 2, 3, 2]),
            ([2, 3, 11, 12, 3, 3, 3, 1, 2], [2, 2, 2, 2]),
            ([2, 9, 7, 8, 4, 3, 3, 1, 1], [2, 2, 2, 2]),
            ([2, 1, 12, 11, 3, 2, 2, 0, 1], [3, 3, 2, 2]),
            ([3, 2, 10, 10, 2, 3, 3, 0, 1], [2, 2, 3, 3]),
        ];
        for (seed, (cv, pv)) in cases.iter().enumerate() {
            let expect_wide = (1..=3).contains(&seed);
            let [n, c, h, w, m, fh, fw, pad, st] = *cv;
            let cs = ConvShape { n, c, h, w, m, fh, fw, pt: pad, pb: pad, pl: pad, pr: pad, sh: st, sw: st };
            let len = cs.lengths().unwrap();
            let ps = PoolShape { n, c: m, h: cs.zh(), w: cs.zw(), ph: pv[0], pw: pv[1], sh: pv[2], sw: pv[3] };
            let seed = seed as u32 * 10;
            let (a, f, b) = (values(len.input, seed, 7), values(len.filter, seed + 1, 5), values(m, seed + 2, 3));
            let delta = values(ps.output_len(), seed + 3, 9);
            let mut ws = vec![0.0; WORKSPACE_LEN];
            let (mut cols, mut dcols) = (vec![0.0; len.cols], vec![0.0; len.cols]);
            for relu in [true, false] {
                for strict in [false, true] {
                    // separately
                    let mut z = vec![f32::NAN; len.output];
                    conv::conv2d_forward(&cs, &a, &f, &b, &mut z, relu, &mut cols, &mut ws);
                    let mut out = vec![f32::NAN; ps.output_len()];
                    pool::maxpool_forward(&ps, &z, &mut out);
                    // the forward pass fused
                    let (mut z2, mut out2) = (vec![f32::NAN; len.output], vec![f32::NAN; ps.output_len()]);
                    forward(&cs, &ps, &a, &f, &b, &mut z2, &mut out2, relu, true, &mut cols, &mut ws);
                    same_bits("z", &z, &z2);
                    same_bits("out", &out, &out2);
                    // Without z (inference): the same pooled floats, whether pooled in registers or not.
                    let mut out3 = vec![f32::NAN; ps.output_len()];
                    forward(&cs, &ps, &a, &f, &b, &mut z2, &mut out3, relu, false, &mut cols, &mut ws);
                    same_bits("out without z", &out, &out3);
                    let mut dz = vec![f32::NAN; len.output];
                    pool::maxpool_backward_gated(&ps, &z, &out, &delta, strict, relu, &mut dz);
                    let (mut df, mut db, mut da) = (values(len.filter, 5, 3), values(m, 6, 3), vec![f32::NAN; len.input]);
                    conv::conv2d_backward(&cs, &a, &f, &dz, &mut df, &mut db, Some(&mut da), &mut cols, &mut dcols, &mut ws, true);
                    // fused
                    let mut dz2 = vec![f32::NAN; len.output];
                    let (mut df2, mut db2, mut da2) = (values(len.filter, 5, 3), values(m, 6, 3), vec![f32::NAN; len.input]);
                    backward(
                        &cs, &ps, &a, &f, &z, &out, &delta, strict, relu, &mut dz2, &mut df2, &mut db2, Some(&mut da2),
                        &mut cols, &mut dcols, &mut ws, true,
                    );
                    same_bits("dz", &dz, &dz2);
                    same_bits("df", &df, &df2);
                    same_bits("db", &db, &db2);
                    same_bits("da", &da, &da2);
                    // A first layer (no ∂C/∂A): every image's ∂C/∂z in the first image's place, the same parameter gradients.
                    let mut dz3 = vec![f32::NAN; cs.m * cs.out_pixels()];
                    let (mut df3, mut db3) = (values(len.filter, 5, 3), values(m, 6, 3));
                    backward(&cs, &ps, &a, &f, &z, &out, &delta, strict, relu, &mut dz3, &mut df3, &mut db3, None, &mut cols, &mut dcols, &mut ws, true);
                    same_bits("df without da", &df, &df3);
                    same_bits("db without da", &db, &db3);
                    same_bits("the last image's dz", &dz[(n - 1) * dz3.len()..], &dz3);
                    // With room for it (a shard's dz), ∂C/∂z at the input's row stride where the shape allows.
                    let mut dz4 = vec![f32::NAN; len.output];
                    let (mut df4, mut db4) = (values(len.filter, 5, 3), values(m, 6, 3));
                    backward(&cs, &ps, &a, &f, &z, &out, &delta, strict, relu, &mut dz4, &mut df4, &mut db4, None, &mut cols, &mut dcols, &mut ws, true);
                    assert_eq!(writes_wide_delta(&cs, &ps, dz4.len()), expect_wide, "{cv:?}");
                    same_bits("df from wide dz", &df, &df4);
                    same_bits("db from wide dz", &db, &db4);
                    // The last image's ∂C/∂z in the first image's place, at the input's row stride with zero columns
                    // zw..w where it is wide.
                    let (zw, stride) = (cs.zw(), if expect_wide { w } else { cs.zw() });
                    for (r, row) in dz4[..m * cs.zh() * stride].chunks_exact(stride).enumerate() {
                        same_bits("a row of the wide dz", &row[..zw], &dz3[r * zw..(r + 1) * zw]);
                        assert!(row[zw..].iter().all(|x| x.to_bits() == 0), "{cv:?}: row {r} of dz past zw");
                    }
                    // Overwriting df and db (the first image's call overwrites, the later ones add), in a dz that
                    // holds other floats from a call before (the whole batch's ∂C/∂z, in the usual layout).
                    let (mut df5, mut db5) = (vec![f32::NAN; len.filter], vec![f32::NAN; m]);
                    conv::conv2d_backward(&cs, &a, &f, &dz, &mut df5, &mut db5, None, &mut cols, &mut dcols, &mut ws, false);
                    let (mut df6, mut db6) = (vec![f32::NAN; len.filter], vec![f32::NAN; m]);
                    backward(&cs, &ps, &a, &f, &z, &out, &delta, strict, relu, &mut dz2, &mut df6, &mut db6, None, &mut cols, &mut dcols, &mut ws, false);
                    same_bits("df overwritten", &df5, &df6);
                    same_bits("db overwritten", &db5, &db6);
                }
            }
        }
    }

    #[test]
    fn pooling_in_registers_gives_the_floats_of_z_then_pooling() {
        // (conv n, c, h, w, m, fh, fw, pad, stride): odd and even output sizes (uncovered rows and columns not
        // computed), a padded copy, two groups of 4 filters, rows of 2·ow = 4 (one block), of 5 windows (a shifted
        // last block) and the course's 13; and shapes that keep the separate passes (6 filters, a 3×3 pooling, rows
        // narrower than a vector).
        let cases: [([usize; 9], usize, bool); 11] = [
            ([3, 1, 9, 10, 8, 3, 3, 0, 1], 2, true),
            // zw = 11: the shifted last block ends at 2·ow = 10, not at zw (an odd start would misplace its windows).
            ([2, 1, 9, 13, 4, 3, 3, 0, 1], 2, true),
            ([2, 2, 8, 9, 4, 3, 3, 1, 1], 2, true),
            ([2, 1, 12, 11, 4, 2, 2, 0, 1], 2, true),
            ([2, 1, 28, 28, 32, 3, 3, 0, 1], 2, true),
            ([1, 3, 20, 21, 8, 5, 5, 2, 1], 2, true),
            ([2, 1, 6, 7, 4, 3, 3, 0, 1], 2, true),
            ([2, 1, 13, 12, 4, 3, 3, 0, 1], 2, true),
            ([2, 1, 9, 10, 6, 3, 3, 0, 1], 2, false),
            ([2, 1, 9, 10, 4, 3, 3, 0, 1], 3, false),
            ([2, 1, 5, 5, 4, 3, 3, 0, 1], 2, false),
        ];
        for (seed, (cv, window, pooled_in_registers)) in cases.iter().enumerate() {
            let [n, c, h, w, m, fh, fw, pad, st] = *cv;
            let cs = ConvShape { n, c, h, w, m, fh, fw, pt: pad, pb: pad, pl: pad, pr: pad, sh: st, sw: st };
            let len = cs.lengths().unwrap();
            let ps = PoolShape::tiled(n, m, cs.zh(), cs.zw(), *window, *window);
            assert_eq!(ps.is_2x2_tiling() && conv::forward_pooled_applies(&cs), *pooled_in_registers, "case {seed}");
            let seed = seed as u32 * 10 + 3;
            let (a, f, b) = (values(len.input, seed, 7), values(len.filter, seed + 1, 5), values(m, seed + 2, 3));
            let mut ws = vec![0.0; WORKSPACE_LEN];
            let mut cols = vec![0.0; len.cols];
            let mut z = vec![f32::NAN; len.output];
            conv::conv2d_forward(&cs, &a, &f, &b, &mut z, true, &mut cols, &mut ws);
            let mut out = vec![f32::NAN; ps.output_len()];
            pool::maxpool_forward(&ps, &z, &mut out);
            let mut out2 = vec![f32::NAN; ps.output_len()];
            let mut untouched = vec![f32::NAN; len.output];
            forward(&cs, &ps, &a, &f, &b, &mut untouched, &mut out2, true, false, &mut cols, &mut ws);
            same_bits("pooled", &out, &out2);
            // The pooling in registers leaves z alone; the separate passes fill it.
            assert_eq!(untouched.iter().all(|v| v.is_nan()), *pooled_in_registers, "z written, case {cv:?}");
        }
    }

}

//! wasmnet's compute core: the exported C ABI, one thin `extern "C"` shim per kernel.
//!
//! Each shim turns the pointers TypeScript passes (offsets into this module's
//! linear memory) into slices and calls a safe kernel. TypeScript validates
//! every shape before it calls, and every pointer comes from `wn_alloc` with
//! at least the length given here; that is the contract each `// SAFETY:`
//! below relies on. Every length formed here from the arguments is a checked
//! product (`mem::checked_len`): a size that would wrap around 32 bits traps
//! instead of becoming a short slice. A null (0) pointer marks an optional
//! output as absent.

// The threads core only (`--cfg wasmnet_threads`, scripts/build-wasm.sh): the plain core keeps std's allocator as is.
#[cfg(wasmnet_threads)]
mod locked_alloc;
pub mod activation;
pub mod avgpool;
pub mod batchnorm;
pub mod conv;
pub mod conv_pool;
pub mod dense;
pub mod dropout;
pub mod gemm;
pub mod loss;
pub mod mem;
pub mod optim;
pub mod peak;
pub mod pool;
pub mod simd;

use activation::Activation;
use batchnorm::BnShape;
use conv::ConvShape;
use gemm::MatRef;
use mem::checked_len;
use pool::PoolShape;

/// # Safety
/// `p` must point to `len` readable floats (or `len` must be 0).
unsafe fn view<'a, T>(p: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        &[]
    } else {
        core::slice::from_raw_parts(p, len)
    }
}

/// # Safety
/// `p` must point to `len` writable floats not aliased by any other slice in use (or `len` must be 0).
unsafe fn view_mut<'a, T>(p: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 {
        &mut []
    } else {
        core::slice::from_raw_parts_mut(p, len)
    }
}

/// # Safety
/// As `view_mut`, where `p` is not null.
unsafe fn optional_mut<'a, T>(p: *mut T, len: usize) -> Option<&'a mut [T]> {
    if p.is_null() {
        None
    } else {
        Some(view_mut(p, len))
    }
}

// ---------------------------------------------------------------- memory

#[no_mangle]
pub extern "C" fn wn_alloc(bytes: usize) -> *mut u8 {
    mem::allocate(bytes)
}

/// # Safety
/// `ptr` must come from `wn_alloc(bytes)` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn wn_free(ptr: *mut u8, bytes: usize) {
    // SAFETY: forwarded contract.
    mem::release(ptr, bytes)
}

/// Floats of scratch space the GEMM-based kernels take as `ws`.
#[no_mangle]
pub extern "C" fn wn_gemm_workspace_len() -> usize {
    gemm::WORKSPACE_LEN
}

/// The depth the GEMM sums a tile over before it stores it (KC): a product no deeper than this, made with
/// `accumulate`, adds each element's whole sum to C once (C + Σ), which is what adding its result to C would give.
#[no_mangle]
pub extern "C" fn wn_gemm_depth_block() -> usize {
    gemm::KC
}

/// # Safety
/// `src` holds `src_rows·row_len` floats, `index` `count` u32 values below `src_rows`, `dst` `count·row_len` floats.
#[no_mangle]
pub unsafe extern "C" fn wn_gather_rows(src: *const f32, src_rows: usize, row_len: usize, index: *const u32, count: usize, dst: *mut f32) {
    // SAFETY: lengths as documented; src and dst are distinct allocations.
    let (s, idx, d) = (view(src, checked_len(&[src_rows, row_len])), view(index, count), view_mut(dst, checked_len(&[count, row_len])));
    mem::gather_rows(s, row_len, idx, d)
}

/// 1 when all `len` floats at `p` are finite, else 0.
///
/// # Safety
/// `p` holds `len` floats.
#[no_mangle]
pub unsafe extern "C" fn wn_all_finite(p: *const f32, len: usize) -> u32 {
    // SAFETY: length as documented.
    mem::all_finite(view(p, len)) as u32
}

/// `dst[i] += src[i]` for `len` floats (the shard-gradient tree's adds); 1 when every sum is finite, else 0.
///
/// # Safety
/// `dst` and `src` hold `len` floats each and do not overlap.
#[no_mangle]
pub unsafe extern "C" fn wn_add_assign(dst: *mut f32, src: *const f32, len: usize) -> u32 {
    // SAFETY: lengths as documented; distinct allocations.
    mem::add_assign(view_mut(dst, len), view(src, len)) as u32
}

/// `dst[i] = a[i] + b[i]` for `len` floats (the shard-gradient tree's root); 1 when every sum is finite, else 0.
///
/// # Safety
/// `dst`, `a` and `b` hold `len` floats each; `dst` overlaps neither.
#[no_mangle]
pub unsafe extern "C" fn wn_add_to(dst: *mut f32, a: *const f32, b: *const f32, len: usize) -> u32 {
    // SAFETY: lengths as documented; dst is a distinct allocation.
    mem::add_to(view_mut(dst, len), view(a, len), view(b, len)) as u32
}

// ---------------------------------------------------------------- gemm / dense

/// `C (+)= op(A)·op(B)` with `A[i][p] = a[i*rsa + p*csa]`, `B[p][j] = b[p*rsb + j*csb]`.
///
/// # Safety
/// `a`, `b` hold `a_len`, `b_len` floats covering every strided index; `c` holds
/// `(m-1)·ldc + n` floats and overlaps neither; `ws` holds `wn_gemm_workspace_len()` floats.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_gemm(
    m: usize, n: usize, k: usize,
    a: *const f32, a_len: usize, rsa: usize, csa: usize,
    b: *const f32, b_len: usize, rsb: usize, csb: usize,
    c: *mut f32, ldc: usize, accumulate: u32, ws: *mut f32,
) {
    // SAFETY: lengths as documented; gemm itself checks that the strides stay inside them.
    let am = MatRef { data: view(a, a_len), rows: m, cols: k, row_stride: rsa, col_stride: csa };
    let bm = MatRef { data: view(b, b_len), rows: k, cols: n, row_stride: rsb, col_stride: csb };
    gemm::gemm(am, bm, view_mut(c, gemm_c_len(m, n, ldc)), ldc, accumulate != 0, view_mut(ws, gemm::WORKSPACE_LEN))
}

/// Floats of C that an `m × n` product with row stride `ldc` spans.
fn gemm_c_len(m: usize, n: usize, ldc: usize) -> usize {
    if m == 0 || n == 0 {
        0
    } else {
        match checked_len(&[m - 1, ldc]).checked_add(n) {
            Some(len) => len,
            None => panic!("buffer size overflows usize"),
        }
    }
}

/// Floats `wn_gemm_pack_b` writes for a `k × n` B.
#[no_mangle]
pub extern "C" fn wn_gemm_packed_b_len(k: usize, n: usize) -> usize {
    gemm::packed_b_len(k, n)
}

/// Packs `B[p][j] = b[p*rsb + j*csb]` (`k × n`) for `wn_gemm_prepacked`: once for many products with the same B.
///
/// # Safety
/// `b` holds `b_len` floats covering every strided index; `out` holds `wn_gemm_packed_b_len(k, n)` floats, distinct.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_gemm_pack_b(k: usize, n: usize, b: *const f32, b_len: usize, rsb: usize, csb: usize, out: *mut f32) {
    // SAFETY: lengths as documented; pack_b_whole checks that the strides stay inside them.
    let bm = MatRef { data: view(b, b_len), rows: k, cols: n, row_stride: rsb, col_stride: csb };
    gemm::pack_b_whole(bm, view_mut(out, gemm::packed_b_len(k, n)))
}

/// Writes a row-major `k × n` B (`k·n` floats at `out`) back from what `wn_gemm_pack_b` packed of it.
///
/// # Safety
/// `packed` holds `wn_gemm_packed_b_len(k, n)` floats; `out` holds `k·n` floats, distinct.
#[no_mangle]
pub unsafe extern "C" fn wn_gemm_unpack_b(k: usize, n: usize, packed: *const f32, out: *mut f32) {
    // SAFETY: lengths as documented.
    gemm::unpack_b_whole(view(packed, gemm::packed_b_len(k, n)), k, n, view_mut(out, checked_len(&[k, n])))
}

/// `wn_gemm` with B packed by `wn_gemm_pack_b(k, n, …)`: the same bits, without packing B again.
///
/// # Safety
/// As `wn_gemm`; `packed` holds `wn_gemm_packed_b_len(k, n)` floats.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_gemm_prepacked(
    m: usize, n: usize, k: usize,
    a: *const f32, a_len: usize, rsa: usize, csa: usize,
    packed: *const f32,
    c: *mut f32, ldc: usize, accumulate: u32, ws: *mut f32,
) {
    // SAFETY: lengths as documented; the driver checks that A's strides stay inside a_len.
    let am = MatRef { data: view(a, a_len), rows: m, cols: k, row_stride: rsa, col_stride: csa };
    let pb = gemm::PackedB { data: view(packed, gemm::packed_b_len(k, n)), k, n };
    gemm::gemm_prepacked(am, pb, view_mut(c, gemm_c_len(m, n, ldc)), ldc, accumulate != 0, view_mut(ws, gemm::WORKSPACE_LEN))
}

/// # Safety
/// `z` holds `rows·cols` floats, `b` `cols` floats.
#[no_mangle]
pub unsafe extern "C" fn wn_add_row_bias(z: *mut f32, rows: usize, cols: usize, b: *const f32) {
    // SAFETY: lengths as documented; distinct allocations.
    dense::add_row_bias(view_mut(z, checked_len(&[rows, cols])), view(b, cols))
}

/// With `accumulate` = 1, adds to `out` instead of overwriting it.
///
/// # Safety
/// `m` holds `rows·cols` floats, `out` `cols` floats.
#[no_mangle]
pub unsafe extern "C" fn wn_column_sums(m: *const f32, rows: usize, cols: usize, out: *mut f32, accumulate: u32) {
    // SAFETY: lengths as documented; distinct allocations.
    dense::column_sums(view(m, checked_len(&[rows, cols])), view_mut(out, cols), accumulate != 0)
}

// ---------------------------------------------------------------- convolution

/// Floats of `cols` scratch one convolution needs (per image; reused across the batch):
/// `c·fh·fw·zh·zw`. Returns `usize::MAX` (which no allocation can satisfy) when the
/// geometry is invalid (zero filter size or stride, filter larger than the padded
/// input) or a size overflows; TypeScript refuses that before allocating.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn wn_conv2d_cols_len(
    c: usize, h: usize, w: usize, fh: usize, fw: usize,
    pt: usize, pb: usize, pl: usize, pr: usize, sh: usize, sw: usize,
) -> usize {
    let s = ConvShape { n: 1, c, h, w, m: 1, fh, fw, pt, pb, pl, pr, sh, sw };
    s.lengths().map_or(usize::MAX, |len| len.cols)
}

/// Zero padding `pt, pb, pl, pr` (top, bottom, left, right) and stride `sh, sw`; see `conv`.
/// With `relu` = 1, z receives max(z, 0) instead (a fused ReLU activation).
///
/// # Safety
/// Buffers hold: a `n·c·h·w`, f `m·c·fh·fw`, b `m`, z `n·m·zh·zw`, cols `wn_conv2d_cols_len`, ws the GEMM workspace.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_conv2d_forward(
    n: usize, c: usize, h: usize, w: usize, m: usize, fh: usize, fw: usize,
    pt: usize, pb: usize, pl: usize, pr: usize, sh: usize, sw: usize,
    a: *const f32, f: *const f32, b: *const f32, z: *mut f32, relu: u32, cols: *mut f32, ws: *mut f32,
) {
    let s = ConvShape { n, c, h, w, m, fh, fw, pt, pb, pl, pr, sh, sw };
    let len = s.checked_lengths();
    // SAFETY: lengths as documented (computed without overflow); z, cols and ws are distinct allocations.
    conv::conv2d_forward(
        &s,
        view(a, len.input),
        view(f, len.filter),
        view(b, m),
        view_mut(z, len.output),
        relu != 0,
        view_mut(cols, len.cols),
        view_mut(ws, gemm::WORKSPACE_LEN),
    )
}

/// With `accumulate` = 1, df and db are added to instead of overwritten.
///
/// # Safety
/// As `wn_conv2d_forward`, plus delta `n·m·zh·zw`, df `m·c·fh·fw`, db `m`, da `n·c·h·w` or null, dcols like cols.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_conv2d_backward(
    n: usize, c: usize, h: usize, w: usize, m: usize, fh: usize, fw: usize,
    pt: usize, pb: usize, pl: usize, pr: usize, sh: usize, sw: usize,
    a: *const f32, f: *const f32, delta: *const f32,
    df: *mut f32, db: *mut f32, da: *mut f32, cols: *mut f32, dcols: *mut f32, ws: *mut f32, accumulate: u32,
) {
    let s = ConvShape { n, c, h, w, m, fh, fw, pt, pb, pl, pr, sh, sw };
    let len = s.checked_lengths();
    // SAFETY: lengths as documented (computed without overflow); every output is its own allocation.
    conv::conv2d_backward(
        &s,
        view(a, len.input),
        view(f, len.filter),
        view(delta, len.output),
        view_mut(df, len.filter),
        view_mut(db, m),
        optional_mut(da, len.input),
        view_mut(cols, len.cols),
        view_mut(dcols, len.cols),
        view_mut(ws, gemm::WORKSPACE_LEN),
        accumulate != 0,
    )
}

// ---------------------------------------------------------------- convolution + max pooling

/// The forward pass of a convolution (with `relu` = 1, its fused ReLU) and the max pooling after it (`ph, pw`
/// windows, `psh, psw` strides), image by image (see conv_pool.rs): z as `wn_conv2d_forward`'s, out as
/// `wn_maxpool_forward`'s. The same floats as the two kernels. With `keep_z` = 0 (inference: no backward pass
/// reads z) z is scratch that the course's pair leaves unwritten, pooling in registers.
///
/// # Safety
/// As `wn_conv2d_forward`, plus out `n·m·oh·ow` floats (as `wn_maxpool_forward` over z), distinct.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_conv2d_maxpool_forward(
    n: usize, c: usize, h: usize, w: usize, m: usize, fh: usize, fw: usize,
    pt: usize, pb: usize, pl: usize, pr: usize, sh: usize, sw: usize,
    ph: usize, pw: usize, psh: usize, psw: usize,
    a: *const f32, f: *const f32, b: *const f32, z: *mut f32, out: *mut f32, relu: u32, keep_z: u32, cols: *mut f32, ws: *mut f32,
) {
    let cs = ConvShape { n, c, h, w, m, fh, fw, pt, pb, pl, pr, sh, sw };
    let len = cs.checked_lengths();
    let ps = PoolShape { n, c: m, h: cs.zh(), w: cs.zw(), ph, pw, sh: psh, sw: psw };
    let out_len = ps.output_len();
    // SAFETY: lengths as documented (overflow-checked); z, out, cols and ws are distinct allocations.
    conv_pool::forward(
        &cs, &ps, view(a, len.input), view(f, len.filter), view(b, m), view_mut(z, len.output), view_mut(out, out_len), relu != 0,
        keep_z != 0, view_mut(cols, len.cols), view_mut(ws, gemm::WORKSPACE_LEN),
    )
}

/// The backward pass of a convolution and the max pooling after it (`ph, pw` windows, `psh, psw` strides):
/// pooling (with `relu_gate`, through the ReLU fused into the convolution), then the convolution's parameter
/// gradients, image by image (see conv_pool.rs); `dz` is scratch of the convolution's
/// output size that ends up holding ∂C/∂z when `da` is given (without it, only the last image's, in the first
/// image's place, and for the course's shape with n ≥ 2 at the input's row stride); `da` (or null) gets ∂C/∂A. The
/// same floats as the separate kernels.
///
/// # Safety
/// As `wn_conv2d_backward` and `wn_maxpool_backward` (z, out and pooled_delta as a, out and delta there).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_maxpool_conv2d_backward(
    n: usize, c: usize, h: usize, w: usize, m: usize, fh: usize, fw: usize,
    pt: usize, pb: usize, pl: usize, pr: usize, sh: usize, sw: usize,
    ph: usize, pw: usize, psh: usize, psw: usize,
    a: *const f32, f: *const f32, z: *const f32, out: *const f32, pooled_delta: *const f32,
    strict: u32, relu_gate: u32, dz: *mut f32, df: *mut f32, db: *mut f32, da: *mut f32,
    cols: *mut f32, dcols: *mut f32, ws: *mut f32, accumulate: u32,
) {
    let cs = ConvShape { n, c, h, w, m, fh, fw, pt, pb, pl, pr, sh, sw };
    let len = cs.checked_lengths();
    let ps = PoolShape { n, c: m, h: cs.zh(), w: cs.zw(), ph, pw, sh: psh, sw: psw };
    let (in_len, out_len) = (ps.input_len(), ps.output_len());
    // SAFETY: lengths as documented (overflow-checked); outputs are distinct.
    conv_pool::backward(
        &cs, &ps, view(a, len.input), view(f, len.filter), view(z, in_len), view(out, out_len), view(pooled_delta, out_len), strict != 0, relu_gate != 0, view_mut(dz, len.output), view_mut(df, len.filter),
        view_mut(db, m), optional_mut(da, len.input), view_mut(cols, len.cols), view_mut(dcols, len.cols),
        view_mut(ws, gemm::WORKSPACE_LEN), accumulate != 0,
    )
}

// ---------------------------------------------------------------- pooling

/// `sh`, `sw`: the stride (= `ph`, `pw` for the course's tiling).
///
/// # Safety
/// a `n·c·h·w` floats, out `n·c·oh·ow` floats (oh = (h−ph)/sh + 1, ow likewise), distinct.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_maxpool_forward(
    n: usize, c: usize, h: usize, w: usize, ph: usize, pw: usize, sh: usize, sw: usize,
    a: *const f32, out: *mut f32,
) {
    let s = PoolShape { n, c, h, w, ph, pw, sh, sw };
    let (in_len, out_len) = (s.input_len(), s.output_len());
    // SAFETY: lengths as documented (overflow-checked); distinct allocations.
    pool::maxpool_forward(&s, view(a, in_len), view_mut(out, out_len))
}

/// The course's mask of winners (1 where an input equals the pooled output of a window containing it) from the
/// forward's input `a` and output `out`.
///
/// # Safety
/// a `n·c·h·w` floats, out `n·c·oh·ow` floats (as `wn_maxpool_forward`), mask `n·c·h·w` bytes, distinct.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_maxpool_winners(
    n: usize, c: usize, h: usize, w: usize, ph: usize, pw: usize, sh: usize, sw: usize,
    a: *const f32, out: *const f32, mask: *mut u8,
) {
    let s = PoolShape { n, c, h, w, ph, pw, sh, sw };
    let (in_len, out_len) = (s.input_len(), s.output_len());
    // SAFETY: lengths as documented (overflow-checked); mask is its own allocation.
    pool::maxpool_winners(&s, view(a, in_len), view(out, out_len), view_mut(mask, in_len))
}

/// Each window's delta to its winners, the inputs in `a` equal to its pooled output in `out` (the forward's input
/// and output). With `relu_gate`, `a` is a ReLU's output and `da` becomes ∂C/∂z of that ReLU.
///
/// # Safety
/// a `n·c·h·w` floats, out and delta `n·c·oh·ow` floats, da `n·c·h·w` floats, distinct.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_maxpool_backward(
    n: usize, c: usize, h: usize, w: usize, ph: usize, pw: usize, sh: usize, sw: usize,
    a: *const f32, out: *const f32, delta: *const f32, strict: u32, relu_gate: u32, da: *mut f32,
) {
    let s = PoolShape { n, c, h, w, ph, pw, sh, sw };
    let (in_len, out_len) = (s.input_len(), s.output_len());
    // SAFETY: lengths as documented (overflow-checked); da is its own allocation.
    pool::maxpool_backward_gated(&s, view(a, in_len), view(out, out_len), view(delta, out_len), strict != 0, relu_gate != 0, view_mut(da, in_len))
}

/// # Safety
/// a `n·c·h·w` floats, out `n·c·oh·ow` floats (as `wn_maxpool_forward`), distinct.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_avgpool_forward(
    n: usize, c: usize, h: usize, w: usize, ph: usize, pw: usize, sh: usize, sw: usize,
    a: *const f32, out: *mut f32,
) {
    let s = PoolShape { n, c, h, w, ph, pw, sh, sw };
    let (in_len, out_len) = (s.input_len(), s.output_len());
    // SAFETY: lengths as documented (overflow-checked); distinct allocations.
    avgpool::avgpool_forward(&s, view(a, in_len), view_mut(out, out_len))
}

/// # Safety
/// delta `n·c·oh·ow` floats, da `n·c·h·w` floats, distinct.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_avgpool_backward(
    n: usize, c: usize, h: usize, w: usize, ph: usize, pw: usize, sh: usize, sw: usize,
    delta: *const f32, da: *mut f32,
) {
    let s = PoolShape { n, c, h, w, ph, pw, sh, sw };
    let (in_len, out_len) = (s.input_len(), s.output_len());
    // SAFETY: lengths as documented (overflow-checked); distinct allocations.
    avgpool::avgpool_backward(&s, view(delta, out_len), view_mut(da, in_len))
}

// ---------------------------------------------------------------- batch normalization

/// PyTorch's BatchNorm2d training forward on `[n, c, hw]`: batch statistics,
/// `running_mean`/`running_var` updated in place, `xhat` and `invstd` saved for backward. Needs n·hw ≥ 2.
///
/// # Safety
/// x, y, xhat hold `n·c·hw` floats; gamma, beta, running_mean, running_var, invstd `c` floats;
/// y, xhat, invstd, running_mean and running_var are distinct from everything else.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_batchnorm_forward_train(
    n: usize, c: usize, hw: usize, x: *const f32, gamma: *const f32, beta: *const f32, eps: f32, momentum: f32,
    running_mean: *mut f32, running_var: *mut f32, y: *mut f32, xhat: *mut f32, invstd: *mut f32,
) {
    let s = BnShape { n, c, hw };
    // SAFETY: lengths as documented; outputs are their own allocations.
    batchnorm::forward_train(
        &s, view(x, s.len()), view(gamma, c), view(beta, c), eps, momentum,
        view_mut(running_mean, c), view_mut(running_var, c), view_mut(y, s.len()), view_mut(xhat, s.len()), view_mut(invstd, c),
    )
}

/// Evaluation forward with the running statistics; writes `xhat` and `invstd` too.
///
/// # Safety
/// As `wn_batchnorm_forward_train`; running_mean and running_var are only read.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_batchnorm_forward_eval(
    n: usize, c: usize, hw: usize, x: *const f32, gamma: *const f32, beta: *const f32,
    running_mean: *const f32, running_var: *const f32, eps: f32, y: *mut f32, xhat: *mut f32, invstd: *mut f32,
) {
    let s = BnShape { n, c, hw };
    // SAFETY: lengths as documented; outputs are their own allocations.
    batchnorm::forward_eval(
        &s, view(x, s.len()), view(gamma, c), view(beta, c), view(running_mean, c), view(running_var, c), eps,
        view_mut(y, s.len()), view_mut(xhat, s.len()), view_mut(invstd, c),
    )
}

/// `training` = 1: dx through the batch statistics; 0: statistics constant. With
/// `accumulate` = 1, dgamma and dbeta are added to instead of overwritten.
///
/// # Safety
/// dy, xhat hold `n·c·hw` floats, dx likewise or null; gamma, invstd, dgamma, dbeta `c` floats;
/// dx, dgamma, dbeta are distinct from everything else.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_batchnorm_backward(
    n: usize, c: usize, hw: usize, dy: *const f32, xhat: *const f32, gamma: *const f32, invstd: *const f32,
    training: u32, dx: *mut f32, dgamma: *mut f32, dbeta: *mut f32, accumulate: u32,
) {
    let s = BnShape { n, c, hw };
    // SAFETY: lengths as documented; outputs are their own allocations.
    batchnorm::backward(
        &s, view(dy, s.len()), view(xhat, s.len()), view(gamma, c), view(invstd, c), training != 0,
        optional_mut(dx, s.len()), view_mut(dgamma, c), view_mut(dbeta, c), accumulate != 0,
    )
}

/// A shard's per-channel `Σ x` and `Σ (x − shard mean)²` (f64 pairs in `out`), for statistics combined over shards.
///
/// # Safety
/// x holds `n·c·hw` floats, out `2·c` f64s, 8-byte aligned and distinct from x.
#[no_mangle]
pub unsafe extern "C" fn wn_batchnorm_shard_stats(n: usize, c: usize, hw: usize, x: *const f32, out: *mut f64) {
    let s = BnShape { n, c, hw };
    // SAFETY: lengths as documented.
    batchnorm::shard_stats(&s, view(x, s.len()), view_mut(out, 2 * c))
}

/// `xhat = ((x − mean) − mean_lo)·invstd`, `y = gamma·xhat + beta` with given per-channel constants.
///
/// # Safety
/// x, y, xhat hold `n·c·hw` floats; gamma, beta, mean, mean_lo, invstd `c` floats; y and xhat distinct from the rest.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_batchnorm_normalize(
    n: usize, c: usize, hw: usize, x: *const f32, gamma: *const f32, beta: *const f32,
    mean: *const f32, mean_lo: *const f32, invstd: *const f32, y: *mut f32, xhat: *mut f32,
) {
    let s = BnShape { n, c, hw };
    // SAFETY: lengths as documented; outputs are their own allocations.
    batchnorm::normalize_given(
        &s, view(x, s.len()), view(gamma, c), view(beta, c), view(mean, c), view(mean_lo, c), view(invstd, c),
        view_mut(y, s.len()), view_mut(xhat, s.len()),
    )
}

/// A shard's per-channel `Σ dy` and `Σ dy·xhat` (f64 pairs in `out`).
///
/// # Safety
/// dy, xhat hold `n·c·hw` floats, out `2·c` f64s, 8-byte aligned and distinct from both.
#[no_mangle]
pub unsafe extern "C" fn wn_batchnorm_shard_grad_sums(n: usize, c: usize, hw: usize, dy: *const f32, xhat: *const f32, out: *mut f64) {
    let s = BnShape { n, c, hw };
    // SAFETY: lengths as documented.
    batchnorm::shard_grad_sums(&s, view(dy, s.len()), view(xhat, s.len()), view_mut(out, 2 * c))
}

/// `dx = a·dy + (b·xhat + k)` with given per-channel constants (batch norm's input gradient from combined sums).
///
/// # Safety
/// dy, xhat, dx hold `n·c·hw` floats; a, b, k `c` floats; dx distinct from the rest.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_batchnorm_combine(
    n: usize, c: usize, hw: usize, dy: *const f32, xhat: *const f32, a: *const f32, b: *const f32, k: *const f32, dx: *mut f32,
) {
    let s = BnShape { n, c, hw };
    // SAFETY: lengths as documented; dx is its own allocation.
    batchnorm::combine_given(&s, view(dy, s.len()), view(xhat, s.len()), view(a, c), view(b, c), view(k, c), view_mut(dx, s.len()))
}

// ---------------------------------------------------------------- dropout

/// Inverted dropout of a chunk of `rows` rows starting at batch row `row_offset`;
/// the mask depends only on (seed, step, index in the whole batch). `mask` may be null.
///
/// # Safety
/// x and out hold `rows·cols` floats, mask `rows·cols` bytes or null; out and mask are distinct from x.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_dropout_forward(
    x: *const f32, out: *mut f32, mask: *mut u8, rows: usize, cols: usize, row_offset: usize, rate: f32, seed: u32, step: u32,
) {
    let len = checked_len(&[rows, cols]);
    // SAFETY: lengths as documented.
    dropout::dropout_forward(view(x, len), view_mut(out, len), optional_mut(mask, len), cols, row_offset, rate, seed, step)
}

/// `dx = mask ? dy·scale : 0`.
///
/// # Safety
/// dy and dx hold `len` floats, mask `len` bytes; dx is distinct from dy.
#[no_mangle]
pub unsafe extern "C" fn wn_dropout_backward(dy: *const f32, mask: *const u8, len: usize, scale: f32, dx: *mut f32) {
    // SAFETY: lengths as documented.
    dropout::dropout_backward(view(dy, len), view(mask, len), scale, view_mut(dx, len))
}

// ---------------------------------------------------------------- activations

fn activation_kind(id: u32) -> Activation {
    match Activation::from_id(id) {
        Some(a) => a,
        None => panic!("unknown activation id"),
    }
}

/// # Safety
/// z and a hold `len` floats each and are distinct.
#[no_mangle]
pub unsafe extern "C" fn wn_activation_forward(kind: u32, z: *const f32, a: *mut f32, len: usize, cols: usize) {
    // SAFETY: lengths as documented.
    activation::activation_forward(activation_kind(kind), view(z, len), view_mut(a, len), cols)
}

/// # Safety
/// z, a, delta and out hold `len` floats each; out is distinct from the others.
#[no_mangle]
pub unsafe extern "C" fn wn_activation_backward(kind: u32, z: *const f32, a: *const f32, delta: *const f32, out: *mut f32, len: usize, cols: usize) {
    // SAFETY: lengths as documented.
    activation::activation_backward(activation_kind(kind), view(z, len), view(a, len), view(delta, len), view_mut(out, len), cols)
}

// ---------------------------------------------------------------- losses

/// The loss over `rows` samples divided by `n`, the size of the batch they belong to.
///
/// # Safety
/// yhat and y hold `rows·cols` floats; grad likewise or null.
#[no_mangle]
pub unsafe extern "C" fn wn_cross_entropy(yhat: *const f32, y: *const f32, rows: usize, cols: usize, grad: *mut f32, n: usize) -> f64 {
    let len = checked_len(&[rows, cols]);
    // SAFETY: lengths as documented; grad is its own allocation.
    loss::cross_entropy(view(yhat, len), view(y, len), n, optional_mut(grad, len))
}

/// # Safety
/// As `wn_cross_entropy`.
#[no_mangle]
pub unsafe extern "C" fn wn_mean_squared_error(yhat: *const f32, y: *const f32, rows: usize, cols: usize, grad: *mut f32, n: usize) -> f64 {
    let len = checked_len(&[rows, cols]);
    // SAFETY: lengths as documented; grad is its own allocation.
    loss::mean_squared_error(view(yhat, len), view(y, len), n, optional_mut(grad, len))
}

/// # Safety
/// yhat, y and out hold `rows·cols` floats; out is distinct.
#[no_mangle]
pub unsafe extern "C" fn wn_softmax_cross_entropy_delta(yhat: *const f32, y: *const f32, rows: usize, cols: usize, out: *mut f32, n: usize) {
    let len = checked_len(&[rows, cols]);
    // SAFETY: lengths as documented.
    loss::softmax_cross_entropy_delta(view(yhat, len), view(y, len), n, view_mut(out, len))
}

/// # Safety
/// yhat and y hold `rows·cols` floats.
#[no_mangle]
pub unsafe extern "C" fn wn_count_correct(yhat: *const f32, y: *const f32, rows: usize, cols: usize) -> u32 {
    let len = checked_len(&[rows, cols]);
    // SAFETY: lengths as documented.
    loss::count_correct(view(yhat, len), view(y, len), cols)
}

// ---------------------------------------------------------------- optimizers

/// # Safety
/// p, g (and velocity, unless null) hold `len` floats; p and velocity are distinct from everything else.
/// velocity must not be null when `momentum != 0` or `nesterov != 0` (the kernel traps otherwise).
#[no_mangle]
pub unsafe extern "C" fn wn_sgd(
    p: *mut f32, g: *const f32, velocity: *mut f32, len: usize,
    lr: f32, momentum: f32, weight_decay: f32, nesterov: u32,
) {
    // SAFETY: lengths as documented.
    optim::sgd(view_mut(p, len), view(g, len), optional_mut(velocity, len), lr, momentum, weight_decay, nesterov != 0)
}

/// Adam and AdamW: `l2` is Adam's weight decay (added to the gradient, 0 = none), `decay`
/// AdamW's factor `1 − lr·wd` applied to p first (1 = none). 1 when every new p is finite, else 0.
///
/// # Safety
/// p, g, m, v hold `len` floats each, pairwise distinct.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wn_adam(
    p: *mut f32, g: *const f32, m: *mut f32, v: *mut f32, len: usize,
    lr: f32, beta1: f32, beta2: f32, eps: f32, bc1: f32, bc2: f32, l2: f32, decay: f32,
) -> u32 {
    let step = optim::AdamStep { lr, beta1, beta2, eps, bc1, bc2, l2, decay };
    // SAFETY: lengths as documented.
    optim::adam(view_mut(p, len), view(g, len), view_mut(m, len), view_mut(v, len), step) as u32
}

// ---------------------------------------------------------------- benchmark probe

/// The f32x4 multiply-add peak probe (see `peak.rs`); returns a checksum.
#[no_mangle]
pub extern "C" fn wn_simd_peak(iterations: u32) -> f32 {
    peak::simd_peak(iterations)
}

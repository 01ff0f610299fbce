//! Losses over a batch of `rows` samples with `cols` outputs each, averaged
//! over the batch (not over the outputs):
//!
//! - cross-entropy `C = -(1/n) Σ_i Σ_k y_ik ln ŷ_ik`, for SoftMax outputs;
//! - mean squared error `C = (1/n) Σ_i ½ ‖ŷ_i − y_i‖²`.
//!
//! Each returns the loss (accumulated in f64) and, when asked, writes ∂C/∂ŷ.
//! `n` is the batch size the mean is taken over; a network that works through
//! a batch in chunks passes the whole batch's n with each chunk of `rows`.

/// ŷ below this is treated as this in ln(), so a saturated SoftMax gives a
/// large but finite loss.
pub const CE_FLOOR: f32 = 1e-30;

pub fn cross_entropy(yhat: &[f32], y: &[f32], n: usize, grad: Option<&mut [f32]>) -> f64 {
    assert!(yhat.len() == y.len() && n > 0);
    let inv_n = 1.0 / n as f64;
    let loss: f64 = yhat
        .iter()
        .zip(y)
        .filter(|(_, &t)| t != 0.0)
        .map(|(&p, &t)| -(t as f64) * (p.max(CE_FLOOR) as f64).ln())
        .sum();
    if let Some(g) = grad {
        for ((o, &p), &t) in g.iter_mut().zip(yhat).zip(y) {
            *o = if t == 0.0 { 0.0 } else { (-(t as f64) / (p.max(CE_FLOOR) as f64) * inv_n) as f32 };
        }
    }
    loss * inv_n
}

/// ∂C/∂z for cross-entropy on a SoftMax output: `(ŷ − y)/n`. Equal to the
/// SoftMax backprop of `cross_entropy`'s gradient when the labels of each row
/// sum to 1, and exact even where ŷ underflows.
pub fn softmax_cross_entropy_delta(yhat: &[f32], y: &[f32], n: usize, out: &mut [f32]) {
    assert!(yhat.len() == y.len() && out.len() == y.len() && n > 0);
    let inv_n = 1.0 / n as f32;
    for ((o, &p), &t) in out.iter_mut().zip(yhat).zip(y) {
        *o = (p - t) * inv_n;
    }
}

pub fn mean_squared_error(yhat: &[f32], y: &[f32], n: usize, grad: Option<&mut [f32]>) -> f64 {
    assert!(yhat.len() == y.len() && n > 0);
    let inv_n = 1.0 / n as f64;
    let loss: f64 = yhat.iter().zip(y).map(|(&p, &t)| 0.5 * (p as f64 - t as f64).powi(2)).sum();
    if let Some(g) = grad {
        for ((o, &p), &t) in g.iter_mut().zip(yhat).zip(y) {
            *o = ((p as f64 - t as f64) * inv_n) as f32;
        }
    }
    loss * inv_n
}

/// Number of rows whose largest output sits where the label row is largest
/// (first index wins ties on both sides).
pub fn count_correct(yhat: &[f32], y: &[f32], cols: usize) -> u32 {
    assert!(cols > 0 && yhat.len() == y.len());
    yhat.chunks_exact(cols).zip(y.chunks_exact(cols)).filter(|(p, t)| argmax(p) == argmax(t)).count() as u32
}

pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

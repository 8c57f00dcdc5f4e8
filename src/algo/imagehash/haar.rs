//! PyWavelets' 2-D Haar transform (`wavedec2` / `waverec2`, mode `symmetric`) in its `f64`
//! operation order, as imagehash's `whash` uses it.
//!
//! For the Haar filters (`dec_lo = [h, h]`, `dec_hi = [-h, h]`, `rec_lo = [h, h]`,
//! `rec_hi = [h, -h]`, `h = 0.7071067811865476`) on even lengths, PyWavelets' convolutions reduce to
//!
//! * analysis: `a[i] = (0 + h*x[2i+1]) + h*x[2i]`, `d[i] = (0 + (-h)*x[2i+1]) + h*x[2i]`;
//! * synthesis: `x[2i] = (0 + h*a[i]) + h*d[i]`, `x[2i+1] = (0 + h*a[i]) + (-h)*d[i]`;
//!
//! each product and sum rounded to `f64` in that order (PyWavelets' loops start their sums at
//! zero, which is kept: it turns `-0.0` into `0.0`). `dwt2` transforms axis 0 (the vertical
//! direction) first and then axis 1; `idwt2` undoes axis 1 first and then axis 0. Checked bit for
//! bit, signs of zeros included, against PyWavelets 1.9.0 on random, symmetric, flat and gradient
//! images of 8 to 256 pixels.

/// `1 / sqrt(2)` as PyWavelets stores its Haar filter taps.
const H: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// A square `f64` image, row-major.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plane {
    pub(crate) side: usize,
    pub(crate) data: Vec<f64>,
}

impl Plane {
    fn zeros(side: usize) -> Plane {
        Plane {
            side,
            data: vec![0.0; side * side],
        }
    }
}

/// The four subbands of one `dwt2` level; `lh` is the detail PyWavelets keys `'da'` (detail along
/// axis 0, approximation along axis 1), `hl` is `'ad'`, `hh` is `'dd'`.
struct Level {
    lh: Plane,
    hl: Plane,
    hh: Plane,
}

#[inline]
fn analyse(even: f64, odd: f64) -> (f64, f64) {
    ((0.0 + H * odd) + H * even, (0.0 + -H * odd) + H * even)
}

#[inline]
fn synthesise(a: f64, d: f64) -> (f64, f64) {
    ((0.0 + H * a) + H * d, (0.0 + H * a) + -H * d)
}

/// One `pywt.dwt2(x, 'haar')` level: returns the approximation and the three details.
fn dwt2(x: &Plane) -> (Plane, Level) {
    let n = x.side;
    let m = n / 2;
    // Axis 0: pairs of rows.
    let mut lo0 = vec![0f64; m * n];
    let mut hi0 = vec![0f64; m * n];
    for i in 0..m {
        let even = &x.data[2 * i * n..(2 * i + 1) * n];
        let odd = &x.data[(2 * i + 1) * n..(2 * i + 2) * n];
        for j in 0..n {
            let (a, d) = analyse(even[j], odd[j]);
            lo0[i * n + j] = a;
            hi0[i * n + j] = d;
        }
    }
    // Axis 1: pairs of columns, for both halves.
    let split = |src: &[f64]| {
        let (mut a, mut d) = (Plane::zeros(m), Plane::zeros(m));
        for i in 0..m {
            for j in 0..m {
                let (lo, hi) = analyse(src[i * n + 2 * j], src[i * n + 2 * j + 1]);
                a.data[i * m + j] = lo;
                d.data[i * m + j] = hi;
            }
        }
        (a, d)
    };
    let (ll, hl) = split(&lo0);
    let (lh, hh) = split(&hi0);
    (ll, Level { lh, hl, hh })
}

/// The approximation part of one `dwt2` level only (the details are not needed).
fn dwt2_approx(x: &Plane) -> Plane {
    let n = x.side;
    let m = n / 2;
    let mut lo0 = vec![0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            lo0[i * n + j] = analyse(x.data[2 * i * n + j], x.data[(2 * i + 1) * n + j]).0;
        }
    }
    let mut a = Plane::zeros(m);
    for i in 0..m {
        for j in 0..m {
            a.data[i * m + j] = analyse(lo0[i * n + 2 * j], lo0[i * n + 2 * j + 1]).0;
        }
    }
    a
}

/// One `pywt.idwt2((ll, (lh, hl, hh)), 'haar')` level.
fn idwt2(ll: &Plane, d: &Level) -> Plane {
    let m = ll.side;
    let n = 2 * m;
    // Axis 1 first: (ll, hl) -> lo0 rows, (lh, hh) -> hi0 rows, each m x n.
    let merge = |a: &Plane, b: &Plane| {
        let mut out = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..m {
                let (e, o) = synthesise(a.data[i * m + j], b.data[i * m + j]);
                out[i * n + 2 * j] = e;
                out[i * n + 2 * j + 1] = o;
            }
        }
        out
    };
    let lo0 = merge(ll, &d.hl);
    let hi0 = merge(&d.lh, &d.hh);
    // Axis 0.
    let mut x = Plane::zeros(n);
    for i in 0..m {
        for j in 0..n {
            let (e, o) = synthesise(lo0[i * n + j], hi0[i * n + j]);
            x.data[2 * i * n + j] = e;
            x.data[(2 * i + 1) * n + j] = o;
        }
    }
    x
}

/// imagehash's `remove_max_haar_ll` step: `wavedec2` to `levels` levels, zero the final
/// approximation, `waverec2`.
pub(crate) fn remove_lowest_ll(x: Plane, levels: u32) -> Plane {
    let mut details = Vec::with_capacity(levels as usize);
    let mut a = x;
    for _ in 0..levels {
        let (next, level) = dwt2(&a);
        details.push(level);
        a = next;
    }
    // `coeffs[0] *= 0`: a zero approximation (the sign of a zero never matters below).
    a.data.fill(0.0);
    for level in details.iter().rev() {
        a = idwt2(&a, level);
    }
    a
}

/// `pywt.wavedec2(x, 'haar', level=levels)[0]`: the approximation after `levels` levels.
pub(crate) fn approximation(x: Plane, levels: u32) -> Plane {
    (0..levels).fold(x, |a, _| dwt2_approx(&a))
}

//! libjpeg's accurate integer inverse DCTs, bit for bit: the 8x8 one (`jpeg_idct_islow`,
//! jidctint.c) and the 8x8-to-4x4 one that 1/2-scale decoding runs (`jpeg_idct_4x4`,
//! jidctred.c).
//!
//! [`scalar`] is a line-for-line port of the C (64-bit intermediates, as the C's `JLONG`), the
//! oracle of the tests. The AVX2 version is a port of libjpeg-turbo's own AVX2 routine, which
//! Pillow runs: the two agree on every block a real 8-bit JPEG holds (dequantized coefficients
//! and first-pass values within 16 bits), and on corrupt blocks beyond that the AVX2 version
//! saturates exactly as Pillow's libjpeg-turbo does.
//!
//! [`scalar_4x4`] is likewise the C of `jpeg_idct_4x4` line for line; libjpeg-turbo has no AVX2
//! version of it (and Pillow's C is what it runs there), so [`avx2_4x4`] computes the C's own
//! arithmetic, in 16-bit lanes where the values allow (every real JPEG) and 64-bit ones where
//! they don't, and equals it on every input, corrupt ones included.
//!
//! The C's final clamp is its `range_limit[x & RANGE_MASK]` table, written here as arithmetic:
//! the table maps `x & 1023`, read as a signed 10-bit number `t`, to `clamp(t + 128, 0, 255)`.

/// `CONST_BITS` and `PASS1_BITS` of jidctint.c (8-bit samples).
const CONST_BITS: u32 = 13;
const PASS1_BITS: u32 = 2;

const FIX_0_298631336: i64 = 2446;
const FIX_0_390180644: i64 = 3196;
const FIX_0_541196100: i64 = 4433;
const FIX_0_765366865: i64 = 6270;
const FIX_0_899976223: i64 = 7373;
const FIX_1_175875602: i64 = 9633;
const FIX_1_501321110: i64 = 12299;
const FIX_1_847759065: i64 = 15137;
const FIX_1_961570560: i64 = 16069;
const FIX_2_053119869: i64 = 16819;
const FIX_2_562915447: i64 = 20995;
const FIX_3_072711026: i64 = 25172;
// jidctred.c's own.
const FIX_0_211164243: i64 = 1730;
const FIX_0_509795579: i64 = 4176;
const FIX_0_601344887: i64 = 4926;
const FIX_1_061594337: i64 = 8697;
const FIX_1_451774981: i64 = 11893;
const FIX_2_172734803: i64 = 17799;

/// The C's `IDCT_range_limit(cinfo)[x & RANGE_MASK]`.
pub(super) fn range_limit(x: i64) -> u8 {
    let t = ((x as i32) << 22) >> 22;
    (t + 128).clamp(0, 255) as u8
}

/// `DESCALE(x, n)`: round, then shift right arithmetically.
pub(super) fn descale(x: i64, n: u32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

#[cfg(test)]
/// The even and odd halves of one 1-D pass, shared by both passes of [`scalar`]: `v` are the
/// eight inputs, the result the eight outputs before descaling.
fn butterfly(v: [i64; 8]) -> [i64; 8] {
    let z1 = (v[2] + v[6]) * FIX_0_541196100;
    let tmp2 = z1 + v[6] * -FIX_1_847759065;
    let tmp3 = z1 + v[2] * FIX_0_765366865;
    let tmp0 = (v[0] + v[4]) << CONST_BITS;
    let tmp1 = (v[0] - v[4]) << CONST_BITS;
    let (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);

    let (t0, t1, t2, t3) = (v[7], v[5], v[3], v[1]);
    let z1 = t0 + t3;
    let z2 = t1 + t2;
    let z3 = t0 + t2;
    let z4 = t1 + t3;
    let z5 = (z3 + z4) * FIX_1_175875602;
    let z1 = z1 * -FIX_0_899976223;
    let z2 = z2 * -FIX_2_562915447;
    let z3 = z3 * -FIX_1_961570560 + z5;
    let z4 = z4 * -FIX_0_390180644 + z5;
    let t0 = t0 * FIX_0_298631336 + z1 + z3;
    let t1 = t1 * FIX_2_053119869 + z2 + z4;
    let t2 = t2 * FIX_3_072711026 + z2 + z3;
    let t3 = t3 * FIX_1_501321110 + z1 + z4;
    [
        tmp10 + t3,
        tmp11 + t2,
        tmp12 + t1,
        tmp13 + t0,
        tmp13 - t0,
        tmp12 - t1,
        tmp11 - t2,
        tmp10 - t3,
    ]
}

#[cfg(test)]
/// `jpeg_idct_islow` on one block: `coef` in natural order, `quant` its quantization table
/// (natural order), `out[r]` the eight output samples of row `r`.
pub(crate) fn scalar(coef: &[i16; 64], quant: &[u16; 64], out: &mut [[u8; 8]; 8]) {
    let mut ws = [0i64; 64];
    for c in 0..8 {
        // DEQUANTIZE is an `int` product in the C.
        let v: [i64; 8] = std::array::from_fn(|r| {
            i64::from(i32::from(coef[8 * r + c]).wrapping_mul(i32::from(quant[8 * r + c])))
        });
        for (r, x) in butterfly(v).into_iter().enumerate() {
            ws[8 * r + c] = i64::from(descale(x, CONST_BITS - PASS1_BITS) as i32);
        }
    }
    for (r, row) in out.iter_mut().enumerate() {
        let v: [i64; 8] = std::array::from_fn(|c| ws[8 * r + c]);
        for (o, x) in row.iter_mut().zip(butterfly(v)) {
            *o = range_limit(descale(x, CONST_BITS + PASS1_BITS + 3));
        }
    }
}

#[cfg(test)]
/// One 1-D pass of `jpeg_idct_4x4`, shared by both passes of [`scalar_4x4`]: `v` are the eight
/// inputs (`v[4]` unused), the result the four outputs before descaling.
fn butterfly_4x4(v: [i64; 8]) -> [i64; 4] {
    // Even part.
    let tmp0 = v[0] << (CONST_BITS + 1);
    let tmp2 = v[2] * FIX_1_847759065 + v[6] * -FIX_0_765366865;
    let (tmp10, tmp12) = (tmp0 + tmp2, tmp0 - tmp2);

    // Odd part.
    let (z1, z2, z3, z4) = (v[7], v[5], v[3], v[1]);
    let tmp0 =
        z1 * -FIX_0_211164243 + z2 * FIX_1_451774981 + z3 * -FIX_2_172734803 + z4 * FIX_1_061594337;
    let tmp2 =
        z1 * -FIX_0_509795579 + z2 * -FIX_0_601344887 + z3 * FIX_0_899976223 + z4 * FIX_2_562915447;
    [tmp10 + tmp2, tmp12 + tmp0, tmp12 - tmp0, tmp10 - tmp2]
}

#[cfg(test)]
/// `jpeg_idct_4x4` on one block: `coef` in natural order, `quant` the multiplier table the C
/// reads (`compptr->dct_table`: `int`s, which jddctmgr.c copies from the quantization table),
/// `out[r]` the four output samples of row `r`. The C's `int` products and stores wrap (two's
/// complement, as gcc and clang compile them); its `JLONG` sums are `i64` and never overflow.
pub(crate) fn scalar_4x4(coef: &[i16; 64], quant: &[i32; 64], out: &mut [[u8; 4]; 4]) {
    const AC: [usize; 6] = [1, 2, 3, 5, 6, 7];
    let mut ws = [0i32; 32];
    // Pass 1: columns, but for column 4, which pass 2 doesn't read.
    for c in (0..8).filter(|&c| c != 4) {
        // DEQUANTIZE is an `int` product.
        let v: [i64; 8] = std::array::from_fn(|r| {
            i64::from(i32::from(coef[8 * r + c]).wrapping_mul(quant[8 * r + c]))
        });
        if AC.iter().all(|&r| coef[8 * r + c] == 0) {
            // LEFT_SHIFT to `JLONG`, stored into an `int`.
            let dcval = (v[0] << PASS1_BITS) as i32;
            for r in 0..4 {
                ws[8 * r + c] = dcval;
            }
            continue;
        }
        for (r, x) in butterfly_4x4(v).into_iter().enumerate() {
            ws[8 * r + c] = descale(x, CONST_BITS - PASS1_BITS + 1) as i32;
        }
    }
    // Pass 2: rows.
    for (r, row) in out.iter_mut().enumerate() {
        let v: [i64; 8] = std::array::from_fn(|c| i64::from(ws[8 * r + c]));
        if AC.iter().all(|&c| v[c] == 0) {
            *row = [range_limit(descale(v[0], PASS1_BITS + 3)); 4];
            continue;
        }
        for (o, x) in row.iter_mut().zip(butterfly_4x4(v)) {
            *o = range_limit(descale(x, CONST_BITS + PASS1_BITS + 3 + 1));
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::idct as avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86::idct_4x4 as avx2_4x4;

/// libjpeg-turbo's AVX2 ISLOW (`jsimd_idct_islow_avx2`, simd/x86_64/jidctint-avx2.asm), which
/// is what Pillow runs on an AVX2 machine, instruction for instruction: 16-bit dequantization,
/// 16-bit sums, `vpmaddwd` products, saturating packs between the passes and at the end. On
/// every block a real 8-bit JPEG holds it equals the C (and [`scalar`]); on corrupt blocks
/// whose values overflow 16 bits it saturates as libjpeg-turbo's SIMD does (and Pillow's
/// pixels are those), where the C wraps.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::*;
    use crate::arch::x86::Avx2;

    /// `PASS1_BITS` descale of the first pass, and the second pass's.
    const DESCALE_P1: i32 = (CONST_BITS - PASS1_BITS) as i32;
    const DESCALE_P2: i32 = (CONST_BITS + PASS1_BITS + 3) as i32;

    /// The IDCT of one block with AVX2.
    pub(crate) fn idct(_: Avx2, coef: &[i16; 64], quant: &[u16; 64], out: &mut [[u8; 8]; 8]) {
        // SAFETY: the token proves AVX2.
        unsafe { run(coef, quant, out) }
    }

    /// Eight 16-bit constant pairs for the low 128-bit lane and eight for the high one.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn pairs(lo: (i64, i64), hi: (i64, i64)) -> __m256i {
        let (a, b, c, d) = (lo.0 as i16, lo.1 as i16, hi.0 as i16, hi.1 as i16);
        _mm256_setr_epi16(a, b, a, b, a, b, a, b, c, d, c, d, c, d, c, d)
    }

    /// `dodct`: one pass on four registers of two rows each, `in0_4`, `in3_1`, `in2_6` and
    /// `in7_5`; returns `data0_1`, `data3_2`, `data4_5`, `data7_6`, descaled by `SHIFT`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn dodct<const SHIFT: i32>(
        in0_4: __m256i,
        in3_1: __m256i,
        in2_6: __m256i,
        in7_5: __m256i,
    ) -> [__m256i; 4] {
        // Even part: tmp3 = z2 * (F541 + F765) + z3 * F541, tmp2 = z6 * (F541 - F1847) + z2 * F541.
        let in6_2 = _mm256_permute2x128_si256::<0x01>(in2_6, in2_6);
        let k = pairs(
            (FIX_0_541196100 + FIX_0_765366865, FIX_0_541196100),
            (FIX_0_541196100 - FIX_1_847759065, FIX_0_541196100),
        );
        let tmp3_2l = _mm256_madd_epi16(_mm256_unpacklo_epi16(in2_6, in6_2), k);
        let tmp3_2h = _mm256_madd_epi16(_mm256_unpackhi_epi16(in2_6, in6_2), k);

        let in4_0 = _mm256_permute2x128_si256::<0x01>(in0_4, in0_4);
        let sign = _mm256_setr_epi16(1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1);
        let sums = _mm256_add_epi16(in4_0, _mm256_sign_epi16(in0_4, sign));
        let zero = _mm256_setzero_si256();
        let tmp0_1l =
            _mm256_srai_epi32::<{ 16 - CONST_BITS as i32 }>(_mm256_unpacklo_epi16(zero, sums));
        let tmp0_1h =
            _mm256_srai_epi32::<{ 16 - CONST_BITS as i32 }>(_mm256_unpackhi_epi16(zero, sums));
        let tmp13_12l = _mm256_sub_epi32(tmp0_1l, tmp3_2l);
        let tmp10_11l = _mm256_add_epi32(tmp0_1l, tmp3_2l);
        let tmp13_12h = _mm256_sub_epi32(tmp0_1h, tmp3_2h);
        let tmp10_11h = _mm256_add_epi32(tmp0_1h, tmp3_2h);

        // Odd part.
        let z3_4 = _mm256_add_epi16(in7_5, in3_1);
        let z4_3 = _mm256_permute2x128_si256::<0x01>(z3_4, z3_4);
        let k = pairs(
            (FIX_1_175875602 - FIX_1_961570560, FIX_1_175875602),
            (FIX_1_175875602 - FIX_0_390180644, FIX_1_175875602),
        );
        let z3_4l = _mm256_madd_epi16(_mm256_unpacklo_epi16(z3_4, z4_3), k);
        let z3_4h = _mm256_madd_epi16(_mm256_unpackhi_epi16(z3_4, z4_3), k);

        let in1_3 = _mm256_permute2x128_si256::<0x01>(in3_1, in3_1);
        let in71_53l = _mm256_unpacklo_epi16(in7_5, in1_3);
        let in71_53h = _mm256_unpackhi_epi16(in7_5, in1_3);
        let k = pairs(
            (FIX_0_298631336 - FIX_0_899976223, -FIX_0_899976223),
            (FIX_2_053119869 - FIX_2_562915447, -FIX_2_562915447),
        );
        let tmp0_1l = _mm256_add_epi32(_mm256_madd_epi16(in71_53l, k), z3_4l);
        let tmp0_1h = _mm256_add_epi32(_mm256_madd_epi16(in71_53h, k), z3_4h);
        let k = pairs(
            (-FIX_0_899976223, FIX_1_501321110 - FIX_0_899976223),
            (-FIX_2_562915447, FIX_3_072711026 - FIX_2_562915447),
        );
        let z4_3l = _mm256_permute2x128_si256::<0x01>(z3_4l, z3_4l);
        let z4_3h = _mm256_permute2x128_si256::<0x01>(z3_4h, z3_4h);
        let tmp3_2l = _mm256_add_epi32(_mm256_madd_epi16(in71_53l, k), z4_3l);
        let tmp3_2h = _mm256_add_epi32(_mm256_madd_epi16(in71_53h, k), z4_3h);

        // Final output stage.
        let round = _mm256_set1_epi32(1 << (SHIFT - 1));
        let out = |l: __m256i, h: __m256i| {
            _mm256_packs_epi32(
                _mm256_srai_epi32::<SHIFT>(_mm256_add_epi32(l, round)),
                _mm256_srai_epi32::<SHIFT>(_mm256_add_epi32(h, round)),
            )
        };
        [
            out(
                _mm256_add_epi32(tmp10_11l, tmp3_2l),
                _mm256_add_epi32(tmp10_11h, tmp3_2h),
            ),
            out(
                _mm256_add_epi32(tmp13_12l, tmp0_1l),
                _mm256_add_epi32(tmp13_12h, tmp0_1h),
            ),
            out(
                _mm256_sub_epi32(tmp13_12l, tmp0_1l),
                _mm256_sub_epi32(tmp13_12h, tmp0_1h),
            ),
            out(
                _mm256_sub_epi32(tmp10_11l, tmp3_2l),
                _mm256_sub_epi32(tmp10_11h, tmp3_2h),
            ),
        ]
    }

    /// `dotranspose`: `data0_1, data3_2, data4_5, data7_6` to `data0_4, data1_5, data2_6,
    /// data3_7` of the transposed 8x8 16-bit matrix.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn transpose(m: [__m256i; 4]) -> [__m256i; 4] {
        let t5 = _mm256_permute4x64_epi64::<0xD8>(m[0]);
        let t6 = _mm256_permute4x64_epi64::<0x72>(m[1]);
        let t7 = _mm256_permute4x64_epi64::<0xD8>(m[2]);
        let t8 = _mm256_permute4x64_epi64::<0x72>(m[3]);
        let a1 = _mm256_unpacklo_epi16(t5, t6);
        let a2 = _mm256_unpackhi_epi16(t5, t6);
        let a3 = _mm256_unpacklo_epi16(t7, t8);
        let a4 = _mm256_unpackhi_epi16(t7, t8);
        let b5 = _mm256_unpacklo_epi16(a1, a2);
        let b6 = _mm256_unpacklo_epi16(a3, a4);
        let b7 = _mm256_unpackhi_epi16(a1, a2);
        let b8 = _mm256_unpackhi_epi16(a3, a4);
        [
            _mm256_unpacklo_epi64(b5, b6),
            _mm256_unpackhi_epi64(b5, b6),
            _mm256_unpacklo_epi64(b7, b8),
            _mm256_unpackhi_epi64(b7, b8),
        ]
    }

    #[target_feature(enable = "avx2")]
    fn run(coef: &[i16; 64], quant: &[u16; 64], out: &mut [[u8; 8]; 8]) {
        // SAFETY: 32 bytes at element `16 * i` (i < 4) of 64-element arrays of 2-byte values.
        let load =
            |a: *const u8, i: usize| unsafe { _mm256_loadu_si256(a.add(32 * i).cast::<__m256i>()) };
        let (c, q) = (coef.as_ptr().cast::<u8>(), quant.as_ptr().cast::<u8>());
        // Rows 1..7 all zero: every column of the first pass is its dequantized DC, shifted.
        // SAFETY: 16 bytes at element 8 * r (r < 8).
        let row = |r: usize| unsafe { _mm_loadu_si128(coef.as_ptr().add(8 * r).cast()) };
        let ac = (2..8).fold(row(1), |acc, r| _mm_or_si128(acc, row(r)));
        let [d0, d1, d2, d3] = if _mm_testz_si128(ac, ac) != 0 {
            // SAFETY: 16 bytes at the start of `quant`.
            let q0 = unsafe { _mm_loadu_si128(quant.as_ptr().cast()) };
            let dc = _mm_slli_epi16::<{ PASS1_BITS as i32 }>(_mm_mullo_epi16(row(0), q0));
            let x = _mm256_inserti128_si256::<1>(
                _mm256_castsi128_si256(_mm_unpacklo_epi16(dc, dc)),
                _mm_unpackhi_epi16(dc, dc),
            );
            [
                _mm256_shuffle_epi32::<0x00>(x),
                _mm256_shuffle_epi32::<0x55>(x),
                _mm256_shuffle_epi32::<0xAA>(x),
                _mm256_shuffle_epi32::<0xFF>(x),
            ]
        } else {
            let in0_1 = _mm256_mullo_epi16(load(c, 0), load(q, 0));
            let in2_3 = _mm256_mullo_epi16(load(c, 1), load(q, 1));
            let in4_5 = _mm256_mullo_epi16(load(c, 2), load(q, 2));
            let in6_7 = _mm256_mullo_epi16(load(c, 3), load(q, 3));
            let data = dodct::<DESCALE_P1>(
                _mm256_permute2x128_si256::<0x20>(in0_1, in4_5),
                _mm256_permute2x128_si256::<0x31>(in2_3, in0_1),
                _mm256_permute2x128_si256::<0x20>(in2_3, in6_7),
                _mm256_permute2x128_si256::<0x31>(in6_7, in4_5),
            );
            transpose(data)
        };

        // Pass 2: rows.
        let in7_5 = _mm256_permute2x128_si256::<0x31>(d3, d1);
        let in3_1 = _mm256_permute2x128_si256::<0x20>(d3, d1);
        let [r0, r1, r2, r3] = transpose(dodct::<DESCALE_P2>(d0, in3_1, d2, in7_5));
        let center = _mm256_set1_epi8(-128);
        let rows01_45 = _mm256_add_epi8(_mm256_packs_epi16(r0, r1), center);
        let rows23_67 = _mm256_add_epi8(_mm256_packs_epi16(r2, r3), center);
        let bytes = |v: __m256i, i: usize| -> [u8; 8] {
            let lane = if i < 2 {
                _mm256_castsi256_si128(v)
            } else {
                _mm256_extracti128_si256::<1>(v)
            };
            let q = if i.is_multiple_of(2) {
                _mm_cvtsi128_si64(lane)
            } else {
                _mm_extract_epi64::<1>(lane)
            };
            q.to_le_bytes()
        };
        for i in 0..4 {
            out[[0, 1, 4, 5][i]] = bytes(rows01_45, i);
            out[[2, 3, 6, 7][i]] = bytes(rows23_67, i);
        }
    }

    /// `jpeg_idct_4x4` of one block with AVX2: [`scalar_4x4`]'s bytes for every input.
    pub(crate) fn idct_4x4(_: Avx2, coef: &[i16; 64], quant: &[i32; 64], out: &mut [[u8; 4]; 4]) {
        // SAFETY: the token proves AVX2.
        unsafe { run_4x4(coef, quant, out) }
    }

    /// The C's arithmetic, exactly. Its first pass is computed in 16-bit lanes where every
    /// input fits (all real JPEGs), else in 64-bit ones; its second pass, of which the C keeps
    /// bits 19 to 28 (`range_limit[x >> 19 & 1023]`), in wrapping 32-bit lanes. The C's
    /// shortcuts for a column or row without AC terms compute what its full formulas give
    /// (`DESCALE(dc << 14, 12) == dc << 2` in pass 1, `DESCALE(dc << 14, 19) == DESCALE(dc, 5)`
    /// in pass 2), so only the one for a whole block, the commonest, is taken here.
    #[target_feature(enable = "avx2")]
    fn run_4x4(coef: &[i16; 64], quant: &[i32; 64], out: &mut [[u8; 4]; 4]) {
        // Only the DC term (row and column 4 aside, which the C never reads): its shortcuts
        // give every sample `range_limit[DESCALE((int)(dc << 2), 5)]`.
        // SAFETY: 16 bytes at element 8 * r of `coef` (r < 8).
        let row = |r: usize| unsafe { _mm_loadu_si128(coef.as_ptr().add(8 * r).cast()) };
        let ac = [1, 2, 3, 5, 6, 7].map(row).into_iter().fold(
            _mm_and_si128(row(0), _mm_setr_epi16(0, -1, -1, -1, 0, -1, -1, -1)),
            |a, b| _mm_or_si128(a, b),
        );
        if _mm_testz_si128(ac, ac) != 0 {
            let dc = i32::from(coef[0]).wrapping_mul(quant[0]).wrapping_mul(4);
            *out = [[range_limit(descale(i64::from(dc), PASS1_BITS + 3)); 4]; 4];
            return;
        }
        // DEQUANTIZE's `int` products, row `r`, column `c` in 32-bit lane `c`.
        let dq = |r: usize| {
            // SAFETY: 16 bytes at element 8 * r of `coef`, 32 at element 8 * r of `quant`
            // (r < 8).
            let (c, q) = unsafe {
                (
                    _mm_loadu_si128(coef.as_ptr().add(8 * r).cast()),
                    _mm256_loadu_si256(quant.as_ptr().add(8 * r).cast()),
                )
            };
            _mm256_mullo_epi32(_mm256_cvtepi16_epi32(c), q)
        };
        // Row 4 doesn't reach a 4x4 output.
        let zero = _mm256_setzero_si256();
        let d = [dq(0), dq(1), dq(2), dq(3), zero, dq(5), dq(6), dq(7)];
        let ws = match pass1_narrow(&d) {
            Some(ws) => ws,
            None => pass1_wide(&d),
        };
        pass2(ws, out);
    }

    /// Two 16-bit constants in each 32-bit lane, `a` low, for `vpmaddwd`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn pair(a: i64, b: i64) -> __m256i {
        _mm256_set1_epi32(i32::from(a as i16 as u16) | (b as i32) << 16)
    }

    /// Pass 1 (columns) in 16-bit lanes: `d[r]` the dequantized row `r` (`d[4]` unused), the
    /// result the workspace rows 0..4, column `c` in 32-bit lane `c`. `None` unless every
    /// input is within ±16384, which bounds the C's sums below 2^31: they are then exact in
    /// `vpmaddwd`'s 32 bits.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn pass1_narrow(d: &[__m256i; 8]) -> Option<[__m256i; 4]> {
        // Rows a, b packed to 16 bits: columns 0..4 of a, of b | 4..8 of a, of b.
        let p27 = _mm256_packs_epi32(d[2], d[7]);
        let p65 = _mm256_packs_epi32(d[6], d[5]);
        let p30 = _mm256_packs_epi32(d[3], d[0]);
        let p1z = _mm256_packs_epi32(d[1], _mm256_setzero_si256());
        // In -16384..=16383 when adding 16384 leaves the sign clear; a value that saturated
        // the pack is out of range too.
        let bias = |p: __m256i| _mm256_add_epi16(p, _mm256_set1_epi16(16384));
        let any = _mm256_or_si256(
            _mm256_or_si256(bias(p27), bias(p65)),
            _mm256_or_si256(bias(p30), bias(p1z)),
        );
        if _mm256_testz_si256(any, _mm256_set1_epi16(i16::MIN)) == 0 {
            return None;
        }
        // The (z2, z6), (z7, z5), (z3, z1) and (z0, 0) pairs of every column, in its lane.
        let z26 = _mm256_unpacklo_epi16(p27, p65);
        let z75 = _mm256_unpackhi_epi16(p27, p65);
        let z31 = _mm256_unpacklo_epi16(p30, p1z);
        let z0 = _mm256_unpackhi_epi16(p30, p1z);
        let (add, sub, madd) = (_mm256_add_epi32, _mm256_sub_epi32, _mm256_madd_epi16);

        const SHIFT: i32 = (CONST_BITS - PASS1_BITS + 1) as i32;
        let tmp0 = add(
            madd(z0, pair(1 << (CONST_BITS + 1), 0)),
            _mm256_set1_epi32(1 << (SHIFT - 1)),
        );
        let tmp2 = madd(z26, pair(FIX_1_847759065, -FIX_0_765366865));
        let (tmp10, tmp12) = (add(tmp0, tmp2), sub(tmp0, tmp2));
        let tmp0 = add(
            madd(z75, pair(-FIX_0_211164243, FIX_1_451774981)),
            madd(z31, pair(-FIX_2_172734803, FIX_1_061594337)),
        );
        let tmp2 = add(
            madd(z75, pair(-FIX_0_509795579, -FIX_0_601344887)),
            madd(z31, pair(FIX_0_899976223, FIX_2_562915447)),
        );
        let out = |x: __m256i| _mm256_srai_epi32::<SHIFT>(x);
        Some([
            out(add(tmp10, tmp2)),
            out(add(tmp12, tmp0)),
            out(sub(tmp12, tmp0)),
            out(sub(tmp10, tmp2)),
        ])
    }

    /// Pass 1 for any input, in 64-bit lanes, with [`pass1_narrow`]'s arguments and result.
    /// The C's `JLONG` values are exact there (they stay within 48 bits), and its
    /// `(int)DESCALE(x, 12)` keeps bits 12 to 43 of `x + 2^11`, which a logical shift moves
    /// into a lane's low half as well as the C's arithmetic one.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn pass1_wide(d: &[__m256i; 8]) -> [__m256i; 4] {
        // `vpmuldq` reads the low half of each 64-bit lane, as signed: columns 0, 2, 4, 6 of
        // `d`; shifted down, 1, 3, 5, 7.
        let odd = d.map(|v| _mm256_srli_epi64::<32>(v));
        const SHIFT: i32 = (CONST_BITS - PASS1_BITS + 1) as i32;
        let pass = |x: &[__m256i; 8]| {
            let mul = |v: __m256i, k: i64| _mm256_mul_epi32(v, _mm256_set1_epi64x(k));
            let (add, sub) = (_mm256_add_epi64, _mm256_sub_epi64);
            let sum4 = |a, b, c, d| add(add(a, b), add(c, d));
            let tmp0 = add(
                mul(x[0], 1 << (CONST_BITS + 1)),
                _mm256_set1_epi64x(1 << (SHIFT - 1)),
            );
            let tmp2 = add(mul(x[2], FIX_1_847759065), mul(x[6], -FIX_0_765366865));
            let (tmp10, tmp12) = (add(tmp0, tmp2), sub(tmp0, tmp2));
            let (z1, z2, z3, z4) = (x[7], x[5], x[3], x[1]);
            let tmp0 = sum4(
                mul(z1, -FIX_0_211164243),
                mul(z2, FIX_1_451774981),
                mul(z3, -FIX_2_172734803),
                mul(z4, FIX_1_061594337),
            );
            let tmp2 = sum4(
                mul(z1, -FIX_0_509795579),
                mul(z2, -FIX_0_601344887),
                mul(z3, FIX_0_899976223),
                mul(z4, FIX_2_562915447),
            );
            [
                add(tmp10, tmp2),
                add(tmp12, tmp0),
                sub(tmp12, tmp0),
                sub(tmp10, tmp2),
            ]
        };
        let (even, odd) = (pass(d), pass(&odd));
        // Bits 12 to 43 into the low half of a lane for even columns, the high for odd ones.
        std::array::from_fn(|r| {
            _mm256_blend_epi32::<0xAA>(
                _mm256_srli_epi64::<SHIFT>(even[r]),
                _mm256_slli_epi64::<{ 32 - SHIFT }>(odd[r]),
            )
        })
    }

    /// Pass 2 (rows) and the range limit: `ws[r]` the workspace row `r`, column `c` in 32-bit
    /// lane `c`. The C's sums are kept modulo 2^32 (wrapping), which holds the bits it uses.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn pass2(ws: [__m256i; 4], out: &mut [[u8; 4]; 4]) {
        // Transposed: `xab` holds column a of rows 0..4 | column b of rows 0..4.
        let t0 = _mm256_unpacklo_epi32(ws[0], ws[1]);
        let t1 = _mm256_unpackhi_epi32(ws[0], ws[1]);
        let t2 = _mm256_unpacklo_epi32(ws[2], ws[3]);
        let t3 = _mm256_unpackhi_epi32(ws[2], ws[3]);
        let x04 = _mm256_unpacklo_epi64(t0, t2);
        let x15 = _mm256_unpackhi_epi64(t0, t2);
        let x26 = _mm256_unpacklo_epi64(t1, t3);
        let x37 = _mm256_unpackhi_epi64(t1, t3);
        let (add, sub) = (_mm256_add_epi32, _mm256_sub_epi32);
        let mul = |v: __m256i, a: i64, b: i64| {
            let (a, b) = (a as i32, b as i32);
            _mm256_mullo_epi32(v, _mm256_setr_epi32(a, a, a, a, b, b, b, b))
        };
        // The two halves of `v` added, in both.
        let fold = |v: __m256i| add(v, _mm256_permute2x128_si256::<0x01>(v, v));

        // Even part: tmp10 | tmp12, with the rounding of the final descale.
        const SHIFT: i32 = (CONST_BITS + PASS1_BITS + 3 + 1) as i32;
        let tmp0 = add(
            _mm256_slli_epi32::<{ CONST_BITS as i32 + 1 }>(_mm256_permute2x128_si256::<0x00>(
                x04, x04,
            )),
            _mm256_set1_epi32(1 << (SHIFT - 1)),
        );
        let tmp2 = fold(mul(x26, FIX_1_847759065, -FIX_0_765366865));
        let sign = _mm256_setr_epi32(1, 1, 1, 1, -1, -1, -1, -1);
        let even = add(tmp0, _mm256_sign_epi32(tmp2, sign));
        // Odd part: tmp2 | tmp0.
        let tmp0 = add(
            mul(x15, FIX_1_061594337, FIX_1_451774981),
            mul(x37, -FIX_2_172734803, -FIX_0_211164243),
        );
        let tmp2 = add(
            mul(x15, FIX_2_562915447, -FIX_0_601344887),
            mul(x37, FIX_0_899976223, -FIX_0_509795579),
        );
        let odd = add(
            _mm256_permute2x128_si256::<0x20>(tmp2, tmp0),
            _mm256_permute2x128_si256::<0x31>(tmp2, tmp0),
        );
        // Output columns 0 | 1, and 3 | 2.
        let y01 = add(even, odd);
        let y32 = sub(even, odd);

        // Sample (r, j) is bits 19 to 28 of output column j's lane r, a signed 10-bit `t`,
        // mapped to `clamp(t + 128, 0, 255)`.
        let t = |v: __m256i| _mm256_srai_epi32::<22>(_mm256_slli_epi32::<3>(v));
        let words = _mm256_add_epi16(_mm256_packs_epi32(t(y01), t(y32)), _mm256_set1_epi16(128));
        // Bytes: columns 0, 3 | 1, 2 (four rows each), then 0, 3, 1, 2 to row-major.
        let cols = _mm256_permute4x64_epi64::<0x08>(_mm256_packus_epi16(words, words));
        let rows = _mm_shuffle_epi8(
            _mm256_castsi256_si128(cols),
            _mm_setr_epi8(0, 8, 12, 4, 1, 9, 13, 5, 2, 10, 14, 6, 3, 11, 15, 7),
        );
        // SAFETY: `out` is 16 bytes.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), rows) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::util::SplitMix64 as Rng;

    /// A value uniform in `lo..=hi`.
    fn range(rng: &mut Rng, lo: i32, hi: i32) -> i32 {
        lo + rng.below((hi - lo + 1) as u64) as i32
    }

    /// The IDCT straight from its definition (cosines in f64), before level shift and clamp.
    fn float_idct(coef: &[i16; 64], quant: &[u16; 64]) -> [[f64; 8]; 8] {
        let c = |u: usize| if u == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
        let mut out = [[0.0; 8]; 8];
        for (y, row) in out.iter_mut().enumerate() {
            for (x, o) in row.iter_mut().enumerate() {
                let mut s = 0.0;
                for v in 0..8 {
                    for u in 0..8 {
                        let f = f64::from(coef[8 * v + u]) * f64::from(quant[8 * v + u]);
                        s += c(u)
                            * c(v)
                            * f
                            * (((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0).cos()
                            * (((2 * y + 1) * v) as f64 * std::f64::consts::PI / 16.0).cos();
                    }
                }
                *o = s / 4.0;
            }
        }
        out
    }

    /// Blocks a real 8-bit JPEG holds: the forward DCT of an 8x8 block of samples (flat,
    /// gradients, noise, hard edges, black-and-white checkers), quantized with a random 8-bit
    /// table.
    fn block(rng: &mut Rng) -> ([i16; 64], [u16; 64]) {
        let mut quant = [0u16; 64];
        let fine = range(rng, 0, 3) == 0;
        for (i, q) in quant.iter_mut().enumerate() {
            *q = if fine {
                1
            } else {
                range(rng, 1, 8 + 3 * i as i32).min(255) as u16
            };
        }
        let kind = range(rng, 0, 4);
        let (a, b) = (range(rng, 0, 255), range(rng, 0, 255));
        let mut px = [[0f64; 8]; 8];
        for (y, row) in px.iter_mut().enumerate() {
            for (x, p) in row.iter_mut().enumerate() {
                let v = match kind {
                    0 => a,
                    1 => (a + (b - a) * (x + y) as i32 / 14).clamp(0, 255),
                    2 => range(rng, 0, 255),
                    3 => {
                        if (x + y) % 2 == 0 {
                            0
                        } else {
                            255
                        }
                    }
                    _ => {
                        if x < 3 + (y % 3) {
                            a
                        } else {
                            b
                        }
                    }
                };
                *p = f64::from(v) - 128.0;
            }
        }
        let c = |u: usize| if u == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
        let mut coef = [0i16; 64];
        for v in 0..8 {
            for u in 0..8 {
                let mut s = 0.0;
                for (y, row) in px.iter().enumerate() {
                    for (x, p) in row.iter().enumerate() {
                        s += p
                            * (((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0).cos()
                            * (((2 * y + 1) * v) as f64 * std::f64::consts::PI / 16.0).cos();
                    }
                }
                let f = c(u) * c(v) * s / 4.0;
                coef[8 * v + u] = (f / f64::from(quant[8 * v + u])).round() as i16;
            }
        }
        (coef, quant)
    }

    #[test]
    fn scalar_is_the_idct() {
        // libjpeg's ISLOW is within one level of the rounded exact transform (IEEE 1180).
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let (coef, quant) = block(&mut rng);
            let want = float_idct(&coef, &quant);
            let mut out = [[0u8; 8]; 8];
            scalar(&coef, &quant, &mut out);
            for y in 0..8 {
                for x in 0..8 {
                    let want = (want[y][x] + 128.0).clamp(0.0, 255.0);
                    let d = (f64::from(out[y][x]) - want).abs();
                    assert!(d <= 1.5, "({x},{y}): {} vs {want}", out[y][x]);
                }
            }
        }
    }

    #[test]
    fn range_limit_is_libjpegs_table() {
        // prepare_range_limit_table (jdmaster.c), indexed from IDCT_range_limit with & 1023.
        let mut table = vec![0u8; 1024];
        for (i, t) in table.iter_mut().enumerate() {
            *t = match i {
                0..=127 => (i + 128) as u8,
                128..=511 => 255,
                512..=895 => 0,
                _ => (i - 896) as u8,
            };
        }
        for x in -5000i64..5000 {
            assert_eq!(range_limit(x), table[(x & 1023) as usize], "{x}");
        }
    }

    /// Blocks for the 4x4 IDCT: real ones ([`block`]), or corrupt ones over the whole `i16`
    /// range; with real 8-bit quantization tables or 16-bit ones up to 65535, or values at the
    /// bounds of the AVX2 version's 16-bit first pass; often with columns whose AC terms (row
    /// 4 aside, which the C ignores) are all zero, the C's shortcut in pass 1, all of them but
    /// column 0's, its shortcut in pass 2, or only the DC term, the AVX2 version's.
    fn block_4x4(rng: &mut Rng) -> ([i16; 64], [i32; 64]) {
        let (mut coef, mut quant) = if range(rng, 0, 3) == 0 {
            let (coef, quant) = block(rng);
            (coef, quant.map(i32::from))
        } else {
            let coef = std::array::from_fn(|_| match range(rng, 0, 5) {
                0 => i16::MIN,
                1 => i16::MAX,
                2 => range(rng, -64, 64) as i16,
                _ => range(rng, -32768, 32767) as i16,
            });
            (coef, std::array::from_fn(|_| range(rng, 1, 255)))
        };
        match range(rng, 0, 4) {
            0 => quant = std::array::from_fn(|_| range(rng, 1, 65535)),
            1 => quant = [65535; 64],
            // At the bounds of the AVX2 version's 16-bit first pass: its sums are largest
            // when every input is at the bound, with the signs of the multipliers.
            2 => {
                let q = range(rng, 1, 2);
                let bound = [-28000, -16385, -16384, 16383, 16384, 28000].map(|b| b / q);
                coef = std::array::from_fn(|_| bound[range(rng, 0, 5) as usize] as i16);
                quant = [q; 64];
            }
            _ => {}
        }
        let zero_columns = match range(rng, 0, 4) {
            0 => 0,
            1 => rng.next() as u8,
            2 => !1,
            // Only the DC term, and row and column 4.
            _ => {
                for c in [1, 2, 3, 5, 6, 7] {
                    coef[c] = 0;
                }
                !0
            }
        };
        for c in (0..8).filter(|c| zero_columns & (1 << c) != 0) {
            for r in [1, 2, 3, 5, 6, 7] {
                coef[8 * r + c] = 0;
            }
        }
        (coef, quant)
    }

    #[test]
    fn scalar_4x4_is_the_idct() {
        // The 4x4 output is the 2x2 averages of the 8x8 IDCT, within about a level.
        let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
        for _ in 0..2000 {
            let (coef, quant) = block(&mut rng);
            let full = float_idct(&coef, &quant);
            let mut out = [[0u8; 4]; 4];
            scalar_4x4(&coef, &quant.map(i32::from), &mut out);
            for y in 0..4 {
                for x in 0..4 {
                    let sum: f64 = (0..4).map(|k| full[2 * y + k / 2][2 * x + k % 2]).sum();
                    let want = (sum / 4.0 + 128.0).clamp(0.0, 255.0);
                    let d = (f64::from(out[y][x]) - want).abs();
                    assert!(d <= 1.5, "({x},{y}): {} vs {want}", out[y][x]);
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_4x4_equals_scalar_4x4() {
        let Some(token) = crate::arch::x86::Avx2::new() else {
            return;
        };
        let check = |coef: &[i16; 64], quant: &[i32; 64], what: &dyn std::fmt::Display| {
            let (mut want, mut got) = ([[0u8; 4]; 4], [[1u8; 4]; 4]);
            avx2_4x4(token, coef, quant, &mut got);
            scalar_4x4(coef, quant, &mut want);
            assert_eq!(got, want, "{what}: {coef:?} {quant:?}");
        };
        let mut rng = Rng::new(11);
        for i in 0..100_000 {
            let (coef, quant) = block_4x4(&mut rng);
            check(&coef, &quant, &format_args!("block {i}"));
        }
        // One coefficient at a time, at the extremes, and whole blocks of one value.
        for q in [1, 2, 255, 256, 65535] {
            for v in [i16::MIN, -32767, -1, 1, 255, i16::MAX] {
                for p in 0..64 {
                    let mut coef = [0; 64];
                    coef[p] = v;
                    check(&coef, &[q; 64], &format_args!("{v} at {p}, q {q}"));
                }
                check(&[v; 64], &[q; 64], &format_args!("all {v}, q {q}"));
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_equals_scalar() {
        let Some(token) = crate::arch::x86::Avx2::new() else {
            return;
        };
        let mut rng = Rng::new(7);
        for i in 0..50_000 {
            let (coef, quant) = block(&mut rng);
            let (mut want, mut got) = ([[0u8; 8]; 8], [[1u8; 8]; 8]);
            avx2(token, &coef, &quant, &mut got);
            scalar(&coef, &quant, &mut want);
            assert_eq!(got, want, "block {i}: {coef:?} {quant:?}");
        }
        // Corrupt blocks far beyond 16 bits: libjpeg-turbo's SIMD saturates where the C wraps;
        // no panic, and every sample is written.
        let mut got = [[1u8; 8]; 8];
        avx2(token, &[i16::MIN; 64], &[u16::MAX; 64], &mut got);
        avx2(token, &[i16::MAX; 64], &[7; 64], &mut got);
    }
}

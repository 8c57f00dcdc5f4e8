//! libjpeg's three hot loops replaced by this crate's SIMD kernels, through libjpeg's own method
//! pointers: the inverse DCT ([`super::idct`]: the 8x8 one, and the 8x8-to-4x4 one of 1/2-scale
//! decoding), fancy chroma upsampling ([`super::upsample`]) and YCbCr to RGB conversion
//! ([`super::color`]). The C library is built without its assembly (that needs `nasm`), and
//! these loops are about two thirds of its decode time; the kernels compute the same bytes (each
//! is tested against a port of the C).
//!
//! libjpeg chooses its methods in `jpeg_start_decompress`, which calls each module's
//! `start_pass` once for a single output pass (the only kind we run); [`install`] runs right
//! after it and swaps in a kernel only where libjpeg chose the C routine the kernel ports, by
//! the same rules libjpeg used (jddctmgr.c, jdsample.c's `jinit_upsampler`, jdcolor.c), at every
//! scale (`scale_denom` 1, 2, 4, 8: a component's DCT is scaled to 8, 4, 2 or 1 samples, and
//! scaled decoding runs a larger one on chroma blocks it enlarges instead of upsampling). The
//! 8x8 and 4x4 IDCTs have kernels; the 2x2 and 1x1 ones, and anything else, keep libjpeg's code.
//!
//! The methods live in libjpeg's internal structs (jpegint.h, jdsample.h). `mozjpeg-sys`
//! doesn't export them, so they are mirrored here with `repr(C)`; the pointers to them are the
//! last fields of `jpeg_decompress_struct` in every libjpeg ABI, found from the struct's end.
//! [`install`] checks what it reads against values it can derive (component sizes, which
//! pointers are set) and installs nothing when anything disagrees. The kernels never panic on
//! what libjpeg passes; should one (a bug), it unwinds through libjpeg's frames (built with
//! `-fexceptions`) like our `error_exit` does, instead of aborting the process.

use std::os::raw::{c_int, c_uint, c_void};

use mozjpeg_sys as j;

use super::abi::{tail, CompInfo};
use super::{color, idct, upsample};
use crate::arch::x86::Avx2;

/// `MAX_COMPONENTS` (jmorecfg.h).
const MAX_COMPONENTS: usize = 10;

type Cinfo = j::jpeg_decompress_struct;

type IdctFn =
    unsafe extern "C-unwind" fn(*mut Cinfo, *mut CompInfo, *mut i16, *mut *mut u8, c_uint);
type Upsample1Fn =
    unsafe extern "C-unwind" fn(*mut Cinfo, *mut CompInfo, *mut *mut u8, *mut *mut *mut u8);
/// A row conversion of [`super::color`]: Y, Cb, Cr rows in, pixels out.
type RowConvert = fn(&[u8], &[u8], &[u8], &mut [u8]);
type ColorFn =
    unsafe extern "C-unwind" fn(*mut Cinfo, *mut *mut *mut u8, c_uint, *mut *mut u8, c_int);

/// `struct jpeg_inverse_dct` (jpegint.h).
#[repr(C)]
struct InverseDct {
    start_pass: *const c_void,
    inverse_dct: [Option<IdctFn>; MAX_COMPONENTS],
}

/// `my_upsampler` (jdsample.h), up to the fields we use.
#[repr(C)]
struct Upsampler {
    start_pass: *const c_void,
    upsample: *const c_void,
    need_context_rows: c_int,
    color_buf: [*mut *mut u8; MAX_COMPONENTS],
    methods: [Option<Upsample1Fn>; MAX_COMPONENTS],
}

/// `struct jpeg_color_deconverter` (jpegint.h).
#[repr(C)]
struct ColorDeconverter {
    start_pass: *const c_void,
    color_convert: Option<ColorFn>,
}

/// Which loops [`install`] replaced: bits of its result.
pub(super) const IDCT: u8 = 1;
pub(super) const UPSAMPLE: u8 = 2;
pub(super) const COLOR: u8 = 4;
/// The colour conversion writes Pillow's grey, one byte a pixel, instead of RGB.
pub(super) const LUMA: u8 = 8;

/// Swaps libjpeg's C loops for the kernels where they apply (see the module documentation).
/// Called right after `jpeg_start_decompress`, for a decode at `scale_denom` `denom`. Returns
/// which it replaced ([`IDCT`], [`UPSAMPLE`], [`COLOR`]). With `grey`, the YCbCr to RGB
/// conversion is replaced by one to Pillow's grey of that RGB ([`LUMA`]): the caller's output
/// rows then need one byte a pixel.
///
/// # Safety
///
/// `cinfo` is a decompressor on which `jpeg_start_decompress` has just returned, with
/// `quantize_colors` off, `do_fancy_upsampling` on and the ISLOW DCT method.
pub(super) unsafe fn install(cinfo: &mut Cinfo, denom: u8, grey: bool) -> u8 {
    if !matches!(denom, 1 | 2 | 4 | 8) || cinfo.quantize_colors != 0 || Avx2::new().is_none() {
        return 0;
    }
    // jdmaster.c `jpeg_core_output_dimensions` with scale_num 1.
    let min_dct = 8 / c_int::from(denom);
    let n = match usize::try_from(cinfo.num_components) {
        Ok(n @ 1..=4) => n,
        _ => return 0,
    };
    // SAFETY: a live decompressor (this function's contract).
    let t = unsafe { &*tail(cinfo) };
    let (idct_ptr, upsample_ptr, cconvert_ptr) = (t.idct, t.upsample, t.cconvert);
    if idct_ptr.is_null() || upsample_ptr.is_null() || cconvert_ptr.is_null() {
        return 0;
    }
    if !t.cquantize.is_null() {
        // No quantizer was asked for: the fields are not where we think.
        return 0;
    }
    // SAFETY: `comp_info` holds `num_components` entries once the header is read, laid out
    // as `CompInfo` (checked at compile time above).
    let comps = unsafe { std::slice::from_raw_parts(cinfo.comp_info.cast::<CompInfo>(), n) };
    let (max_h, max_v) = (cinfo.max_h_samp_factor, cinfo.max_v_samp_factor);
    if !(1..=4).contains(&max_h) || !(1..=4).contains(&max_v) {
        return 0;
    }
    // The fields we read must hold what jdmaster.c computes (`jpeg_core_output_dimensions`):
    // otherwise the layout is not the one we mirror.
    let side = |size: u32, samp: c_int, dct: c_int, max: c_int| {
        (u64::from(size) * (samp * dct) as u64).div_ceil((max * 8) as u64)
    };
    let consistent = comps.iter().all(|c| {
        let (h, v, dct) = (c.h_samp_factor, c.v_samp_factor, c.dct_scaled_size);
        (1..=4).contains(&h)
            && (1..=4).contains(&v)
            && matches!(dct, 1 | 2 | 4 | 8)
            && dct >= min_dct
            && u64::from(c.downsampled_width) == side(cinfo.image_width, h, dct, max_h)
            && u64::from(c.downsampled_height) == side(cinfo.image_height, v, dct, max_v)
            && !c.quant_table.is_null()
    });
    if !consistent {
        return 0;
    }
    let mut done = 0;

    // SAFETY: `idct` points to libjpeg's `jpeg_inverse_dct` (checked non-null above).
    let idct_obj = unsafe { &mut *idct_ptr.cast::<InverseDct>() };
    for (ci, c) in comps.iter().enumerate() {
        if c.component_needed == 0 || idct_obj.inverse_dct[ci].is_none() {
            continue;
        }
        // jddctmgr.c: an 8x8 DCT with JDCT_ISLOW is `jpeg_idct_islow`, a 4x4 one (whatever
        // the method) `jpeg_idct_4x4`.
        let kernel: IdctFn = match c.dct_scaled_size {
            8 => islow,
            // SAFETY: `quant_table` is set (checked above) and `dct_table` is libjpeg's.
            4 if unsafe { islow_multipliers(c) } => islow_4x4,
            _ => continue,
        };
        idct_obj.inverse_dct[ci] = Some(kernel);
        done |= IDCT;
    }

    if n == 3 && cinfo.jpeg_color_space == j::JCS_YCbCr && cinfo.out_color_space == j::JCS_RGB {
        // SAFETY: `cconvert` points to libjpeg's deconverter (non-null above), which for
        // YCbCr to RGB is `ycc_rgb_convert` (jdcolor.c).
        let cconvert = unsafe { &mut *cconvert_ptr.cast::<ColorDeconverter>() };
        if cconvert.color_convert.is_some() {
            if grey {
                cconvert.color_convert = Some(ycc::<true>);
                done |= COLOR | LUMA;
            } else {
                cconvert.color_convert = Some(ycc::<false>);
                done |= COLOR;
            }
        }
    }

    // SAFETY: with fancy upsampling requested the upsampler is jdsample.c's `my_upsampler`
    // (the merged one is used only without it).
    let up = unsafe { &mut *upsample_ptr.cast::<Upsampler>() };
    // jinit_upsampler's rules.
    let fancy = min_dct > 1;
    for (ci, c) in comps.iter().enumerate() {
        if !fancy || c.component_needed == 0 || c.downsampled_width <= 2 {
            continue;
        }
        let h = c.h_samp_factor * c.dct_scaled_size / min_dct;
        let v = c.v_samp_factor * c.dct_scaled_size / min_dct;
        if up.methods[ci].is_none() {
            continue;
        }
        if h * 2 == max_h && v == max_v {
            up.methods[ci] = Some(h2v1);
            done |= UPSAMPLE;
        } else if h * 2 == max_h && v * 2 == max_v && up.need_context_rows != 0 {
            up.methods[ci] = Some(h2v2);
            done |= UPSAMPLE;
        }
    }
    done
}

/// `jpeg_idct_islow`'s signature, computing with [`idct::avx2`].
unsafe extern "C-unwind" fn islow(
    _cinfo: *mut Cinfo,
    compptr: *mut CompInfo,
    coef: *mut i16,
    output_buf: *mut *mut u8,
    output_col: c_uint,
) {
    // Installed only where AVX2 is available.
    let Some(token) = Avx2::new() else {
        return;
    };
    // SAFETY: libjpeg passes the component, one block of 64 coefficients, and 8 output rows
    // each with at least `output_col + 8` samples (jdcoefct.c); the quantization table is set
    // (checked in `install`; libjpeg latches it before the first scan of the component).
    unsafe {
        let quant = &(*(*compptr).quant_table).quantval;
        let coef = &*coef.cast::<[i16; 64]>();
        let mut out = [[0u8; 8]; 8];
        idct::avx2(token, coef, quant, &mut out);
        store(&out, output_buf, output_col);
    }
}

/// Copies an IDCT kernel's `N` x `N` samples to libjpeg's output rows at `output_col`.
///
/// # Safety
///
/// `output_buf` holds `N` rows, each with at least `output_col + N` writable samples.
unsafe fn store<const N: usize>(out: &[[u8; N]; N], output_buf: *mut *mut u8, output_col: c_uint) {
    for (r, row) in out.iter().enumerate() {
        // SAFETY: this function's contract.
        unsafe {
            let dst = (*output_buf.add(r)).add(output_col as usize);
            std::ptr::copy_nonoverlapping(row.as_ptr(), dst, N);
        }
    }
}

/// Whether `c.dct_table` holds the multipliers `jpeg_idct_4x4` reads as [`islow_4x4`] reads
/// them: 64 `int`s (`ISLOW_MULT_TYPE` is `int` in a libjpeg built without SIMD, `short` with
/// it), which jddctmgr.c's `start_pass` copied from the component's quantization table.
///
/// # Safety
///
/// `c` is a component of a decompressor on which `jpeg_start_decompress` has returned, with
/// `quant_table` set.
unsafe fn islow_multipliers(c: &CompInfo) -> bool {
    if c.dct_table.is_null() {
        return false;
    }
    // SAFETY: `dct_table` is jddctmgr.c's `multiplier_table`, a union that holds 64 `float`s,
    // allocated by `alloc_small` (aligned for any of its members); `quant_table` is set (this
    // function's contract).
    let (table, quant) = unsafe {
        (
            &*c.dct_table.cast::<[c_int; 64]>(),
            &(*c.quant_table).quantval,
        )
    };
    table.iter().zip(quant).all(|(&m, &q)| m == c_int::from(q))
}

/// `jpeg_idct_4x4`'s signature (jidctred.c), computing with [`idct::avx2_4x4`].
unsafe extern "C-unwind" fn islow_4x4(
    _cinfo: *mut Cinfo,
    compptr: *mut CompInfo,
    coef: *mut i16,
    output_buf: *mut *mut u8,
    output_col: c_uint,
) {
    // Installed only where AVX2 is available.
    let Some(token) = Avx2::new() else {
        return;
    };
    // SAFETY: libjpeg passes the component, one block of 64 coefficients, and 4 output rows
    // each with at least `output_col + 4` samples (jdcoefct.c, for `DCT_scaled_size` 4);
    // `dct_table` holds the 64 `int` multipliers the C reads (checked in `install`).
    unsafe {
        let quant = &*(*compptr).dct_table.cast::<[i32; 64]>();
        let coef = &*coef.cast::<[i16; 64]>();
        let mut out = [[0u8; 4]; 4];
        idct::avx2_4x4(token, coef, quant, &mut out);
        store(&out, output_buf, output_col);
    }
}

/// `ycc_rgb_convert`'s signature (jdcolext.c), computing with [`color`]: 3-byte RGB, or with
/// `GREY` Pillow's grey of it (one byte a pixel, rows from `run` sized so).
unsafe extern "C-unwind" fn ycc<const GREY: bool>(
    cinfo: *mut Cinfo,
    input_buf: *mut *mut *mut u8,
    input_row: c_uint,
    output_buf: *mut *mut u8,
    num_rows: c_int,
) {
    let (bpp, convert): (usize, RowConvert) = if GREY {
        (1, color::ycc_to_luma)
    } else {
        (3, color::ycc_to_rgb)
    };
    // SAFETY: as `convert_rows` requires, with the output rows `run` sized for `bpp`.
    unsafe {
        convert_rows(
            cinfo, input_buf, input_row, output_buf, num_rows, bpp, convert,
        )
    }
}

/// The rows of a colour conversion call, each through `convert`.
///
/// # Safety
///
/// As libjpeg's `color_convert` gets them (jdsample.c `sep_upsample`): three component row
/// arrays with rows `input_row .. input_row + num_rows`, each at least `output_width` samples,
/// and `num_rows` output rows of `output_width * bpp` bytes.
unsafe fn convert_rows(
    cinfo: *mut Cinfo,
    input_buf: *mut *mut *mut u8,
    input_row: c_uint,
    output_buf: *mut *mut u8,
    num_rows: c_int,
    bpp: usize,
    convert: RowConvert,
) {
    // SAFETY: this function's contract.
    unsafe {
        let w = (*cinfo).output_width as usize;
        for r in 0..usize::try_from(num_rows).unwrap_or(0) {
            let row = |c: usize| {
                std::slice::from_raw_parts(*(*input_buf.add(c)).add(input_row as usize + r), w)
            };
            let out = std::slice::from_raw_parts_mut(*output_buf.add(r), bpp * w);
            convert(row(0), row(1), row(2), out);
        }
    }
}

/// `h2v1_fancy_upsample`'s signature, computing with [`upsample::h2v1_fancy`].
unsafe extern "C-unwind" fn h2v1(
    cinfo: *mut Cinfo,
    compptr: *mut CompInfo,
    input_data: *mut *mut u8,
    output_data_ptr: *mut *mut *mut u8,
) {
    // SAFETY: libjpeg passes `max_v_samp_factor` input rows of `downsampled_width` samples and
    // as many output rows of twice that (rounded up to `max_h_samp_factor` = 2).
    unsafe {
        let w = (*compptr).downsampled_width as usize;
        let output = *output_data_ptr;
        for r in 0..usize::try_from((*cinfo).max_v_samp_factor).unwrap_or(0) {
            let input = std::slice::from_raw_parts(*input_data.add(r), w);
            let out = std::slice::from_raw_parts_mut(*output.add(r), 2 * w);
            upsample::h2v1_fancy(input, out);
        }
    }
}

/// `h2v2_fancy_upsample`'s signature, computing with [`upsample::h2v2_fancy`].
unsafe extern "C-unwind" fn h2v2(
    cinfo: *mut Cinfo,
    compptr: *mut CompInfo,
    input_data: *mut *mut u8,
    output_data_ptr: *mut *mut *mut u8,
) {
    // SAFETY: libjpeg passes the row group's input rows with one context row above and below
    // (`need_context_rows`, jdmainct.c), each `downsampled_width` samples, and
    // `max_v_samp_factor` (= 2 * rows in the group) output rows of twice that.
    unsafe {
        let w = (*compptr).downsampled_width as usize;
        let output = *output_data_ptr;
        let row = |i: isize| std::slice::from_raw_parts(*input_data.offset(i), w);
        let groups = usize::try_from((*cinfo).max_v_samp_factor).unwrap_or(0) / 2;
        for inrow in 0..groups {
            let i = inrow as isize;
            let upper = std::slice::from_raw_parts_mut(*output.add(2 * inrow), 2 * w);
            upsample::h2v2_fancy(row(i), row(i - 1), upper);
            let lower = std::slice::from_raw_parts_mut(*output.add(2 * inrow + 1), 2 * w);
            upsample::h2v2_fancy(row(i), row(i + 1), lower);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_with, Colour, Plan};
    use super::*;

    /// At 1/2 scale every DCT of a 4:4:4 or grey file is scaled to 4: its IDCT runs as the
    /// 4x4 kernel alone, with the C's pixels.
    #[test]
    fn half_scale_runs_the_4x4_kernel() {
        if Avx2::new().is_none() {
            return;
        }
        for name in ["decode/jpg_444.jpg", "corpus/edge_gray_L.jpg"] {
            let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
            let bytes = std::fs::read(path).unwrap();
            let plan = |kernels| Plan {
                colour: Colour::Rgb,
                kernels,
                huffman: kernels,
            };
            let c = decode_with(&bytes, 2, 1 << 30, plan(false)).unwrap();
            let k = decode_with(&bytes, 2, 1 << 30, plan(true)).unwrap();
            assert_ne!(k.kernels & IDCT, 0, "{name}");
            assert!(c.data == k.data, "{name}");
        }
    }
}

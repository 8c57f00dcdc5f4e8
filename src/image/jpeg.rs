//! JPEG decoded by libjpeg-turbo's code (the `jpeg-exact` feature): Pillow's pixels, bit for bit.
//!
//! Pillow's `Image.open(f).convert('RGB')` decodes a JPEG with libjpeg-turbo's defaults: the
//! ISLOW integer IDCT, fancy (triangle-filter) chroma upsampling, libjpeg's own choice of the
//! file's colour space (JFIF / Adobe markers), and its YCbCr to RGB conversion. So does this
//! module, with the library `mozjpeg-sys` builds from C with the `cc` crate (mozjpeg's fork of
//! libjpeg-turbo; its decoder is libjpeg-turbo's). The mapping from the file to pixels mirrors
//! Pillow's `JpegImagePlugin` and `Convert.c`:
//!
//! - 1 component: grey ([`PixelLayout::Luma8`]), as Pillow's mode `L`.
//! - 3 components: RGB (YCbCr converted, or RGB as stored when an Adobe marker says so).
//! - 4 components (CMYK or YCCK): libjpeg's CMYK, inverted as Pillow's `CMYK;I` raw mode (Pillow
//!   always assumes Adobe's inverted polarity), then Pillow's `cmyk2rgb`.
//! - any other component count or precision: an error, as in Pillow ("cannot handle ...").
//!
//! [`decode`] with `denom` 2, 4 or 8 is libjpeg's DCT-domain scaling (`scale_denom`), for
//! [`DecodeMode::Fast`](super::DecodeMode::Fast), which also asks for a colour file's luma only
//! ([`Colour::Luma`]).
//!
//! libjpeg's hot loops run as this crate's code where it applies: the IDCTs, upsampling and
//! colour conversion as AVX2 kernels (`hooks`), and the Huffman decoding of single-scan files
//! (`entropy`), which gives up to libjpeg's own decoder (the file is decoded again) on anything
//! but plain data.
//!
//! # Errors, not aborts
//!
//! libjpeg reports a fatal error by calling `error_exit`, which must not return; the default one
//! exits the process. Ours unwinds instead (`resume_unwind`, so no panic hook runs and nothing is
//! printed), through the C frames (mozjpeg-sys builds them with `-fexceptions` for its
//! `unwinding` feature), to the `catch_unwind` in [`decode`], which turns it into
//! [`ErrorKind::Decode`](crate::ErrorKind::Decode). Warnings are ignored, as Pillow ignores them
//! ("Corrupt JPEG data: N extraneous bytes"), except the one that says the data ended early:
//! Pillow fails a truncated file, so we do. A progress monitor stops a file with more than
//! [`MAX_SCANS`] scans (a few bytes a scan, each costing a pass over the image: libjpeg-turbo's
//! documented denial-of-service mitigation), and libjpeg's own memory manager is held to the
//! caller's limit for the whole-image coefficient buffers of progressive and multi-scan files.

use std::ffi::CStr;
use std::os::raw::{c_int, c_long, c_ulong};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use mozjpeg_sys as j;

use super::pixels::PixelLayout;
use crate::error::{Error, Result};

// libjpeg's hot loops as SIMD kernels, where libjpeg's own assembly is not built.
mod abi;
#[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
mod color;
mod entropy;
#[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
mod hooks;
#[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
mod idct;
#[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
mod upsample;

/// Most scans a JPEG may have. Real progressive files have about 10; libjpeg-turbo's
/// documentation suggests a limit in the hundreds against files made of empty scans.
pub(crate) const MAX_SCANS: c_int = 500;

/// A decoded JPEG: tightly packed rows, grey or RGB.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) data: Vec<u8>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) layout: PixelLayout,
    /// Which of libjpeg's loops ran as this crate's SIMD kernels (`hooks::IDCT` | `UPSAMPLE` |
    /// `COLOR`); 0 where none applies. Read by the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) kernels: u8,
}

/// The payload `error_exit` unwinds with: libjpeg's message, with its parameters filled in.
struct LibjpegError(String);

/// The libjpeg state, boxed so that the pointers libjpeg keeps to it (the error and progress
/// managers) stay valid; destroyed on drop, also after an error unwound out of libjpeg.
struct Decompress {
    cinfo: Box<j::jpeg_decompress_struct>,
    // Read by libjpeg through `cinfo.common.err` / `cinfo.common.progress`; kept alive here.
    _err: Box<j::jpeg_error_mgr>,
    _progress: Box<j::jpeg_progress_mgr>,
    /// Our Huffman decoder, which libjpeg calls through `cinfo->entropy` once installed.
    entropy: Option<Box<entropy::Entropy>>,
    created: bool,
}

impl Drop for Decompress {
    fn drop(&mut self) {
        if self.created {
            // SAFETY: `cinfo` was initialised by `jpeg_CreateDecompress` (`created`), and
            // `jpeg_destroy_decompress` is valid in every state, also after an error unwound
            // out of a libjpeg call (the documented recovery after `error_exit`). It cannot
            // call `error_exit`: it only frees memory.
            unsafe { j::jpeg_destroy_decompress(&mut self.cinfo) };
        }
    }
}

/// Our `error_exit`: unwinds to [`decode`] with libjpeg's message.
///
/// # Safety
///
/// Called by libjpeg only, with a valid `cinfo` whose `err` points to a live error manager.
unsafe extern "C-unwind" fn error_exit(cinfo: &mut j::jpeg_common_struct) {
    // SAFETY: libjpeg passes its own valid `cinfo`; `err` is set up by `Decompress::new`.
    let msg = unsafe { message(&mut *cinfo.err) };
    resume_unwind(Box::new(LibjpegError(msg)));
}

/// Our `emit_message`: warnings are counted and otherwise ignored (as Pillow does), except that
/// the data ended before the image did, which is an error (Pillow: "image file is truncated").
///
/// # Safety
///
/// As [`error_exit`].
unsafe extern "C-unwind" fn emit_message(cinfo: &mut j::jpeg_common_struct, level: c_int) {
    // SAFETY: as in `error_exit`.
    let err = unsafe { &mut *cinfo.err };
    if level < 0 {
        if err.msg_code == j::JWRN_JPEG_EOF as c_int {
            resume_unwind(Box::new(LibjpegError(
                "truncated JPEG: the data ends before the image does".into(),
            )));
        }
        err.num_warnings += 1;
    }
}

/// Our `output_message`: libjpeg never prints.
///
/// # Safety
///
/// As [`error_exit`].
unsafe extern "C-unwind" fn output_message(_cinfo: &mut j::jpeg_common_struct) {}

/// Stops files with more than [`MAX_SCANS`] scans.
///
/// # Safety
///
/// Called by libjpeg only, with the `cinfo` of a decompressor (we never install it on a
/// compressor), whose first member is this `jpeg_common_struct`.
unsafe extern "C-unwind" fn progress_monitor(cinfo: &mut j::jpeg_common_struct) {
    // SAFETY: `jpeg_decompress_struct` is `repr(C)` and starts with `jpeg_common_struct`, and
    // this monitor is installed only on a decompressor, so the cast reads the scan number of
    // the live struct libjpeg passed.
    let scans = unsafe {
        (*(cinfo as *mut j::jpeg_common_struct).cast::<j::jpeg_decompress_struct>())
            .input_scan_number
    };
    if scans > MAX_SCANS {
        resume_unwind(Box::new(LibjpegError(format!(
            "JPEG has more than {MAX_SCANS} scans; refusing it as a likely denial-of-service file"
        ))));
    }
}

/// libjpeg's message for the current error code, its `%d`-style parameters filled in (numbers
/// only; libjpeg's errors never carry pixel data).
///
/// # Safety
///
/// `err` must be libjpeg's error manager, initialised by `jpeg_std_error`.
unsafe fn message(err: &mut j::jpeg_error_mgr) -> String {
    let code = err.msg_code;
    let table = err.jpeg_message_table;
    if table.is_null() || code <= 0 || code > err.last_jpeg_message {
        return format!("corrupt JPEG (libjpeg error {code})");
    }
    // SAFETY: `code` is within the table libjpeg set up (1..=last_jpeg_message), whose entries
    // are NUL-terminated static strings.
    let fmt = unsafe { CStr::from_ptr(*table.add(code as usize)) }.to_string_lossy();
    // SAFETY: the union holds 8 ints or a string; reading it as ints is always defined.
    let ints = unsafe { *err.msg_parm.i() };
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut next = 0;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // Skip flags and width, then the conversion.
        while chars
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || *c == '-' || *c == 'l')
        {
            chars.next();
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('d' | 'u' | 'x' | 'X') => {
                out.push_str(&ints.get(next).copied().unwrap_or(0).to_string());
                next += 1;
            }
            Some(_) => out.push('?'),
            None => {}
        }
    }
    format!("corrupt or unsupported JPEG: {out}")
}

impl Decompress {
    fn new() -> Decompress {
        // SAFETY: both are plain C structs for which all-zero is the documented pre-init state
        // (function pointers `None`, pointers null).
        let mut err: Box<j::jpeg_error_mgr> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: as above.
        let mut progress: Box<j::jpeg_progress_mgr> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: as above.
        let mut cinfo: Box<j::jpeg_decompress_struct> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `err` is a valid, exclusively borrowed error manager; `jpeg_std_error` only
        // fills in its fields.
        unsafe { j::jpeg_std_error(&mut err) };
        err.error_exit = Some(error_exit);
        err.emit_message = Some(emit_message);
        err.output_message = Some(output_message);
        progress.progress_monitor = Some(progress_monitor);
        cinfo.common.err = &mut *err;
        Decompress {
            cinfo,
            _err: err,
            _progress: progress,
            entropy: None,
            created: false,
        }
    }
}

/// What a colour JPEG decodes to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Colour {
    /// RGB, as Pillow's `convert('RGB')`.
    Rgb,
    /// Pillow's grey of that RGB (`convert('L')`), where the colour conversion runs as this
    /// crate's kernel (RGB otherwise).
    PillowGrey,
    /// A YCbCr JPEG's luma (Y) as stored, its chroma read past but never transformed,
    /// upsampled or converted: libjpeg's grey output, for
    /// [`DecodeMode::Fast`](super::DecodeMode::Fast). Close to the other greys, not equal.
    Luma,
}

/// How [`decode_with`] decodes.
#[derive(Clone, Copy, Debug)]
struct Plan {
    colour: Colour,
    /// This crate's kernels in place of libjpeg's loops where they apply; libjpeg's C
    /// throughout otherwise (the tests' oracle).
    kernels: bool,
    /// This crate's Huffman decoder ([`entropy`]) where it applies (with `kernels`).
    huffman: bool,
}

/// Decodes a JPEG at `1 / denom` scale (`denom` 1, 2, 4 or 8) into grey or RGB (a colour JPEG
/// as `colour` says), with at most `max_memory` bytes of libjpeg's whole-image buffers.
///
/// # Errors
///
/// [`ErrorKind::Decode`](crate::ErrorKind::Decode) for corrupt, truncated or unsupported data
/// (libjpeg's message), [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) for a
/// component count Pillow does not open either, and
/// [`ErrorKind::Limit`](crate::ErrorKind::Limit) when the output cannot be allocated.
pub(crate) fn decode(bytes: &[u8], denom: u8, max_memory: u64, colour: Colour) -> Result<Output> {
    let plan = Plan {
        colour,
        kernels: true,
        huffman: true,
    };
    decode_with(bytes, denom, max_memory, plan)
}

/// [`decode`] as `plan` says. Where our Huffman decoder gives up on a corrupt scan, the file is
/// decoded again with libjpeg's, which handles it as it always does.
fn decode_with(bytes: &[u8], denom: u8, max_memory: u64, plan: Plan) -> Result<Output> {
    debug_assert!(matches!(denom, 1 | 2 | 4 | 8));
    let mut d = Decompress::new();
    match catch_unwind(AssertUnwindSafe(|| {
        run(&mut d, bytes, denom, max_memory, plan)
    })) {
        Ok(r) => r,
        Err(payload) => match payload.downcast::<LibjpegError>() {
            Ok(e) => Err(Error::decode(e.0, None)),
            Err(other) if other.is::<entropy::GiveUp>() => {
                drop(d);
                let plan = Plan {
                    huffman: false,
                    ..plan
                };
                decode_with(bytes, denom, max_memory, plan)
            }
            // Not ours: a bug, so let it go on.
            Err(other) => resume_unwind(other),
        },
    }
}

fn run(d: &mut Decompress, bytes: &[u8], denom: u8, max_memory: u64, plan: Plan) -> Result<Output> {
    let len = c_ulong::try_from(bytes.len())
        .map_err(|_| Error::decode("JPEG input is too large for libjpeg", None))?;
    let cinfo = &mut *d.cinfo;
    // SAFETY: `cinfo` is zeroed with a valid error manager installed (`Decompress::new`);
    // `jpeg_create_decompress` passes the struct size libjpeg checks against its own. Errors
    // unwind to `decode`, and `Drop` destroys only what was created.
    unsafe { j::jpeg_create_decompress(cinfo) };
    d.created = true;
    cinfo.common.progress = &mut *d._progress;
    // SAFETY: `jpeg_create_decompress` set up `mem` (it would have unwound otherwise). Zero
    // means "no limit" to libjpeg, so the smallest limit is 1.
    unsafe {
        (*cinfo.common.mem).max_memory_to_use =
            c_long::try_from(max_memory.max(1)).unwrap_or(c_long::MAX);
    }
    // SAFETY: `bytes` outlives `cinfo`'s use of it (everything happens in this call, and
    // `Decompress` is dropped by our caller before `bytes` can be); libjpeg only reads it.
    unsafe { j::jpeg_mem_src(cinfo, bytes.as_ptr(), len) };
    // SAFETY: a created decompressor with a source; errors unwind.
    unsafe { j::jpeg_read_header(cinfo, 1) };

    let (out_space, layout) = match cinfo.num_components {
        1 => (j::JCS_GRAYSCALE, PixelLayout::Luma8),
        3 if plan.colour == Colour::Luma && cinfo.jpeg_color_space == j::JCS_YCbCr => {
            (j::JCS_GRAYSCALE, PixelLayout::Luma8)
        }
        3 => (j::JCS_RGB, PixelLayout::Rgb8),
        4 => (j::JCS_CMYK, PixelLayout::Rgb8),
        n => {
            return Err(Error::unsupported(format!(
                "cannot handle a {n}-component JPEG (Pillow opens 1, 3 or 4)"
            )))
        }
    };
    cinfo.out_color_space = out_space;
    cinfo.dct_method = j::J_DCT_METHOD::JDCT_ISLOW;
    cinfo.do_fancy_upsampling = 1;
    cinfo.do_block_smoothing = 1;
    cinfo.scale_num = 1;
    cinfo.scale_denom = c_uint_from(denom);
    // SAFETY: header read, parameters set; errors unwind.
    unsafe { j::jpeg_start_decompress(cinfo) };
    #[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
    let mut installed = if plan.kernels {
        // SAFETY: `jpeg_start_decompress` just returned, with the settings above (no colour
        // quantization, fancy upsampling, ISLOW).
        unsafe { hooks::install(cinfo, denom, plan.colour == Colour::PillowGrey) }
    } else {
        0
    };
    #[cfg(not(all(target_arch = "x86_64", not(feature = "jpeg-simd"))))]
    let mut installed = 0;
    if plan.kernels && plan.huffman {
        // SAFETY: `jpeg_start_decompress` just returned on this `jpeg_mem_src` of `bytes`,
        // which outlives the decompressor (see above), as does `d.entropy`.
        d.entropy = unsafe { entropy::install(cinfo, bytes) };
        if d.entropy.is_some() {
            installed |= entropy::HUFFMAN;
        }
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
    let layout = if installed & hooks::LUMA != 0 {
        PixelLayout::Luma8
    } else {
        layout
    };

    let width = cinfo.output_width;
    let height = cinfo.output_height;
    let comps = usize::try_from(cinfo.output_components).unwrap_or(0);
    let expected = match out_space {
        j::JCS_CMYK => 4,
        j::JCS_RGB => 3,
        _ => 1,
    };
    if width == 0 || height == 0 || comps != expected {
        return Err(Error::decode(
            format!("JPEG decodes to an unexpected shape ({width}x{height}, {comps} channels)"),
            None,
        ));
    }
    let w = width as usize;
    let stride = w * layout.bytes_per_pixel();
    #[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
    if let (8, j::JCS_GRAYSCALE, Some(e)) = (denom, out_space, d.entropy.as_mut()) {
        if let Some(data) = dc_plane(cinfo, e, w, height as usize) {
            return Ok(Output {
                data,
                width,
                height,
                layout,
                kernels: installed | entropy::DC_PLANE,
            });
        }
    }
    let size = stride
        .checked_mul(height as usize)
        .ok_or_else(|| Error::decode("JPEG too large for memory", None))?;
    let mut data = super::decode::zeroed(size).ok_or_else(|| {
        Error::limit(
            crate::error::Limit::Memory,
            format!("cannot allocate {size} bytes for {width}x{height} pixels"),
        )
    })?;

    if out_space == j::JCS_CMYK {
        let mut row = vec![0u8; w * 4];
        for y in 0..height as usize {
            let mut ptr = [row.as_mut_ptr()];
            // SAFETY: one row pointer to `w * 4` writable bytes, as `output_components` (4)
            // times `output_width` requires.
            let n = unsafe { j::jpeg_read_scanlines(cinfo, ptr.as_mut_ptr(), 1) };
            if n != 1 {
                return Err(Error::decode("JPEG scanline could not be read", None));
            }
            cmyk_row_to_rgb(&row, &mut data[y * stride..(y + 1) * stride]);
        }
    } else {
        let mut rows: Vec<*mut u8> = data
            .chunks_exact_mut(stride)
            .map(|r| r.as_mut_ptr())
            .collect();
        while cinfo.output_scanline < height {
            let done = cinfo.output_scanline as usize;
            let left = (height - cinfo.output_scanline).min(16);
            // SAFETY: `rows[done..]` holds at least `left` pointers, each to `stride` writable
            // bytes of `data`, which outlives the call: `output_width` times what the colour
            // conversion writes a pixel (`output_components`, or 1 byte for the kernels' grey);
            // libjpeg writes at most `left` rows.
            let n = unsafe { j::jpeg_read_scanlines(cinfo, rows[done..].as_mut_ptr(), left) };
            if n == 0 {
                return Err(Error::decode("JPEG scanlines could not be read", None));
            }
        }
    }
    Ok(Output {
        data,
        width,
        height,
        layout,
        kernels: installed,
    })
}

/// A 1/8-scale grey decode straight from the first component's DC terms, as libjpeg's
/// `jpeg_idct_1x1` turns them into samples, when that component is the full-resolution grey
/// output (a grey file, or a YCbCr file's luma): without libjpeg's coefficient controller,
/// which clears and hands over every block of every MCU. `None` (nothing read) where that
/// does not hold.
///
/// # Safety
///
/// `cinfo` is the decompressor on which `jpeg_start_decompress` has just returned and `e` was
/// installed, with grey output of `w` x `h` at `scale_denom` 8.
#[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
fn dc_plane(
    cinfo: &mut j::jpeg_decompress_struct,
    e: &mut entropy::Entropy,
    w: usize,
    h: usize,
) -> Option<Vec<u8>> {
    let first = cinfo.comp_info;
    if first.is_null() || cinfo.output_components != 1 {
        return None;
    }
    // SAFETY: `comp_info` holds the header's components (at least one).
    let c = unsafe { &*first.cast::<abi::CompInfo>() };
    if c.dct_scaled_size != 1
        || c.h_samp_factor != cinfo.max_h_samp_factor
        || c.v_samp_factor != cinfo.max_v_samp_factor
        || (c.width_in_blocks as usize, c.height_in_blocks as usize) != (w, h)
        || c.quant_table.is_null()
    {
        return None;
    }
    // SAFETY: non-null: the table libjpeg latched for the scan. `jpeg_idct_1x1` multiplies by
    // its `int` copy (`dct_table`), the same value.
    let q = i64::from(unsafe { (*c.quant_table).quantval[0] });
    let mut data = super::decode::zeroed(w * h)?;
    // SAFETY: this function's contract; the first component of the scan is `comp_info[0]`
    // whenever the output is this grey (checked by `first_component_dcs` through the blocks
    // it keeps).
    unsafe {
        e.first_component_dcs(cinfo, |x, y, dc| {
            data[y * w + x] = idct::range_limit(idct::descale(i64::from(dc) * q, 3));
        })?;
    }
    Some(data)
}

fn c_uint_from(v: u8) -> std::os::raw::c_uint {
    std::os::raw::c_uint::from(v)
}

/// Pillow's `MULDIV255`: `a * b / 255`, rounded, in integers.
fn muldiv255(a: u32, b: u32) -> u32 {
    let t = a * b + 128;
    ((t >> 8) + t) >> 8
}

/// Pillow's path from libjpeg's CMYK to RGB: the `CMYK;I` unpacker inverts every channel
/// (Adobe polarity), then `cmyk2rgb` gives `nk - c * nk / 255` with `nk = 255 - k`.
fn cmyk_row_to_rgb(cmyk: &[u8], rgb: &mut [u8]) {
    for (s, d) in cmyk.chunks_exact(4).zip(rgb.chunks_exact_mut(3)) {
        // k' = 255 - k after the inversion, so nk = 255 - k' = k.
        let nk = u32::from(s[3]);
        for c in 0..3 {
            let v = 255 - u32::from(s[c]);
            d[c] = nk.saturating_sub(muldiv255(v, nk)).min(255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libjpeg's C throughout: the oracle (the integration tests hold it to Pillow's pixels).
    fn libjpeg(bytes: &[u8], denom: u8, colour: Colour) -> Result<Output> {
        let plan = Plan {
            colour,
            kernels: false,
            huffman: false,
        };
        decode_with(bytes, denom, 1 << 30, plan)
    }

    /// What `decode` runs: the kernels and our Huffman decoder where they apply.
    fn ours(bytes: &[u8], denom: u8, colour: Colour) -> Result<Output> {
        decode(bytes, denom, 1 << 30, colour)
    }

    #[test]
    fn cmyk_conversion_matches_pillow_formula() {
        // Brute force over a grid against Pillow's formula written out in floating point:
        // nk - round(c' * nk / 255) with c' = 255 - c, nk = k.
        for c in (0..=255u32).step_by(5) {
            for k in (0..=255u32).step_by(3) {
                let mut out = [0u8; 3];
                cmyk_row_to_rgb(&[c as u8, c as u8, c as u8, k as u8], &mut out);
                let want = k as f64 - ((255 - c) as f64 * k as f64 / 255.0).round();
                assert_eq!(f64::from(out[0]), want.max(0.0), "c={c} k={k}");
            }
        }
    }

    /// Every JPEG fixture decodes to the same bytes with the kernels as with libjpeg's C (which
    /// the integration tests hold to Pillow's pixels), at every scale; and where AVX2 is there,
    /// the kernels really ran for the layouts they cover.
    #[test]
    fn kernels_give_libjpegs_pixels() {
        let mut files = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg")
                }) {
                    files.push(path);
                }
            }
        }
        files.sort();
        assert!(files.len() >= 25, "{} JPEG fixtures", files.len());
        let (mut seen, mut compared) = (0u8, 0);
        for path in &files {
            let bytes = std::fs::read(path).unwrap();
            for denom in [1, 2, 4, 8] {
                let c = libjpeg(&bytes, denom, Colour::Rgb);
                let k = ours(&bytes, denom, Colour::Rgb);
                let g = ours(&bytes, denom, Colour::PillowGrey);
                let (c, k, g) = match (c, k, g) {
                    (Ok(c), Ok(k), Ok(g)) => (c, k, g),
                    // Deliberately broken fixtures fail every way, never only with kernels.
                    (Err(_), Err(_), Err(_)) => continue,
                    _ => panic!(
                        "{} at 1/{denom}: kernels change the outcome",
                        path.display()
                    ),
                };
                compared += 1;
                assert_eq!(c.kernels, 0);
                assert!(c.data == k.data, "{} at 1/{denom}", path.display());
                seen |= k.kernels | g.kernels;
                // The grey is Pillow's `convert('L')` of the RGB.
                if g.kernels & bits::LUMA != 0 {
                    assert_eq!(g.layout, PixelLayout::Luma8);
                    let want: Vec<u8> = c.data.chunks_exact(3).map(luma).collect();
                    assert!(g.data == want, "grey of {} at 1/{denom}", path.display());
                } else {
                    assert!(g.data == c.data && g.layout == c.layout);
                }
                // Fast mode's luma: libjpeg's grey output, whoever decodes the scan.
                let lc = libjpeg(&bytes, denom, Colour::Luma).unwrap();
                let lk = ours(&bytes, denom, Colour::Luma).unwrap();
                assert!(
                    lc.data == lk.data,
                    "luma of {} at 1/{denom}",
                    path.display()
                );
                assert_eq!(lc.layout, lk.layout);
                seen |= lk.kernels;
            }
            let name = path.file_name().unwrap().to_string_lossy();
            if bits::active() {
                let k = ours(&bytes, 1, Colour::Rgb).map_or(0, |o| o.kernels);
                let want = match &*name {
                    "jpg_422.jpg" | "jpg_odd_420.jpg" | "photo_015.jpg" => {
                        bits::IDCT | bits::UPSAMPLE | bits::COLOR | HUFFMAN
                    }
                    "jpg_444.jpg" | "jpg_narrow_420.jpg" => bits::IDCT | bits::COLOR | HUFFMAN,
                    "jpg_optimized_restart.jpg" => {
                        bits::IDCT | bits::UPSAMPLE | bits::COLOR | HUFFMAN
                    }
                    "jpg_cmyk.jpg" => bits::IDCT | HUFFMAN,
                    "jpg_422_progressive.jpg" => bits::IDCT | bits::UPSAMPLE | bits::COLOR,
                    _ => k,
                };
                assert_eq!(k, want, "{name}");
            }
        }
        // Nearly every fixture decodes (two are deliberately broken), at four scales.
        assert!(
            compared >= 4 * (files.len() - 2),
            "{compared} decodes compared"
        );
        if bits::active() {
            assert_eq!(
                seen,
                bits::IDCT | bits::UPSAMPLE | bits::COLOR | bits::LUMA | HUFFMAN | DC_PLANE
            );
        } else {
            assert_eq!(seen & !DC_PLANE, HUFFMAN);
        }
    }

    /// Every chroma subsampling a JPEG can declare (jpeg-encoder writes them all), at small and
    /// odd sizes, baseline and progressive: the kernels give libjpeg's C pixels at every scale,
    /// RGB and grey, whatever libjpeg chooses for the layout (the kernels, or its own C where they
    /// don't apply: 4:1:1, 4:4:0, chroma two samples wide and less).
    #[test]
    fn kernels_give_libjpegs_pixels_for_every_sampling() {
        use jpeg_encoder::SamplingFactor as S;
        let samplings = [
            S::R_4_4_4,
            S::R_4_4_0,
            S::R_4_4_1,
            S::R_4_2_2,
            S::R_4_2_0,
            S::R_4_2_1,
            S::R_4_1_1,
            S::R_4_1_0,
            S::F_2_1,
            S::F_1_2,
            S::F_4_2,
            S::F_2_4,
        ];
        let mut seen = 0u8;
        let mut cases = 0;
        for (i, (w, h)) in [
            (1, 1),
            (2, 3),
            (3, 2),
            (5, 9),
            (6, 17),
            (17, 6),
            (33, 31),
            (61, 37),
        ]
        .into_iter()
        .enumerate()
        {
            // A smooth colour gradient with noise: chroma that upsampling must interpolate.
            let rgb: Vec<u8> = (0..w * h * 3)
                .map(|k| {
                    let (p, c) = (k / 3, k % 3);
                    let (x, y) = (p % w, p / w);
                    let noise = (p * 7919 + c * 104_729 + i) % 23;
                    ((x * 255 / w.max(2) + y * 97 / h.max(2) + c * 60 + noise) % 256) as u8
                })
                .collect();
            for (s_i, &sampling) in samplings.iter().enumerate() {
                let mut bytes = Vec::new();
                let mut enc = jpeg_encoder::Encoder::new(&mut bytes, 85);
                enc.set_sampling_factor(sampling);
                enc.set_progressive((i + s_i) % 3 == 0);
                enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
                    .unwrap();
                for denom in [1, 2, 4, 8] {
                    let c = libjpeg(&bytes, denom, Colour::Rgb).unwrap();
                    let k = ours(&bytes, denom, Colour::Rgb).unwrap();
                    let g = ours(&bytes, denom, Colour::PillowGrey).unwrap();
                    let what = format!("{w}x{h} {sampling:?} at 1/{denom}");
                    assert!(c.data == k.data, "{what}");
                    if g.kernels & bits::LUMA != 0 {
                        let want: Vec<u8> = c.data.chunks_exact(3).map(luma).collect();
                        assert!(g.data == want, "grey {what}");
                    } else {
                        assert!(g.data == c.data, "grey {what}");
                    }
                    // Fast mode's luma too: at 1/8 straight from the DC terms where the luma is
                    // the full-resolution component.
                    let lc = libjpeg(&bytes, denom, Colour::Luma).unwrap();
                    let lk = ours(&bytes, denom, Colour::Luma).unwrap();
                    assert!(lc.data == lk.data, "luma {what}");
                    seen |= k.kernels | lk.kernels;
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 8 * 12 * 4);
        if bits::active() {
            assert_eq!(
                seen,
                bits::IDCT | bits::UPSAMPLE | bits::COLOR | HUFFMAN | DC_PLANE
            );
        } else {
            assert_eq!(seen & !DC_PLANE, HUFFMAN);
        }
    }

    /// JPEGs with restart intervals (every MCU, every few, and rows), then those and the
    /// fixtures corrupted in many ways (bits flipped in the scan, bytes cut, markers and
    /// `0xFF`s put in, restart markers swapped or dropped), at full size and at 1/8 in RGB and
    /// in luma (the DC plane): our Huffman decoder gives exactly
    /// libjpeg's result on every one, the same pixels or an error from both, giving up to
    /// libjpeg's decoder where the data is not plain.
    #[test]
    fn huffman_decoder_gives_libjpegs_result_on_good_and_corrupt_scans() {
        let (w, h) = (75usize, 45usize);
        let rgb: Vec<u8> = (0..w * h * 3)
            .map(|k| {
                let (p, c) = (k / 3, k % 3);
                let (x, y) = (p % w, p / w);
                ((x * 3 + y * 5 + c * 70 + (p * 7919 + c * 31) % 41) % 256) as u8
            })
            .collect();
        let mut files = Vec::new();
        for (i, interval) in [0u16, 1, 3, 7, 64].into_iter().enumerate() {
            let mut bytes = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut bytes, 60 + 10 * i as u8);
            enc.set_sampling_factor(if i % 2 == 0 {
                jpeg_encoder::SamplingFactor::R_4_2_0
            } else {
                jpeg_encoder::SamplingFactor::R_4_4_4
            });
            enc.set_restart_interval(interval);
            // jpeg-encoder writes optimized tables in one scan per component: a multi-scan
            // file, which libjpeg decodes whole in `jpeg_start_decompress`, before we could
            // step in. (Pillow's jpg_optimized_restart.jpg below has them in one scan.)
            let multi_scan = i == 3;
            enc.set_optimized_huffman_tables(multi_scan);
            enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            // Valid: ours decodes it, with libjpeg's pixels.
            for denom in [1, 4, 8] {
                let k = ours(&bytes, denom, Colour::Rgb).unwrap();
                let want = if multi_scan { 0 } else { HUFFMAN };
                assert_eq!(k.kernels & HUFFMAN, want, "interval {interval}");
                assert!(k.data == libjpeg(&bytes, denom, Colour::Rgb).unwrap().data);
            }
            files.push(bytes);
        }
        for name in [
            "jpg_444.jpg",
            "jpg_odd_420.jpg",
            "jpg_cmyk.jpg",
            "orient7.jpg",
            "jpg_narrow_422.jpg",
            "jpg_optimized_restart.jpg",
        ] {
            let path = format!("{}/tests/data/decode/{name}", env!("CARGO_MANIFEST_DIR"));
            files.push(std::fs::read(&path).unwrap());
        }
        let mut rng = crate::util::SplitMix64::new(16);
        let (mut same, mut both_failed, mut gave_up) = (0, 0, 0);
        for bytes in &files {
            // The scan starts after the SOS segment.
            let sos = memchr::memmem::find(bytes, b"\xFF\xDA").unwrap();
            let start = sos + 2 + usize::from(u16::from_be_bytes([bytes[sos + 2], bytes[sos + 3]]));
            for case in 0..60 {
                let mut b = bytes.clone();
                let at = |rng: &mut crate::util::SplitMix64, b: &Vec<u8>| {
                    start + (rng.next() as usize) % (b.len() - 2 - start)
                };
                match case % 6 {
                    0 => {
                        let i = at(&mut rng, &b);
                        b[i] ^= 1 << (rng.next() % 8);
                    }
                    1 => b.truncate(at(&mut rng, &b)),
                    2 => {
                        let i = at(&mut rng, &b);
                        b.insert(i, 0xFF);
                    }
                    3 => {
                        let i = at(&mut rng, &b);
                        let m = [0xD0 + (rng.next() % 8) as u8, 0xD9, 0xFF, 0xC4][case % 4];
                        b.splice(i..i, [0xFF, m]);
                    }
                    4 => {
                        // Drop or damage a restart marker, if there is one.
                        if let Some(i) = (start..b.len() - 1)
                            .find(|&i| b[i] == 0xFF && (0xD0..=0xD7).contains(&b[i + 1]))
                        {
                            if rng.next().is_multiple_of(2) {
                                b.drain(i..i + 2);
                            } else {
                                b[i + 1] = 0xD0 + (b[i + 1] + 1) % 8;
                            }
                        }
                    }
                    _ => {
                        // Random bytes over a stretch of the scan.
                        let i = at(&mut rng, &b);
                        for x in b.iter_mut().skip(i).take(8) {
                            *x = rng.next() as u8;
                        }
                    }
                }
                // Full size, 1/8 (DC terms only), and fast mode's 1/8 luma (the DC plane).
                for (denom, colour) in [(1, Colour::Rgb), (8, Colour::Rgb), (8, Colour::Luma)] {
                    // Against the same decode with libjpeg's Huffman decoder: on corrupt blocks
                    // our IDCT saturates as Pillow's libjpeg-turbo SIMD does, where the C wraps.
                    let theirs = decode_with(
                        &b,
                        denom,
                        1 << 30,
                        Plan {
                            colour,
                            kernels: true,
                            huffman: false,
                        },
                    );
                    match (theirs, ours(&b, denom, colour)) {
                        (Ok(c), Ok(k)) => {
                            assert!(c.data == k.data, "corrupt case {case} at 1/{denom}");
                            if k.kernels & HUFFMAN == 0 {
                                gave_up += 1;
                            }
                            same += 1;
                        }
                        (Err(_), Err(_)) => both_failed += 1,
                        (c, k) => {
                            panic!("case {case} at 1/{denom}: {:?} vs {:?}", c.err(), k.err())
                        }
                    }
                }
            }
        }
        // Every kind of outcome happened.
        assert!(
            same > 100 && both_failed > 50 && gave_up > 50,
            "{same} {both_failed} {gave_up}"
        );
    }

    /// Pillow's `convert('L')` of one RGB pixel.
    fn luma(p: &[u8]) -> u8 {
        crate::algo::imagehash::pillow::luma(p[0], p[1], p[2])
    }

    /// The kernel bits of [`Output::kernels`], and whether the kernels run here (built, and
    /// AVX2 present); elsewhere no kernel runs and the tests only compare pixels.
    use super::entropy::{DC_PLANE, HUFFMAN};

    #[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
    mod bits {
        pub(super) use super::super::hooks::{COLOR, IDCT, LUMA, UPSAMPLE};
        pub(super) fn active() -> bool {
            crate::arch::x86::Avx2::new().is_some()
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(feature = "jpeg-simd"))))]
    mod bits {
        pub(super) const IDCT: u8 = 1;
        pub(super) const UPSAMPLE: u8 = 2;
        pub(super) const COLOR: u8 = 4;
        pub(super) const LUMA: u8 = 8;
        pub(super) fn active() -> bool {
            false
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b"\xff\xd8\xff"[..],
            b"\xff\xd8\xff\xc0\x00\x11\x08",
            b"\xff\xd8",
        ] {
            assert!(matches!(
                decode(bytes, 1, 1 << 20, Colour::Rgb).unwrap_err().kind(),
                crate::ErrorKind::Decode { .. }
            ));
        }
    }
}

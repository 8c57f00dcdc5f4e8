//! Tiny crafted image files for the decoding-limit tests, the `decode_bombs` example (which
//! includes this file by path) and the fuzz seeds: headers that declare huge images in a few
//! bytes. Nothing here is a real image.

#![allow(dead_code)]

/// The CRC-32 of PNG chunks (the zlib polynomial), bit by bit: a few lines instead of a crate.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Appends one PNG chunk with its CRC.
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// An IHDR declaring `w` x `h` 8-bit pixels of PNG colour type `colour`, an IDAT with one empty
/// stored block, IEND.
pub fn png_header(w: u32, h: u32, colour: u8) -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, colour, 0, 0, 0]);
    png_chunk(&mut p, b"IHDR", &ihdr);
    png_chunk(&mut p, b"IDAT", &[0x78, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff]);
    png_chunk(&mut p, b"IEND", &[]);
    p
}

/// 35 bytes: a `w` x `h` logical screen and first frame, a 2-colour palette, one LZW byte.
pub fn gif_header(w: u16, h: u16, frame_w: u16, frame_h: u16) -> Vec<u8> {
    let (w, h) = (w.to_le_bytes(), h.to_le_bytes());
    let (fw, fh) = (frame_w.to_le_bytes(), frame_h.to_le_bytes());
    let mut g = b"GIF89a".to_vec();
    g.extend_from_slice(&[w[0], w[1], h[0], h[1], 0x80, 0, 0]);
    g.extend_from_slice(&[0, 0, 0, 0xff, 0xff, 0xff]);
    g.extend_from_slice(&[0x2C, 0, 0, 0, 0, fw[0], fw[1], fh[0], fh[1], 0]);
    g.extend_from_slice(&[2, 2, 0x4C, 0x01, 0, 0x3B]);
    g
}

/// A 24-bit BMP info header declaring `w` x `h`, with 64 bytes of pixels.
pub fn bmp_header(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&(54u32 + 64).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&54u32.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&(w as i32).to_le_bytes());
    b.extend_from_slice(&(h as i32).to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 24]);
    b.extend_from_slice(&[0; 64]);
    b
}

/// A RIFF/WEBP container of `chunks`.
pub fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    for (kind, chunk) in chunks {
        body.extend_from_slice(*kind);
        body.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        body.extend_from_slice(chunk);
        if chunk.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut w = b"RIFF".to_vec();
    w.extend_from_slice(&(body.len() as u32).to_le_bytes());
    w.extend_from_slice(&body);
    w
}

/// A VP8L header of a `w` x `h` image without alpha, then 3 bytes of zeros.
pub fn vp8l(w: u32, h: u32) -> Vec<u8> {
    let bits = (w - 1) | ((h - 1) << 14);
    let mut v = vec![0x2F];
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(&[0; 3]);
    v
}

/// An extended WebP whose canvas (VP8X, with `flags`) and VP8L header declare `w` x `h`.
pub fn webp_vp8x(w: u32, h: u32, flags: u8) -> Vec<u8> {
    let (cw, ch) = ((w - 1).to_le_bytes(), (h - 1).to_le_bytes());
    let vp8x = vec![flags, 0, 0, 0, cw[0], cw[1], cw[2], ch[0], ch[1], ch[2]];
    riff(&[(b"VP8X", vp8x), (b"VP8L", vp8l(w, h))])
}

/// Synthetic photo-like RGB: gradients, blocks and noise.
pub fn photo_rgb(w: u32, h: u32) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    let mut seed = 0x9E37_79B9u32;
    for y in 0..h {
        for x in 0..w {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed >> 28) as u8;
            let block = ((x / 300 + y / 200) % 2) as u8 * 60;
            rgb.push(((x * 255 / w) as u8).wrapping_add(noise));
            rgb.push(((y * 255 / h) as u8).wrapping_add(block));
            rgb.push((((x + y) * 255 / (w + h)) as u8) ^ noise);
        }
    }
    rgb
}

//! RLE Lossless decoding (DICOM PS3.5 Annex G). dicom-pixeldata refuses 32-bit samples,
//! so this small decoder handles any sample size: a frame is a 64-byte header (segment
//! count, then 15 segment offsets) followed by one PackBits-coded segment per byte plane,
//! most significant plane first.

/// Decode one RLE frame of `samples` samples of `bytes_per_sample` bytes, appending the
/// samples to `out` as little endian bytes.
pub(crate) fn decode_rle_frame(
    frame: &[u8],
    samples: usize,
    bytes_per_sample: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let header = frame.get(..64).ok_or_else(|| {
        format!(
            "fragment of {} bytes has no 64-byte RLE header",
            frame.len()
        )
    })?;
    let word = |i: usize| {
        u32::from_le_bytes([
            header[4 * i],
            header[4 * i + 1],
            header[4 * i + 2],
            header[4 * i + 3],
        ]) as usize
    };
    let segments = word(0);
    if segments != bytes_per_sample {
        return Err(format!(
            "{segments} RLE segments, expected {bytes_per_sample} (one per byte of a sample)"
        ));
    }
    let start = out.len();
    out.resize(start + samples * bytes_per_sample, 0);
    let mut plane = Vec::with_capacity(samples);
    for s in 0..segments {
        let begin = word(1 + s);
        let end = if s + 1 < segments {
            word(2 + s)
        } else {
            frame.len()
        };
        let data = frame.get(begin..end).ok_or_else(|| {
            format!(
                "segment {} spans bytes {begin}..{end} of a {}-byte fragment",
                s + 1,
                frame.len()
            )
        })?;
        plane.clear();
        packbits(data, samples, &mut plane);
        if plane.len() < samples {
            return Err(format!(
                "segment {} decodes to {} bytes, {samples} needed",
                s + 1,
                plane.len()
            ));
        }
        // Segment 0 holds the most significant bytes: little endian position bps-1-s.
        let pos = bytes_per_sample - 1 - s;
        for (k, b) in plane.iter().take(samples).enumerate() {
            out[start + k * bytes_per_sample + pos] = *b;
        }
    }
    Ok(())
}

/// PackBits: a header byte n ≥ 0 copies the next n+1 bytes, −127 ≤ n ≤ −1 repeats the
/// next byte 1−n times, −128 is a no-op. Stops once `limit` bytes are produced (segments
/// are padded to even length) or when the input ends.
fn packbits(data: &[u8], limit: usize, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < data.len() && out.len() < limit {
        let n = data[i] as i8;
        i += 1;
        if n >= 0 {
            let end = (i + n as usize + 1).min(data.len());
            out.extend_from_slice(&data[i..end]);
            i = end;
        } else if n != -128 {
            if let Some(&b) = data.get(i) {
                out.extend(std::iter::repeat_n(b, 1 + (-(n as i16)) as usize));
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_literal_and_run() {
        // 2 literal bytes, then 'x' repeated 4 times, a no-op, then 1 literal.
        let mut out = Vec::new();
        packbits(
            &[1, b'a', b'b', (-3i8) as u8, b'x', 0x80, 0, b'z'],
            100,
            &mut out,
        );
        assert_eq!(out, b"abxxxxz");
    }

    #[test]
    fn two_planes_make_big_endian_16_bit_samples() {
        // Samples 0x0102, 0x0304: plane 0 (MSB) = [1, 3], plane 1 (LSB) = [2, 4].
        let mut frame = vec![0u8; 64];
        frame[0] = 2;
        frame[4] = 64;
        frame[8] = 67;
        frame.extend_from_slice(&[1, 1, 3]); // literal run of 2
        frame.extend_from_slice(&[1, 2, 4]);
        let mut out = Vec::new();
        decode_rle_frame(&frame, 2, 2, &mut out).unwrap();
        assert_eq!(out, vec![0x02, 0x01, 0x04, 0x03]);
    }
}

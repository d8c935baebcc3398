//! Reading NIfTI-1 volumes (`.nii`, `.nii.gz`, `.hdr`/`.img` pairs) and turning a dose
//! volume into a canonical [`DoseGrid`].

use crate::affine::{AffineSource, axis_map, header_affine};
use crate::{Affine, NiftiError};
use flate2::bufread::GzDecoder;
use ndarray::Array3;
use nifti::{Endianness, NiftiHeader};
use radtox_model::DoseGrid;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::path::PathBuf;

/// A dose volume read from NIfTI, in canonical radtox layout.
#[derive(Debug, Clone, PartialEq)]
pub struct NiftiDose {
    /// Dose (in the file's units, assumed Gy) on increasing LPS axes, `[iz, iy, ix]`.
    pub grid: DoseGrid,
    /// The file's voxel → patient (LPS mm) affine, voxel indices in file order.
    pub affine: Affine,
    pub affine_source: AffineSource,
    pub warnings: Vec<String>,
}

/// One 3-D volume: header, sizes along the three voxel axes, and the scaled voxel values
/// in file (Fortran) order: index `i + ni·(j + nj·k)`.
pub(crate) struct Volume {
    pub dims: [usize; 3],
    pub values: Vec<f64>,
    pub lps: Affine,
    pub affine_source: AffineSource,
    pub warnings: Vec<String>,
}

fn datatype_name(code: i16) -> &'static str {
    match code {
        1 => "binary (1 bit)",
        2 => "uint8",
        4 => "int16",
        8 => "int32",
        16 => "float32",
        32 => "complex64",
        64 => "float64",
        128 => "rgb24",
        256 => "int8",
        512 => "uint16",
        768 => "uint32",
        1024 => "int64",
        1280 => "uint64",
        1536 => "float128",
        1792 => "complex128",
        2048 => "complex256",
        2304 => "rgba32",
        _ => "unknown",
    }
}

/// Decode raw voxel bytes into f64, for every real NIfTI datatype. Done here rather than
/// through the `nifti` crate's element conversion, whose fallbacks for some type pairs
/// are `unimplemented!()` panics.
fn decode(raw: &[u8], code: i16, little: bool, path: &Path) -> Result<Vec<f64>, NiftiError> {
    macro_rules! conv {
        ($t:ty, $n:expr) => {
            raw.chunks_exact($n)
                .map(|c| {
                    let mut b = [0u8; $n];
                    b.copy_from_slice(c);
                    (if little {
                        <$t>::from_le_bytes(b)
                    } else {
                        <$t>::from_be_bytes(b)
                    }) as f64
                })
                .collect()
        };
    }
    Ok(match code {
        2 => raw.iter().map(|&v| f64::from(v)).collect(),
        256 => raw.iter().map(|&v| f64::from(v as i8)).collect(),
        4 => conv!(i16, 2),
        512 => conv!(u16, 2),
        8 => conv!(i32, 4),
        768 => conv!(u32, 4),
        1024 => conv!(i64, 8),
        1280 => conv!(u64, 8),
        16 => conv!(f32, 4),
        64 => conv!(f64, 8),
        _ => {
            return Err(NiftiError::UnsupportedDatatype {
                path: path.to_path_buf(),
                code,
                name: datatype_name(code),
            });
        }
    })
}

fn element_size(code: i16) -> Option<usize> {
    match code {
        2 | 256 => Some(1),
        4 | 512 => Some(2),
        8 | 768 | 16 => Some(4),
        64 | 1024 | 1280 => Some(8),
        _ => None,
    }
}

/// The three spatial sizes, refusing more than one volume along dims 4..7.
fn spatial_dims(h: &NiftiHeader, path: &Path) -> Result<[usize; 3], NiftiError> {
    let err = |reason: String| NiftiError::Dimensions {
        path: path.to_path_buf(),
        // dim is i16 in the standard (the nifti crate reads u16): show it as written.
        dims: h.dim.iter().map(|&v| v as i16).collect(),
        reason,
    };
    let ndim = usize::from(h.dim[0]);
    if !(1..=7).contains(&ndim) {
        return Err(err("dim[0] must be 1 to 7".into()));
    }
    let d = &h.dim[1..=ndim];
    // dim is i16 in the standard: the nifti crate reads it as u16, so a negative size
    // shows up as a value above i16::MAX.
    if let Some(i) = d.iter().position(|&v| v == 0 || v > i16::MAX as u16) {
        return Err(err(format!("dim[{}] must be positive", i + 1)));
    }
    if let Some(i) = d.iter().skip(3).position(|&v| v != 1) {
        return Err(err(format!(
            "dim[{}] = {}: only single 3-D volumes are supported",
            i + 4,
            d[i + 3]
        )));
    }
    let get = |i: usize| d.get(i).map_or(1, |&v| usize::from(v));
    Ok([get(0), get(1), get(2)])
}

/// Open a file, gunzipping when its first bytes are the gzip magic (whatever its name
/// says: `.nii` files that are really gzipped exist, and the reverse).
fn open_maybe_gz(path: &Path) -> Result<Box<dyn Read>, NiftiError> {
    let io = |source| NiftiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let head = file.fill_buf().map_err(io)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::new(GzDecoder::new(file))))
    } else {
        Ok(Box::new(file))
    }
}

/// Read exactly `n` bytes, or report how many there were.
fn read_exact_or_truncated(
    r: &mut dyn Read,
    n: usize,
    path: &Path,
    what: &str,
) -> Result<Vec<u8>, NiftiError> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(n).map_err(|_| NiftiError::Format {
        path: path.to_path_buf(),
        message: format!("cannot allocate {n} bytes for {what}"),
    })?;
    let got = r
        .take(n as u64)
        .read_to_end(&mut buf)
        .map_err(|source| NiftiError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if got != n {
        return Err(NiftiError::Truncated {
            path: path.to_path_buf(),
            reason: format!("{got} bytes of {what} where the header announces {n}"),
        });
    }
    Ok(buf)
}

/// The image file of a `.hdr` header: `.img`, else `.img.gz`.
fn image_file_of(path: &Path) -> Result<PathBuf, NiftiError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = name.strip_suffix(".gz").unwrap_or(&name);
    let stem = stem.strip_suffix(".hdr").unwrap_or(stem);
    let candidates = [format!("{stem}.img"), format!("{stem}.img.gz")];
    candidates
        .iter()
        .map(|c| path.with_file_name(c))
        .find(|p| p.exists())
        .ok_or_else(|| NiftiError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "header-only NIfTI (\"ni1\"): no {} or {} beside it",
                    candidates[0], candidates[1]
                ),
            ),
        })
}

pub(crate) fn read_volume(path: &Path) -> Result<Volume, NiftiError> {
    let mut reader = open_maybe_gz(path)?;
    // The nifti crate parses the header (both byte orders) and checks the magic; the
    // voxel data is read here so that vox_offset is honoured even when the gap after
    // the header is padding rather than extensions, and so that absurd sizes or types
    // are reported before anything is allocated.
    let h = NiftiHeader::from_reader(&mut reader).map_err(|e| NiftiError::from_nifti(path, e))?;
    let mut warnings = Vec::new();
    if h.sizeof_hdr != 348 {
        return Err(NiftiError::NotNifti {
            path: path.to_path_buf(),
            reason: format!(
                "sizeof_hdr is {} (NIfTI-1 has 348; NIfTI-2 is not supported)",
                h.sizeof_hdr
            ),
        });
    }
    let dims = spatial_dims(&h, path)?;
    let size = element_size(h.datatype).ok_or_else(|| NiftiError::UnsupportedDatatype {
        path: path.to_path_buf(),
        code: h.datatype,
        name: datatype_name(h.datatype),
    })?;
    if usize::try_from(h.bitpix).ok() != Some(8 * size) {
        return Err(NiftiError::Format {
            path: path.to_path_buf(),
            message: format!(
                "bitpix {} disagrees with datatype {} ({} bits)",
                h.bitpix,
                datatype_name(h.datatype),
                8 * size
            ),
        });
    }
    let nvox = dims[0] * dims[1] * dims[2];
    let nbytes = nvox
        .checked_mul(size)
        .ok_or_else(|| NiftiError::Dimensions {
            path: path.to_path_buf(),
            dims: h.dim.iter().map(|&v| v as i16).collect(),
            reason: "volume too large".into(),
        })?;
    let offset = h.vox_offset;
    if !(offset.is_finite() && offset >= 0.0) {
        return Err(NiftiError::Format {
            path: path.to_path_buf(),
            message: format!("vox_offset {offset} is not a valid byte offset"),
        });
    }
    let raw = if &h.magic == b"n+1\0" {
        // Single file: data at vox_offset (≥ 352), the header took 348 bytes.
        let mut start = offset as u64;
        if start < 352 {
            warnings.push(format!(
                "vox_offset {offset} < 352 in a single-file NIfTI: 352 used"
            ));
            start = 352;
        }
        let skipped = std::io::copy(&mut (&mut reader).take(start - 348), &mut std::io::sink())
            .map_err(|source| NiftiError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if skipped != start - 348 {
            return Err(NiftiError::Truncated {
                path: path.to_path_buf(),
                reason: format!("ends at byte {}, before vox_offset {start}", 348 + skipped),
            });
        }
        read_exact_or_truncated(&mut reader, nbytes, path, "voxel data")?
    } else {
        let img = image_file_of(path)?;
        let mut r = open_maybe_gz(&img)?;
        let start = offset as u64;
        let skipped =
            std::io::copy(&mut (&mut r).take(start), &mut std::io::sink()).map_err(|source| {
                NiftiError::Io {
                    path: img.clone(),
                    source,
                }
            })?;
        if skipped != start {
            return Err(NiftiError::Truncated {
                path: img,
                reason: format!("ends at byte {skipped}, before vox_offset {start}"),
            });
        }
        read_exact_or_truncated(&mut r, nbytes, &img, "voxel data")?
    };
    let mut values = decode(&raw, h.datatype, h.endianness == Endianness::Little, path)?;
    // scl_slope = 0 means "no scaling" (NIfTI-1 standard).
    if h.scl_slope != 0.0 {
        if !(h.scl_slope.is_finite() && h.scl_inter.is_finite()) {
            return Err(NiftiError::BadScaling {
                path: path.to_path_buf(),
                slope: h.scl_slope,
                inter: h.scl_inter,
            });
        }
        if h.scl_slope != 1.0 || h.scl_inter != 0.0 {
            let (s, i) = (f64::from(h.scl_slope), f64::from(h.scl_inter));
            values.iter_mut().for_each(|v| *v = *v * s + i);
        }
    }
    let affine = header_affine(&h, path)?;
    warnings.extend(affine.warnings);
    Ok(Volume {
        dims,
        values,
        lps: affine.lps,
        affine_source: affine.source,
        warnings,
    })
}

/// Read a NIfTI dose volume into a canonical [`DoseGrid`].
///
/// The voxel axes must be aligned with the patient axes (any signed permutation: flips
/// and axis swaps are undone); an oblique affine is an error, since a `DoseGrid` is
/// axis-aligned and resampling dose would change it. Values are taken as Gy after
/// `scl_slope`/`scl_inter`. Non-finite voxels become 0 Gy and negative doses are kept,
/// both with a warning.
pub fn read_dose(path: &Path) -> Result<NiftiDose, NiftiError> {
    let vol = read_volume(path)?;
    let map = axis_map(&vol.lps).map_err(|(voxel_axis, angle_deg)| NiftiError::ObliqueDose {
        path: path.to_path_buf(),
        voxel_axis,
        angle_deg,
    })?;
    let mut warnings = vol.warnings;
    let n = [
        vol.dims[map.voxel_axis[0]],
        vol.dims[map.voxel_axis[1]],
        vol.dims[map.voxel_axis[2]],
    ];
    // Canonical index c along patient axis w ↔ file index k along voxel axis
    // voxel_axis[w]: k = c when the step is positive, n−1−c when it is negative.
    let file_index = |w: usize, c: usize| if map.step[w] > 0.0 { c } else { n[w] - 1 - c };
    let axis = |w: usize| -> Vec<f64> {
        (0..n[w])
            .map(|c| map.offset[w] + map.step[w] * file_index(w, c) as f64)
            .collect()
    };
    let (x, y, z) = (axis(0), axis(1), axis(2));
    let [ni, nj, _] = vol.dims;
    let mut non_finite = 0usize;
    let mut negative = 0usize;
    let mut min = 0.0f32;
    let dose = Array3::from_shape_fn((n[2], n[1], n[0]), |(cz, cy, cx)| {
        let mut ijk = [0usize; 3];
        for (w, c) in [cx, cy, cz].into_iter().enumerate() {
            ijk[map.voxel_axis[w]] = file_index(w, c);
        }
        let v = vol.values[ijk[0] + ni * (ijk[1] + nj * ijk[2])] as f32;
        if !v.is_finite() {
            non_finite += 1;
            0.0
        } else {
            if v < 0.0 {
                negative += 1;
                min = min.min(v);
            }
            v
        }
    });
    if non_finite > 0 {
        warnings.push(format!("{non_finite} non-finite dose voxels set to 0 Gy"));
    }
    if negative > 0 {
        warnings.push(format!(
            "{negative} negative dose voxels (minimum {min} Gy) kept as read"
        ));
    }
    let grid = DoseGrid::new(x, y, z, dose).map_err(|source| NiftiError::Grid {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(NiftiDose {
        grid,
        affine: vol.lps,
        affine_source: vol.affine_source,
        warnings,
    })
}

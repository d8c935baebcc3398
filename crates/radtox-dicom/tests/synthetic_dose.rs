//! RT Dose edge cases on small files written here: every orientation gives the same
//! canonical grid, offset vector variants, sample formats, and clear errors.

mod common;
use common::*;
use radtox_dicom::{DicomError, read_rt_dose};
use radtox_model::DoseUnits;

/// The physical dose used throughout: linear and different at every voxel.
fn f(x: f64, y: f64, z: f64) -> f64 {
    1000.0 + x + 10.0 * y + 100.0 * z
}
const XS: [f64; 4] = [0.0, 2.0, 4.0, 6.0];
const YS: [f64; 3] = [10.0, 13.0, 16.0];
const ZS: [f64; 3] = [-5.0, -1.0, 3.0];

fn axis_values(a: usize) -> &'static [f64] {
    match a {
        0 => &XS,
        1 => &YS,
        _ => &ZS,
    }
}

fn unit(v: [f64; 3]) -> (usize, f64) {
    let a = (0..3).find(|&i| v[i] != 0.0).unwrap();
    (a, v[a])
}

#[derive(Clone, Copy, PartialEq)]
enum Offsets {
    /// Frames walk along +normal, offsets 0, +d, ...
    Increasing,
    /// Frames walk along −normal, offsets 0, −d, ... (Leksell GammaPlan style).
    Decreasing,
    /// First offset = IPP's component along the normal (absolute positions).
    Absolute,
}

/// Write the fixed physical dose f on XS×YS×ZS with the given orientation.
fn write_oriented(dir: &std::path::Path, iop: [f64; 6], offsets: Offsets) -> std::path::PathBuf {
    let r = [iop[0], iop[1], iop[2]];
    let c = [iop[3], iop[4], iop[5]];
    let n = [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ];
    let (ra, rs) = unit(r);
    let (ca, cs) = unit(c);
    let (na, ns) = unit(n);
    // Positions in traversal order along each file dimension.
    let walk = |a: usize, sign: f64| -> Vec<f64> {
        let mut v = axis_values(a).to_vec();
        if sign < 0.0 {
            v.reverse();
        }
        v
    };
    let cols = walk(ra, rs);
    let rows = walk(ca, cs);
    let frame_sign = if offsets == Offsets::Decreasing {
        -ns
    } else {
        ns
    };
    let frames = walk(na, frame_sign);
    let mut ipp = [0.0; 3];
    ipp[ra] = cols[0];
    ipp[ca] = rows[0];
    ipp[na] = frames[0];
    // offset_k · normal must move from frames[0] to frames[k] along axis na.
    let mut off: Vec<f64> = frames.iter().map(|p| ns * (p - frames[0])).collect();
    if offsets == Offsets::Absolute {
        let along = ns * ipp[na];
        off.iter_mut().for_each(|o| *o += along);
    }
    let mut samples = Vec::new();
    for &pf in &frames {
        for &pr in &rows {
            for &pc in &cols {
                let mut p = [0.0; 3];
                p[na] = pf;
                p[ca] = pr;
                p[ra] = pc;
                samples.push((f(p[0], p[1], p[2]) * 1000.0).round() as i64);
            }
        }
    }
    let step = |a: usize| axis_values(a)[1] - axis_values(a)[0];
    let mut spec = DoseSpec::hfs(frames.len(), rows.len(), cols.len(), samples);
    spec.ipp = ipp;
    spec.iop = iop;
    spec.spacing = [step(ca), step(ra)];
    spec.offsets = Some(off);
    let name = format!("{iop:?}-{}.dcm", offsets as u8).replace([' ', '[', ']', ','], "_");
    spec.write(&dir.join(name))
}

fn assert_canonical(path: &std::path::Path) {
    let d = read_rt_dose(path).unwrap_or_else(|e| panic!("{e}"));
    let g = &d.grid;
    assert_eq!(g.x, XS.to_vec(), "{}", path.display());
    assert_eq!(g.y, YS.to_vec(), "{}", path.display());
    assert_eq!(g.z, ZS.to_vec(), "{}", path.display());
    for (iz, z) in ZS.iter().enumerate() {
        for (iy, y) in YS.iter().enumerate() {
            for (ix, x) in XS.iter().enumerate() {
                let want = f(*x, *y, *z) as f32;
                assert!(
                    (g.dose[[iz, iy, ix]] - want).abs() < 1e-3,
                    "{}: ({x},{y},{z}) = {} not {want}",
                    path.display(),
                    g.dose[[iz, iy, ix]]
                );
            }
        }
    }
}

#[test]
fn every_axis_aligned_orientation_gives_the_same_canonical_grid() {
    let dir = tempfile::tempdir().unwrap();
    let orientations: [[f64; 6]; 10] = [
        [1., 0., 0., 0., 1., 0.],   // HFS
        [-1., 0., 0., 0., 1., 0.],  // FFS
        [-1., 0., 0., 0., -1., 0.], // HFP
        [1., 0., 0., 0., -1., 0.],  // FFP
        [0., 1., 0., -1., 0., 0.],  // HFDL
        [0., -1., 0., 1., 0., 0.],  // HFDR
        [0., -1., 0., -1., 0., 0.], // FFDL
        [0., 1., 0., 1., 0., 0.],   // FFDR
        [0., 1., 0., 0., 0., -1.],  // sagittal
        [1., 0., 0., 0., 0., -1.],  // coronal
    ];
    for iop in orientations {
        for mode in [Offsets::Increasing, Offsets::Decreasing, Offsets::Absolute] {
            assert_canonical(&write_oriented(dir.path(), iop, mode));
        }
    }
}

#[test]
fn near_axis_cosines_accepted_oblique_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_oriented(
        dir.path(),
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        Offsets::Increasing,
    );
    // Rewrite with cosines off by 5e-4 (accepted) and by 0.1 (refused).
    let mut spec = DoseSpec::hfs(1, 2, 2, vec![1, 2, 3, 4]);
    spec.iop = [0.9999998, 0.0005, 0.0, -0.0005, 0.9999998, 0.0];
    let ok = spec.write(&dir.path().join("near.dcm"));
    assert_eq!(read_rt_dose(&ok).unwrap().grid.dims(), [1, 2, 2]);
    spec.iop = [0.995, 0.0998, 0.0, -0.0998, 0.995, 0.0];
    let bad = spec.write(&dir.path().join("oblique.dcm"));
    let e = read_rt_dose(&bad).unwrap_err();
    assert!(matches!(e, DicomError::Unsupported { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("(0020,0037)") && msg.contains("0.0998"),
        "{msg}"
    );
    assert!(p.exists());
}

#[test]
fn non_uniform_offsets_and_pixel_spacing_order() {
    let dir = tempfile::tempdir().unwrap();
    // 2 rows × 3 columns; PixelSpacing = [row spacing 4, column spacing 1.5].
    let mut spec = DoseSpec::hfs(3, 2, 3, (0..18).collect());
    spec.ipp = [10.0, 20.0, 30.0];
    spec.spacing = [4.0, 1.5];
    spec.offsets = Some(vec![0.0, 2.0, 7.0]);
    let d = read_rt_dose(&spec.write(&dir.path().join("nonuniform.dcm"))).unwrap();
    assert_eq!(d.grid.x, vec![10.0, 11.5, 13.0]);
    assert_eq!(d.grid.y, vec![20.0, 24.0]);
    assert_eq!(d.grid.z, vec![30.0, 32.0, 37.0]);
    // Sample index = frame·6 + row·3 + column, × 1e-3 Gy.
    assert!((d.grid.dose[[2, 1, 0]] - 0.015).abs() < 1e-7);
    // Interpolation between the unevenly spaced planes z = 32 and 37.
    let mid = d.grid.interpolate([10.0, 20.0, 34.5]).unwrap();
    assert!((mid - 0.009).abs() < 1e-6);
}

#[test]
fn sixteen_bit_and_signed_samples() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = DoseSpec::hfs(1, 1, 3, vec![0, 1000, 65535]);
    spec.bits = 16;
    let d = read_rt_dose(&spec.write(&dir.path().join("u16.dcm"))).unwrap();
    assert_eq!(
        d.grid.dose.iter().copied().collect::<Vec<_>>(),
        vec![0.0, 1.0, 65.535]
    );
    spec.signed = true;
    spec.samples = vec![-2000, 0, 3000];
    let d = read_rt_dose(&spec.write(&dir.path().join("i16.dcm"))).unwrap();
    assert_eq!(
        d.grid.dose.iter().copied().collect::<Vec<_>>(),
        vec![-2.0, 0.0, 3.0]
    );
    let mut spec = DoseSpec::hfs(1, 1, 2, vec![-5000, 4_000_000]);
    spec.signed = true;
    let d = read_rt_dose(&spec.write(&dir.path().join("i32.dcm"))).unwrap();
    assert_eq!(
        d.grid.dose.iter().copied().collect::<Vec<_>>(),
        vec![-5.0, 4000.0]
    );
}

#[test]
fn missing_dose_grid_scaling_is_an_error_naming_the_tag() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = DoseSpec::hfs(1, 2, 2, vec![1, 2, 3, 4]);
    spec.scaling = None;
    let p = spec.write(&dir.path().join("rtdose.dcm"));
    let e = read_rt_dose(&p).unwrap_err();
    assert!(matches!(e, DicomError::MissingTag { .. }));
    assert!(
        e.to_string()
            .ends_with("rtdose.dcm: (3004,000E) DoseGridScaling is missing"),
        "{e}"
    );
}

#[test]
fn truncated_pixel_data_names_expected_and_actual_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // 2 frames × 2 × 2 × 4 bytes = 32 needed; 3 samples = 12 bytes given.
    let spec = DoseSpec::hfs(2, 2, 2, vec![1, 2, 3]);
    let e = read_rt_dose(&spec.write(&dir.path().join("short.dcm"))).unwrap_err();
    match &e {
        DicomError::PixelDataTooShort {
            expected, actual, ..
        } => {
            assert_eq!((*expected, *actual), (32, 12));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("need 32 bytes, found 12"), "{e}");
}

#[test]
fn number_of_frames_absent() {
    let dir = tempfile::tempdir().unwrap();
    // Pixel data for 3 frames and 3 offsets: both sources agree → 3 frames, warned.
    let mut spec = DoseSpec::hfs(3, 1, 2, vec![1, 2, 3, 4, 5, 6]);
    spec.frames = None;
    let d = read_rt_dose(&spec.write(&dir.path().join("three.dcm"))).unwrap();
    assert_eq!(d.grid.dims(), [3, 1, 2]);
    assert!(d.warnings.iter().any(|w| w.contains("NumberOfFrames")));
    // One frame of pixel data, 3 offsets: one frame (the offsets never decide alone).
    spec.samples = vec![1, 2];
    let d = read_rt_dose(&spec.write(&dir.path().join("one.dcm"))).unwrap();
    assert_eq!(d.grid.dims(), [1, 1, 2]);
    // One frame, a single offset value (TOPAS), no DoseUnits → Unknown + warning.
    spec.offsets = Some(vec![0.0]);
    spec.units = None;
    let d = read_rt_dose(&spec.write(&dir.path().join("topas.dcm"))).unwrap();
    assert_eq!(d.grid.z, vec![0.0]);
    assert_eq!(d.info.units, DoseUnits::Unknown);
    assert!(d.warnings.iter().any(|w| w.contains("DoseUnits")));
}

#[test]
fn empty_and_non_dicom_files() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.dcm");
    std::fs::write(&empty, b"").unwrap();
    let e = read_rt_dose(&empty).unwrap_err();
    assert!(
        matches!(e, DicomError::NotDicom { .. }) && e.to_string().contains("empty"),
        "{e}"
    );
    let text = dir.path().join("dose.dcm");
    std::fs::write(&text, "x,y,z,dose\n1,2,3,4\n".repeat(20)).unwrap();
    assert!(matches!(
        read_rt_dose(&text),
        Err(DicomError::NotDicom { .. })
    ));
    // A file that starts like DICOM but is cut short.
    let full = DoseSpec::hfs(1, 2, 2, vec![1, 2, 3, 4]).write(&dir.path().join("full.dcm"));
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.dcm");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = read_rt_dose(&cut).unwrap_err();
    assert!(
        matches!(
            e,
            DicomError::Unreadable { .. }
                | DicomError::MissingTag { .. }
                | DicomError::PixelDataTooShort { .. }
        ),
        "{e}"
    );
}

#[test]
fn no_preamble_no_meta_and_deflated_files_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let spec = DoseSpec::hfs(2, 2, 3, (0..12).map(|v| v * 7).collect());
    let reference = read_rt_dose(&spec.write(&dir.path().join("ref.dcm"))).unwrap();
    let bare = dir.path().join("monaco.dcm");
    write_bare(&spec.object(), &bare);
    let d = read_rt_dose(&bare).unwrap();
    assert_eq!(d.grid, reference.grid);
    assert!(d.warnings.iter().any(|w| w.contains("no preamble")));
    let deflated = dir.path().join("deflated.dcm");
    write(spec.object(), &deflated, DEFLATED_LE);
    assert_eq!(read_rt_dose(&deflated).unwrap().grid, reference.grid);
    let implicit = dir.path().join("implicit.dcm");
    write(spec.object(), &implicit, IMPLICIT_LE);
    assert_eq!(read_rt_dose(&implicit).unwrap().grid, reference.grid);
}

#[test]
fn unknown_or_compressed_transfer_syntax_is_unsupported() {
    use dicom_core::value::{PixelFragmentSequence, Value};
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    let dir = tempfile::tempdir().unwrap();
    // JPEG 2000 pixel data: the data set reads, the pixels cannot be decoded here.
    let mut obj = DoseSpec::hfs(1, 2, 2, vec![1, 2, 3, 4]).object();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new_fragments(vec![vec![0u8; 16]])),
    ));
    let p = dir.path().join("j2k.dcm");
    write(obj, &p, "1.2.840.10008.1.2.4.90");
    let e = read_rt_dose(&p).unwrap_err();
    assert!(matches!(e, DicomError::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("1.2.840.10008.1.2.4.90"), "{e}");

    // A private transfer syntax nobody knows: refused when opening.
    let p = dir.path().join("private.dcm");
    let spec = DoseSpec::hfs(1, 2, 2, vec![1, 2, 3, 4]);
    write(spec.object(), &p, EXPLICIT_LE);
    let mut bytes = std::fs::read(&p).unwrap();
    let at = bytes
        .windows(19)
        .position(|w| w == b"1.2.840.10008.1.2.1")
        .unwrap();
    bytes[at..at + 19].copy_from_slice(b"1.9.999.999.999.9.9");
    std::fs::write(&p, bytes).unwrap();
    let e = read_rt_dose(&p).unwrap_err();
    assert!(matches!(e, DicomError::Unsupported { .. }), "{e}");
}

#[test]
fn dose_cut_in_the_middle_of_pixel_data() {
    let dir = tempfile::tempdir().unwrap();
    let full = DoseSpec::hfs(4, 4, 4, (0..64).collect()).write(&dir.path().join("full.dcm"));
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.dcm");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let e = read_rt_dose(&cut).unwrap_err();
    assert!(matches!(e, DicomError::Unreadable { .. }), "{e}");
    assert!(e.to_string().contains("cut.dcm"), "{e}");
}

#[test]
fn leksell_gammaplan_decreasing_offsets() {
    // 12 frames at offsets 0, −1, …, −11 from IPP z = 40: planes z = 40, 39, …, 29 in
    // file order, so the canonical z axis is 29..=40 and frame k lands at iz = 11 − k.
    let dir = tempfile::tempdir().unwrap();
    let mut spec = DoseSpec::hfs(12, 1, 1, (0..12).map(|k| k * 1000).collect());
    spec.ipp = [0.0, 0.0, 40.0];
    spec.offsets = Some((0..12).map(|k| -(k as f64)).collect());
    let d = read_rt_dose(&spec.write(&dir.path().join("gammaplan.dcm"))).unwrap();
    assert_eq!(d.grid.z, (29..=40).map(f64::from).collect::<Vec<_>>());
    for k in 0..12 {
        assert_eq!(d.grid.dose[[11 - k, 0, 0]], k as f32);
    }
}

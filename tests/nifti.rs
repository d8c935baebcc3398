//! End-to-end tests of the NIfTI input path (`radtox analyze --nifti-dose …`).
//!
//! The phantom is written twice by independent routes: as DICOM by radtox-fixtures
//! (contours cut from the analytic shapes), and as NIfTI here (dose grid as the DICOM
//! reader must return it; masks by testing `Shape::contains` at 4×4×4 points in each
//! 1 mm voxel, so the masks never pass through contours). Both must give the same
//! DVHs within the sampling tolerance.

mod common;

use common::{json_of, metric, radtox, run, structure};
use ndarray::Array3;
use radtox_fixtures::{Phantom, Shape, WriteOptions, brain_srs, write_plan};
use radtox_model::DoseGrid;
use radtox_nifti::{Affine, affine_to_qform, write_dose, write_mask};
use std::path::{Path, PathBuf};

/// A mask grid of `step` mm voxels around `shape` (2 mm margin), fractions from
/// `sub`³ point tests per voxel.
fn shape_mask(shape: &Shape, step: f64, sub: usize) -> (DoseGrid, Array3<f32>) {
    let (lo, hi) = shape.bounds();
    let axis = |a: usize| -> Vec<f64> {
        let n = ((hi[a] - lo[a] + 4.0) / step).ceil() as usize + 1;
        (0..n).map(|i| lo[a] - 2.0 + i as f64 * step).collect()
    };
    let (x, y, z) = (axis(0), axis(1), axis(2));
    let off: Vec<f64> = (0..sub)
        .map(|s| ((s as f64 + 0.5) / sub as f64 - 0.5) * step)
        .collect();
    let per = (sub * sub * sub) as f32;
    let f = Array3::from_shape_fn((z.len(), y.len(), x.len()), |(iz, iy, ix)| {
        let mut n = 0usize;
        for dz in &off {
            for dy in &off {
                for dx in &off {
                    n += usize::from(shape.contains([x[ix] + dx, y[iy] + dy, z[iz] + dz]));
                }
            }
        }
        n as f32 / per
    });
    let zero = Array3::zeros(f.raw_dim());
    (DoseGrid::new(x, y, z, zero).unwrap(), f)
}

struct Written {
    dicom: radtox_fixtures::WrittenPlan,
    nifti_dose: PathBuf,
    masks: Vec<(String, PathBuf)>,
}

const COMPARED: [&str; 6] = [
    "GTV_2",
    "GTV_3",
    "PTV_2",
    "PTV_3",
    "Brainstem",
    "OpticChiasm",
];

fn write_both(ph: &Phantom, dir: &Path) -> Written {
    let opts = WriteOptions::default();
    let dicom = write_plan(ph, &dir.join("dicom"), &opts).unwrap();
    let grid = ph.expected_dose_grid(&opts).unwrap();
    let nifti_dose = dir.join("dose.nii.gz");
    write_dose(&nifti_dose, &grid, "phantom dose").unwrap();
    // Also GTV_1 and Brain, which the pipeline's derived structures read (Brain on 2 mm
    // voxels with 4³ points each: it is large).
    let masks = COMPARED
        .iter()
        .chain(&["GTV_1", "Brain"])
        .map(|name| {
            let s = ph.structures.iter().find(|s| s.name == *name).unwrap();
            let step = if *name == "Brain" { 2.0 } else { 1.0 };
            let (g, f) = shape_mask(&s.shape, step, 4);
            let p = dir.join(format!("{name}.nii.gz"));
            write_mask(&p, &g, &f, None).unwrap();
            (name.to_string(), p)
        })
        .collect();
    Written {
        dicom,
        nifti_dose,
        masks,
    }
}

const METRICS: [&str; 6] = ["-m", "Mean[Gy]", "-m", "D95%[Gy]", "-m", "Max[Gy]"];

fn nifti_json(dose: &Path, masks: &[(String, PathBuf)], extra: &[&str]) -> serde_json::Value {
    let mut cmd = radtox();
    cmd.arg("analyze").arg("--nifti-dose").arg(dose);
    for (n, p) in masks {
        cmd.arg("--nifti-mask").arg(format!("{n}={}", p.display()));
    }
    cmd.args(["--format", "json", "--no-dvh"])
        .args(METRICS)
        .args(extra);
    json_of(run(&mut cmd))
}

#[test]
fn dicom_and_nifti_of_the_same_phantom_give_the_same_dvhs() {
    let dir = tempfile::tempdir().unwrap();
    let ph = brain_srs();
    let w = write_both(&ph, dir.path());
    let dicom = common::analyze_json(&w.dicom, &["Mean[Gy]", "D95%[Gy]", "Max[Gy]"], &[]);
    let nifti = nifti_json(&w.nifti_dose, &w.masks, &[]);
    for name in COMPARED {
        let (d, n) = (structure(&dicom, name), structure(&nifti, name));
        let truth = ph
            .structures
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .shape
            .volume_mm3()
            / 1000.0;
        let (vd, vn) = (
            d["volume_cc"].as_f64().unwrap(),
            n["volume_cc"].as_f64().unwrap(),
        );
        // The mask itself is within 0.5 % of the analytic volume; DICOM vs NIfTI ±1 %.
        assert!(
            (vn - truth).abs() <= 0.005 * truth,
            "{name}: mask {vn} cc vs {truth} cc"
        );
        assert!(
            (vd - vn).abs() <= 0.01 * vd,
            "{name}: volume DICOM {vd} vs NIfTI {vn}"
        );
        let (gd, gn) = (
            d["volume_in_dose_grid_cc"].as_f64().unwrap(),
            n["volume_in_dose_grid_cc"].as_f64().unwrap(),
        );
        let (md, mn) = (metric(d, "Mean[Gy]"), metric(n, "Mean[Gy]"));
        let (d95d, d95n) = (metric(d, "D95%[Gy]"), metric(n, "D95%[Gy]"));
        eprintln!(
            "{name}: volume {vd:.4}/{vn:.4} cc (truth {truth:.4}), in grid {gd:.4}/{gn:.4} cc, \
             mean {md:.4}/{mn:.4} Gy, D95 {d95d:.4}/{d95n:.4} Gy (DICOM/NIfTI)"
        );
        // A structure cut by the edge of the dose grid (Brainstem) keeps only the
        // samples inside the box of voxel centres: the two samplers place their points
        // differently along the cut (contours: slabs and refined lattice; masks: mask
        // voxel centres), so the in-grid part differs by up to half a sample spacing ×
        // the cut's area (measured: Brainstem mean 0.600 / 0.614 Gy with 20 000-cell
        // lattices). Whole structures are held to the 1 % / 0.5 % of the issue.
        let cut = gd < 0.999 * vd;
        let (tol_grid, tol_mean) = if cut { (0.05, 0.03) } else { (0.01, 0.005) };
        assert!(
            (gd - gn).abs() <= tol_grid * gd,
            "{name}: in-grid {gd} vs {gn}"
        );
        assert!(
            (md - mn).abs() <= tol_mean * md,
            "{name}: mean {md} vs {mn}"
        );
        assert!(
            (d95d - d95n).abs() <= 0.01 * d95d + 0.05,
            "{name}: D95 {d95d} vs {d95n}"
        );
    }
}

/// Write `data` (NIfTI voxel order `[i, j, k]`) with a voxel → LPS affine, as sform
/// (code 1) or qform only (sform_code 0), through the `nifti` crate directly.
fn write_raw(path: &Path, data: &Array3<f32>, lps: &Affine, sform: bool) {
    let mut ras = *lps;
    // RAS = LPS with x and y negated.
    for row in ras.iter_mut().take(2) {
        for v in row.iter_mut() {
            *v = -*v;
        }
    }
    let mut h = nifti::NiftiHeader::default();
    if sform {
        for (srow, row) in [&mut h.srow_x, &mut h.srow_y, &mut h.srow_z]
            .into_iter()
            .zip(ras)
        {
            *srow = row.map(|v| v as f32);
        }
        h.sform_code = 1;
        h.qform_code = 0;
        let norm = |c: usize| (0..3).map(|r| lps[r][c].powi(2)).sum::<f64>().sqrt() as f32;
        h.pixdim = [1.0, norm(0), norm(1), norm(2), 1.0, 1.0, 1.0, 1.0];
    } else {
        let q = affine_to_qform(&ras).expect("orthogonal affine");
        h.quatern_b = q.b as f32;
        h.quatern_c = q.c as f32;
        h.quatern_d = q.d as f32;
        h.quatern_x = q.offset[0] as f32;
        h.quatern_y = q.offset[1] as f32;
        h.quatern_z = q.offset[2] as f32;
        h.pixdim = [
            q.qfac as f32,
            q.pixdim[0] as f32,
            q.pixdim[1] as f32,
            q.pixdim[2] as f32,
            1.0,
            1.0,
            1.0,
            1.0,
        ];
        h.sform_code = 0;
        h.qform_code = 1;
    }
    h.xyzt_units = 2;
    nifti::writer::WriterOptions::new(path)
        .reference_header(&h)
        .write_nifti(data)
        .unwrap();
}

/// The grid's `[iz, iy, ix]` array stored with voxel axes (i, j, k) = (z, −x, y), and
/// the matching LPS affine: a permutation plus a flip.
fn permuted_flipped(grid: &DoseGrid, a: &Array3<f32>) -> (Array3<f32>, Affine) {
    let (nz, ny, nx) = a.dim();
    let data = Array3::from_shape_fn((nz, nx, ny), |(i, j, k)| a[[i, k, nx - 1 - j]]);
    let step = |v: &[f64]| if v.len() > 1 { v[1] - v[0] } else { 1.0 };
    let (sx, sy, sz) = (step(&grid.x), step(&grid.y), step(&grid.z));
    let lps = [
        [0.0, -sx, 0.0, grid.x[nx - 1]],
        [0.0, 0.0, sy, grid.y[0]],
        [sz, 0.0, 0.0, grid.z[0]],
        [0.0, 0.0, 0.0, 1.0],
    ];
    (data, lps)
}

#[test]
fn flipped_and_permuted_affines_give_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let ph = brain_srs();
    let grid = ph.expected_dose_grid(&WriteOptions::default()).unwrap();
    let canonical_dose = dir.path().join("dose.nii");
    write_dose(&canonical_dose, &grid, "canonical").unwrap();
    let s = ph.structures.iter().find(|s| s.name == "PTV_3").unwrap();
    let (mg, mf) = shape_mask(&s.shape, 1.0, 4);
    let canonical_mask = dir.path().join("ptv.nii");
    write_mask(&canonical_mask, &mg, &mf, None).unwrap();
    let reference = nifti_json(
        &canonical_dose,
        &[("PTV_3".into(), canonical_mask.clone())],
        &[],
    );

    let (dose_data, dose_lps) = permuted_flipped(&grid, &grid.dose);
    let (mask_data, mask_lps) = permuted_flipped(&mg, &mf);
    for (tag, sform) in [("sform", true), ("qform", false)] {
        let d = dir.path().join(format!("dose_{tag}.nii.gz"));
        let m = dir.path().join(format!("ptv_{tag}.nii.gz"));
        write_raw(&d, &dose_data, &dose_lps, sform);
        write_raw(&m, &mask_data, &mask_lps, sform);
        // Each permuted file against the canonical other, and both permuted.
        for (dose, mask) in [(&d, &canonical_mask), (&canonical_dose, &m), (&d, &m)] {
            let doc = nifti_json(dose, &[("PTV_3".into(), mask.clone())], &[]);
            let (r, g) = (structure(&reference, "PTV_3"), structure(&doc, "PTV_3"));
            for key in ["volume_cc", "volume_in_dose_grid_cc"] {
                let (a, b) = (r[key].as_f64().unwrap(), g[key].as_f64().unwrap());
                // f32 srow/quaternion fields carry ~1e-5 mm: volumes agree to 1e-5.
                assert!((a - b).abs() <= 1e-5 * a, "{tag} {key}: {a} vs {b}");
            }
            for m in ["Mean[Gy]", "D95%[Gy]", "Max[Gy]"] {
                let (a, b) = (metric(r, m), metric(g, m));
                assert!(
                    (a - b).abs() <= 1e-4 * a.abs().max(1.0),
                    "{tag} {m}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn label_map_with_names_sidecar_and_pipeline_style_options() {
    let dir = tempfile::tempdir().unwrap();
    let ph = brain_srs();
    let grid = ph.expected_dose_grid(&WriteOptions::default()).unwrap();
    let dose = dir.path().join("dose.nii.gz");
    write_dose(&dose, &grid, "dose").unwrap();
    // One label map on a 1 mm lattice (not the dose grid's 2 mm), centre-point labels:
    // GTV_3 = 3, GTV_2 = 7 (distinct lesions).
    let shape = |n: &str| &ph.structures.iter().find(|s| s.name == n).unwrap().shape;
    let (g3, g2) = (shape("GTV_3"), shape("GTV_2"));
    let (lo3, hi3) = g3.bounds();
    let (lo2, hi2) = g2.bounds();
    let lo: Vec<f64> = (0..3).map(|a| lo3[a].min(lo2[a]) - 2.0).collect();
    let hi: Vec<f64> = (0..3).map(|a| hi3[a].max(hi2[a]) + 2.0).collect();
    let n: Vec<usize> = (0..3)
        .map(|a| (hi[a] - lo[a]).ceil() as usize + 1)
        .collect();
    let data = Array3::from_shape_fn((n[0], n[1], n[2]), |(i, j, k)| {
        let p = [lo[0] + i as f64, lo[1] + j as f64, lo[2] + k as f64];
        if g3.contains(p) {
            3.0f32
        } else if g2.contains(p) {
            7.0
        } else {
            0.0
        }
    });
    let lps = [
        [1.0, 0.0, 0.0, lo[0]],
        [0.0, 1.0, 0.0, lo[1]],
        [0.0, 0.0, 1.0, lo[2]],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let lab_path = dir.path().join("labels.nii.gz");
    write_raw(&lab_path, &data, &lps, true);
    let names = dir.path().join("labels.json");
    std::fs::write(&names, r#"{"3": "GTV_3", "7": "GTV_2"}"#).unwrap();
    let out = run(radtox()
        .arg("analyze")
        .arg("--nifti-dose")
        .arg(&dose)
        .arg("--nifti-labels")
        .arg(&lab_path)
        .arg("--label-names")
        .arg(&names)
        .args(["--format", "json", "--fractions", "1", "--alpha-beta", "10"])
        .args(METRICS)
        .args(["-m", "Mean[EQD2Gy]"]));
    let doc = json_of(out);
    for n in ["GTV_3", "GTV_2"] {
        let st = structure(&doc, n);
        let truth = shape(n).volume_mm3() / 1000.0;
        let v = st["volume_cc"].as_f64().unwrap();
        // Centre-point labels on 1 mm voxels: a voxelisation error of a few per cent.
        assert!((v - truth).abs() <= 0.05 * truth, "{n}: {v} vs {truth}");
        assert!(st["dvh"].as_object().is_some(), "{n}: DVH curve missing");
        assert!(
            st["eqd2_dvh"].as_object().is_some(),
            "{n}: EQD2 DVH missing"
        );
        // A single fraction: EQD2 of the mean is at least the mean (α/β 10, d > 2 Gy here).
        assert!(metric(st, "Mean[EQD2Gy]") >= metric(st, "Mean[Gy]") - 1e-6);
    }
}

#[test]
fn bad_nifti_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(radtox()
        .arg("analyze")
        .arg("--nifti-dose")
        .arg(dir.path().join("absent.nii"))
        .args(["--nifti-mask", "noequals"]));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NAME=FILE"), "{err}");
    let out = run(radtox()
        .arg("analyze")
        .arg("--nifti-dose")
        .arg(dir.path().join("absent.nii"))
        .arg("--nifti-mask")
        .arg(format!("PTV={}", dir.path().join("ptv.nii").display())));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("absent.nii"), "{err}");
}

#[test]
fn pipeline_names_and_metrics_match_the_dicom_path() {
    let dir = tempfile::tempdir().unwrap();
    let ph = brain_srs();
    let w = write_both(&ph, dir.path());
    let pipeline = common::repo("pipelines/brain-srs.toml");
    let fx = ph.fractions.to_string();
    let extra = [
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--fractions",
        fx.as_str(),
    ];
    let dicom = common::analyze_json(&w.dicom, &["Mean[Gy]", "D95%[Gy]", "Max[Gy]"], &extra);
    let nifti = nifti_json(&w.nifti_dose, &w.masks, &extra);
    assert!(nifti["pipeline"].as_str().unwrap().contains("brain"));
    for name in COMPARED {
        let (d, n) = (structure(&dicom, name), structure(&nifti, name));
        assert_eq!(d["tg263_name"], n["tg263_name"], "{name}");
        let dm = d["metrics"].as_object().unwrap();
        let nm = n["metrics"].as_object().unwrap();
        // The pipeline's metrics for GTV_*/PTV_*/OARs are all there on the NIfTI path.
        let missing: Vec<&String> = dm.keys().filter(|k| !nm.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{name}: NIfTI lacks {missing:?}");
        for key in ["Mean[Gy]", "D98%[Gy]", "D2%[Gy]", "D0.03cc[Gy]"] {
            let (Some(a), Some(b)) = (dm.get(key), nm.get(key)) else {
                continue;
            };
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            // Dose-at-volume points of small structures move with the sampling (the
            // contours' inscribed polygons are 0.6 % smaller than the shapes).
            assert!(
                (a - b).abs() <= 0.02 * a.abs() + 0.1,
                "{name} {key}: DICOM {a} vs NIfTI {b}"
            );
        }
    }
    // Derived structures: both built on a refined lattice, from contours cut from the
    // shapes (DICOM) and from the masks traced into contours (NIfTI).
    for name in ["GTV_All", "Brain-GTV_All"] {
        let (d, n) = (structure(&dicom, name), structure(&nifti, name));
        assert_eq!(n["derived"], true);
        let (vd, vn) = (
            d["volume_cc"].as_f64().unwrap(),
            n["volume_cc"].as_f64().unwrap(),
        );
        let (md, mn) = (metric(d, "Mean[Gy]"), metric(n, "Mean[Gy]"));
        eprintln!("{name}: volume {vd:.3}/{vn:.3} cc, mean {md:.4}/{mn:.4} Gy (DICOM/NIfTI)");
        assert!((vd - vn).abs() <= 0.02 * vd, "{name}: volume {vd} vs {vn}");
        assert!(
            (md - mn).abs() <= 0.02 * md + 0.05,
            "{name}: mean {md} vs {mn}"
        );
    }
    let v12 = |doc: &serde_json::Value| metric(structure(doc, "Brain-GTV_All"), "V12Gy[cc]");
    let (a, b) = (v12(&dicom), v12(&nifti));
    eprintln!("Brain-GTV_All V12Gy: {a:.3}/{b:.3} cc");
    assert!((a - b).abs() <= 0.03 * a + 0.1, "V12Gy {a} vs {b}");
    // The same rules are evaluated; flags agree unless DICOM calls one indeterminate
    // (each side has its own sampling uncertainty) or the rule needs the prescription
    // per fraction, which the DICOM path takes from the RT Plan and a NIfTI plan must get
    // from a patient file or the pipeline (B4, B5; lesion diameter and volume come from
    // the site analyses on both paths).
    let flags = |doc: &serde_json::Value| -> Vec<(String, String)> {
        doc["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                (text("rule_id"), text("status"))
            })
            .collect()
    };
    let (fd, fnii) = (flags(&dicom), flags(&nifti));

    eprintln!("flags DICOM {fd:?}\nflags NIfTI {fnii:?}");
    assert!(!fd.is_empty());
    assert_eq!(fd.len(), fnii.len());
    for ((id_d, st_d), (id_n, st_n)) in fd.iter().zip(&fnii) {
        assert_eq!(id_d, id_n);
        let needs_covariates = ["B4.row1", "B4.row2", "B4.row3", "B5"];
        if needs_covariates.contains(&id_d.as_str()) && st_n == "not_evaluated" {
            let f = nifti["flags"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["rule_id"] == id_d.as_str())
                .unwrap();
            assert!(f["covariates"].to_string().contains("not supplied"), "{f}");
        } else if st_d != "indeterminate" {
            assert_eq!(st_d, st_n, "{id_d}");
        }
    }
}

/// Every structure of `ph` as its own NIfTI mask (1 mm voxels, 2 mm for structures
/// over 50 cc), `sub`³ point tests per voxel: fractional masks for `sub` > 1, binary
/// (uint8, centre-point) masks for `sub` = 1. Plus the dose as the DICOM reader returns
/// it.
fn write_nifti_phantom(ph: &Phantom, dir: &Path, sub: usize) -> (PathBuf, Vec<(String, PathBuf)>) {
    let grid = ph.expected_dose_grid(&WriteOptions::default()).unwrap();
    let dose = dir.join("dose.nii.gz");
    write_dose(&dose, &grid, "phantom dose").unwrap();
    let masks = ph
        .structures
        .iter()
        .map(|s| {
            let step = if s.shape.volume_mm3() > 50_000.0 {
                2.0
            } else {
                1.0
            };
            let (g, f) = shape_mask(&s.shape, step, sub);
            let p = dir.join(format!("{}.nii.gz", s.name));
            let threshold = (sub == 1).then_some(0.5);
            write_mask(&p, &g, &f, threshold).unwrap();
            (s.name.clone(), p)
        })
        .collect();
    (dose, masks)
}

/// A site table's rows keyed by their first column.
fn site_rows(doc: &serde_json::Value, id: &str) -> Vec<(String, serde_json::Value)> {
    let t = doc["site_tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no site table {id}: {}", doc["site_tables"]));
    let columns: Vec<&str> = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let row: serde_json::Map<String, serde_json::Value> = columns
                .iter()
                .zip(r.as_array().unwrap())
                .map(|(c, v)| (c.to_string(), v.clone()))
                .collect();
            (r[0].as_str().unwrap_or_default().to_string(), row.into())
        })
        .collect()
}

/// Flags as (rule, status, the metric uncertainty it carries if any).
fn flag_uncertainties(doc: &serde_json::Value) -> Vec<(String, String, Option<f64>)> {
    doc["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let u = f["covariates"].as_array().unwrap().iter().find_map(|c| {
                c.as_str()?
                    .strip_prefix("metric uncertainty ±")?
                    .parse::<f64>()
                    .ok()
            });
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                u,
            )
        })
        .collect()
}

/// The brain SRS phantom as NIfTI (fractional masks) with the brain pipeline gets the
/// brain-lesion table of the DICOM analysis of the same phantom. Neither is given the RT
/// Plan; both take the phantom's 20 Gy from the pipeline's `[fractionation]`, so the
/// comparison is of the geometry alone: contours cut from the shapes against masks
/// traced into contours. (With each lesion's D98% as its prescription instead, the
/// symmetric synthetic dose makes the whole-voxel isodose volumes jump by rings of
/// voxels with one dose value.)
#[test]
fn brain_srs_nifti_gets_the_lesion_table_of_the_dicom_path() {
    let dir = tempfile::tempdir().unwrap();
    let ph = brain_srs();
    let dicom = write_plan(&ph, &dir.path().join("dicom"), &WriteOptions::default()).unwrap();
    let (dose, masks) = write_nifti_phantom(&ph, dir.path(), 4);
    let shipped = common::repo("pipelines/brain-srs.toml");
    let names = common::repo("pipelines/names/tg263-base.toml");
    let text = std::fs::read_to_string(&shipped).unwrap();
    let include = "include = [\"names/tg263-base.toml\"]";
    assert!(text.contains(include));
    let text = text.replacen(
        include,
        &format!(
            "include = [{:?}]\n\n[fractionation]\nfractions = 1\nprescription_gy = 20.0\npolicy = \"always\"",
            names.display().to_string()
        ),
        1,
    );
    let pipeline = dir.path().join("brain-srs-20gy.toml");
    std::fs::write(&pipeline, text).unwrap();
    let extra = ["--pipeline", pipeline.to_str().unwrap()];
    let d = json_of(run(radtox()
        .arg("analyze")
        .arg("--rtdose")
        .arg(&dicom.rtdose)
        .arg("--rtstruct")
        .arg(&dicom.rtstruct)
        .args(["--format", "json", "--no-dvh"])
        .args(extra)));
    let n = nifti_json(&dose, &masks, &extra);
    let (ld, ln) = (
        site_rows(&d, "brain_lesions"),
        site_rows(&n, "brain_lesions"),
    );
    let names = |rows: &[(String, serde_json::Value)]| -> Vec<String> {
        rows.iter().map(|r| r.0.clone()).collect()
    };
    assert_eq!(names(&ld), names(&ln));
    assert_eq!(ln.len(), 3, "{:?}", names(&ln));
    for ((name, rd), (_, rn)) in ld.iter().zip(&ln) {
        let num = |r: &serde_json::Value, c: &str| {
            r[c].as_f64()
                .unwrap_or_else(|| panic!("{name}: no number in column {c}: {r}"))
        };
        let truth = ph
            .structures
            .iter()
            .find(|s| &s.name == name)
            .unwrap()
            .shape
            .volume_mm3()
            / 1000.0;
        let (vd, vn) = (num(rd, "Volume [cc]"), num(rn, "Volume [cc]"));
        let (cd, cn) = (num(rd, "CI Paddick"), num(rn, "CI Paddick"));
        let (gd, gn) = (num(rd, "GI"), num(rn, "GI"));
        let (xd, xn) = (num(rd, "Max diameter [mm]"), num(rn, "Max diameter [mm]"));
        eprintln!(
            "{name}: volume {vd:.4}/{vn:.4} cc (truth {truth:.4}), CI {cd:.4}/{cn:.4}, \
             GI {gd:.3}/{gn:.3}, diameter {xd:.2}/{xn:.2} mm (DICOM/NIfTI)"
        );
        assert_eq!(rn["Rx source"], "plan", "{name}");
        assert_eq!(num(rn, "Rx [Gy]"), 20.0, "{name}");
        // The traced masks keep Σ fraction × voxel volume, within 0.5 % of the shapes
        // (1 % for the 0.1 cc lesion, 3 mm in radius).
        let tol = if truth < 0.5 { 0.01 } else { 0.005 };
        assert!((vn - truth).abs() <= tol * truth, "{name}: {vn} vs {truth}");
        assert!((vd - vn).abs() <= 0.02 * vd, "{name}: volume {vd} vs {vn}");
        // The isodose volumes are samples of the External on its own lattice, whose z
        // cells follow its planes: the DICOM External's 2 mm contours (samples on the
        // dose planes), the NIfTI External's 1 mm slices; and they are attributed to a
        // lesion through the islands its samples reach (the 0.1 cc lesion spans a dozen
        // 2 mm dose voxels). Measured PIV: GTV_3 6.720 / 6.496 cc, GTV_2 1.536 / 1.520,
        // GTV_1 0.216 / 0.192 cc (DICOM/NIfTI).
        let (ci_rel, gi_rel) = if truth < 0.5 {
            (0.15, 0.1)
        } else {
            (0.05, 0.05)
        };
        assert!((cd - cn).abs() <= ci_rel * cd, "{name}: CI {cd} vs {cn}");
        assert!((gd - gn).abs() <= gi_rel * gd, "{name}: GI {gd} vs {gn}");
        // Contour points of the masks are corners of ¼ mm sub-voxels, outside the
        // shape's surface by up to a sub-voxel diagonal; the DICOM contours' points lie
        // on the surface: the largest extent agrees to half a millimetre.
        assert!((xd - xn).abs() <= 0.5, "{name}: diameter {xd} vs {xn}");
    }
    // The brain − targets table and the dose-volume flags, with their uncertainty.
    site_rows(&n, "brain");
    let (fd, fnii) = (flag_uncertainties(&d), flag_uncertainties(&n));
    assert_eq!(fd.len(), fnii.len());
    let b1 = fnii.iter().find(|f| f.0 == "B1").unwrap();
    assert!(b1.2.is_some_and(|u| u > 0.0), "B1 on NIfTI: {b1:?}");
    // Lesion covariates come from the site analysis, as on the DICOM path.
    let warnings = n["warnings"].to_string();
    assert!(warnings.contains("lesion_max_diameter_mm"), "{warnings}");
}

/// The left-breast phantom as NIfTI (fractional masks) with the breast pipeline and the
/// example patient file gets the heart, marrow and lung tables and flags that carry a
/// sampling uncertainty, as the DICOM analysis of the same phantom does.
#[test]
fn breast_nifti_gets_heart_marrow_lung_tables_and_flags_with_uncertainty() {
    let dir = tempfile::tempdir().unwrap();
    let ph = radtox_fixtures::breast_left();
    let dicom = write_plan(&ph, &dir.path().join("dicom"), &WriteOptions::default()).unwrap();
    // Fractional masks: the ribs, sternum and LAD are a few millimetres thin, too thin
    // for centre-point binary masks of 1 mm voxels to hold their volume.
    let (dose, masks) = write_nifti_phantom(&ph, dir.path(), 4);
    let pipeline = common::repo("pipelines/breast-left.toml");
    let patient = common::repo("examples/patients/left-breast.toml");
    let extra = [
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--patient",
        patient.to_str().unwrap(),
    ];
    let d = common::analyze_json(&dicom, &[], &extra);
    let fx = ph.fractions.to_string();
    let mut with_fx = extra.to_vec();
    with_fx.extend(["--fractions", fx.as_str()]);
    let n = nifti_json(&dose, &masks, &with_fx);
    for id in ["heart", "marrow", "lung"] {
        let (rd, rn) = (site_rows(&d, id), site_rows(&n, id));
        assert_eq!(
            rd.iter().map(|r| &r.0).collect::<Vec<_>>(),
            rn.iter().map(|r| &r.0).collect::<Vec<_>>(),
            "{id}"
        );
        // Every number of the table within 5 % (+ 0.2 of its unit): masks of 1 mm (2 mm
        // for the large organs) voxels against contours of the shapes, 2 to 3 mm apart.
        // Dose-volume figures within 15 %: at the tangential field edge they follow the
        // organ's boundary, which the contours place only every contour plane
        // (measured: Rib03_L V30Gy 33.0 / 29.6 %). Maxima within 20 %: the maximum at a
        // field edge is the dose at the centre of the hottest cell mostly inside the
        // organ, so it moves with the boundary by up to a cell (the heart's cells are
        // the 2.5 mm dose voxels) and the staircase of 2 mm mask voxels reaches further
        // into the field than the smooth contours (measured: Heart max 14.3 / 16.9 Gy).
        for ((row, a), (_, b)) in rd.iter().zip(&rn) {
            for (col, va) in a.as_object().unwrap() {
                let (Some(x), Some(y)) = (va.as_f64(), b[col].as_f64()) else {
                    continue;
                };
                eprintln!("{id} {row} {col}: {x:.4}/{y:.4} (DICOM/NIfTI)");
                let rel = if col.contains("Max") {
                    0.2
                } else if col.starts_with('V') {
                    0.15
                } else {
                    0.05
                };
                assert!(
                    (x - y).abs() <= rel * x.abs() + 0.2,
                    "{id} {row} {col}: DICOM {x} vs NIfTI {y}"
                );
            }
        }
    }
    // The same rules; every dose flag with an uncertainty on the DICOM path has one on
    // the NIfTI path, and statuses agree unless one side is indeterminate.
    let (fd, fnii) = (flag_uncertainties(&d), flag_uncertainties(&n));
    eprintln!("flags DICOM {fd:?}\nflags NIfTI {fnii:?}");
    assert_eq!(fd.len(), fnii.len());
    let mut with_uncertainty = 0;
    for (a, b) in fd.iter().zip(&fnii) {
        assert_eq!(a.0, b.0);
        if a.2.is_some() {
            assert!(b.2.is_some(), "{}: DICOM ±{:?}, NIfTI none", a.0, a.2);
            with_uncertainty += 1;
        }
        // S2 reads the skin band's V110%: relative to the prescription, which only the
        // RT Plan gives here (the pipeline has no [fractionation] prescription).
        if a.0 == "S2" && b.1 == "not_evaluated" {
            continue;
        }
        if a.1 != "indeterminate" && b.1 != "indeterminate" {
            assert_eq!(a.1, b.1, "{}", a.0);
        }
    }
    assert!(with_uncertainty > 0, "{fd:?}");
}

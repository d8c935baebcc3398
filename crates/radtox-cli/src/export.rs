//! `radtox export`: the physical dose, its EQD2 (or BED) and the structure masks as
//! NIfTI, or the EQD2/BED dose as a DICOM RT Dose beside the source plan
//! (docs/export.md).
//!
//! Every output lies on the dose grid. EQD2 is converted voxel by voxel with the LQ
//! (or LQ-L) model: EQD2 = D (1 + d/(α/β)) / (1 + 2/(α/β)), d = D/n. Masks from an RT
//! Structure Set are rasterised (partial volumes) onto a lattice equal to the dose
//! grid; masks from NIfTI are moved onto it by volume
//! ([`radtox_analysis::mask_fractions_on_lattice`]).

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use ndarray::Array3;
use radtox_analysis::{NiftiInputs, parse_mask_arg};
use radtox_dose::{Domain, LqModel, LqParams};
use radtox_geometry::SamplingOptions;
use radtox_model::DoseGrid;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// RT Dose file (the dose to export; its identity is copied into a DICOM export).
    #[arg(long, value_name = "FILE", conflicts_with = "nifti_dose")]
    pub rtdose: Option<PathBuf>,
    /// RT Structure Set: one mask per ROI, rasterised on the dose grid.
    #[arg(long, value_name = "FILE")]
    pub rtstruct: Option<PathBuf>,
    /// RT Plan: number of fractions, and the plan a DICOM export references.
    #[arg(long, value_name = "FILE")]
    pub rtplan: Option<PathBuf>,
    /// NIfTI dose volume (Gy) instead of --rtdose.
    #[arg(long, value_name = "FILE")]
    pub nifti_dose: Option<PathBuf>,
    /// NIfTI label map (with --nifti-dose).
    #[arg(long, value_name = "FILE", requires = "nifti_dose")]
    pub nifti_labels: Option<PathBuf>,
    /// Names of the label values (JSON or `value name` lines).
    #[arg(long, value_name = "FILE", requires = "nifti_labels")]
    pub label_names: Option<PathBuf>,
    /// One NIfTI mask per structure, NAME=FILE (repeatable; with --nifti-dose).
    #[arg(long = "nifti-mask", value_name = "NAME=FILE", requires = "nifti_dose")]
    pub nifti_mask: Vec<String>,
    /// Output directory (created if absent).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also write the EQD2 dose (eqd2.nii.gz, or eqd2.dcm with --format dicom).
    #[arg(long, conflicts_with = "bed")]
    pub eqd2: bool,
    /// Also write the BED dose (bed.nii.gz, or bed.dcm).
    #[arg(long)]
    pub bed: bool,
    /// α/β (Gy) of the EQD2/BED conversion.
    #[arg(long, value_name = "GY", default_value_t = 3.0)]
    pub alpha_beta: f64,
    /// A separate course DOSE_FILE:FRACTIONS (repeatable, instead of --rtdose): each is
    /// converted to EQD2/BED with its own fractions and summed voxel by voxel on the
    /// first course's grid.
    #[arg(
        long = "course",
        value_name = "DOSE_FILE:FRACTIONS",
        conflicts_with_all = ["rtdose", "nifti_dose", "fractions"]
    )]
    pub course: Vec<String>,
    /// Number of fractions (default: the RT Plan's).
    #[arg(long, value_name = "N")]
    pub fractions: Option<u32>,
    /// LQ-L: transition dose per fraction (Gy) above which the LQ curve continues linearly.
    #[arg(long = "lq-l", value_name = "TRANSITION_GY")]
    pub lq_l: Option<f64>,
    /// Masks as partial-volume fractions (float32) or binary at a threshold
    /// (`binary:0.5`: uint8, 1 where the fraction ≥ 0.5).
    #[arg(long, value_name = "fraction|binary:T", default_value = "fraction")]
    pub masks: String,
    /// Output format: NIfTI files, or a DICOM RT Dose of the EQD2/BED dose.
    #[arg(long, value_enum, default_value_t = ExportFormat::Nifti)]
    pub format: ExportFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Nifti,
    Dicom,
}

/// `fraction` → `None`; `binary:T` → `Some(T)` with 0 < T ≤ 1.
pub fn parse_mask_mode(text: &str) -> anyhow::Result<Option<f32>> {
    let t = text.trim().to_ascii_lowercase();
    if t == "fraction" || t == "fractions" {
        return Ok(None);
    }
    let v = t
        .strip_prefix("binary:")
        .or_else(|| (t == "binary").then_some("0.5"))
        .with_context(|| format!("--masks {text:?}: expected 'fraction' or 'binary:T'"))?;
    let v: f32 = v
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("--masks {text:?}: the threshold is not a number"))?;
    if !(v > 0.0 && v <= 1.0) {
        bail!("--masks {text:?}: the threshold must be in (0, 1]");
    }
    Ok(Some(v))
}

/// A file name part from a structure name: letters, digits, `.`, `_`, `-` kept.
pub fn sanitise_name(name: &str) -> String {
    radtox_dicom::sanitize_component(name)
}

/// The dose grid converted voxel by voxel to EQD2 or BED.
pub fn convert_grid(grid: &DoseGrid, params: &LqParams, domain: Domain) -> DoseGrid {
    let mut out = grid.clone();
    out.dose
        .mapv_inplace(|d| params.convert(f64::from(d), domain) as f32);
    out
}

/// What one export wrote.
#[derive(Debug, Default)]
pub struct Exported {
    pub files: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

pub fn run(a: ExportArgs) -> anyhow::Result<()> {
    let done = export(&a)?;
    for w in &done.warnings {
        eprintln!("radtox: warning: {w}");
    }
    for f in &done.files {
        println!("{}", f.display());
    }
    Ok(())
}

/// Run an export; returns the files written.
pub fn export(a: &ExportArgs) -> anyhow::Result<Exported> {
    let binary = parse_mask_mode(&a.masks)?;
    if !(a.alpha_beta.is_finite() && a.alpha_beta > 0.0) {
        bail!(
            "--alpha-beta must be a positive number of Gy, got {}",
            a.alpha_beta
        );
    }
    if a.fractions == Some(0) {
        bail!("--fractions must be at least 1");
    }
    let domain = match (a.eqd2, a.bed) {
        (_, true) => Some(Domain::Bed),
        (true, false) => Some(Domain::Eqd2),
        (false, false) => None,
    };
    if a.format == ExportFormat::Dicom {
        if domain.is_none() {
            bail!("--format dicom writes the EQD2 or BED dose: give --eqd2 or --bed");
        }
        if a.rtdose.is_none() && a.course.is_empty() {
            bail!(
                "--format dicom needs --rtdose or --course: the new RT Dose takes its study, frame of reference and patient from it"
            );
        }
    }
    if a.rtstruct.is_some() && (a.nifti_labels.is_some() || !a.nifti_mask.is_empty()) {
        bail!("give structures either as --rtstruct or as NIfTI masks, not both");
    }
    let mut out = Exported::default();
    // The dose and, for DICOM input, the plan.
    let model = match a.lq_l {
        Some(t) if t.is_finite() && t > 0.0 => LqModel::Lql {
            transition_dose_per_fraction_gy: t,
        },
        Some(t) => bail!("--lq-l must be a positive number of Gy, got {t}"),
        None => LqModel::Lq,
    };
    let plan = a
        .rtplan
        .as_ref()
        .map(|p| {
            radtox_dicom::read_rt_plan(p)
                .with_context(|| format!("reading RT Plan {}", p.display()))
        })
        .transpose()?;
    // The physical dose, the converted dose with its description, and the RT Dose whose
    // identity a DICOM export copies.
    let (grid, converted, source): (DoseGrid, Option<(DoseGrid, String)>, Option<PathBuf>) = if !a
        .course
        .is_empty()
    {
        let Some(dm) = domain else {
            bail!(
                "--course needs --eqd2 or --bed: courses of different fractionation are summed in EQD2/BED, not in physical dose"
            );
        };
        let (g, c, first) = sum_courses(&a.course, a.alpha_beta, model, dm, &mut out)?;
        (g, Some(c), Some(first))
    } else {
        let grid = match (&a.rtdose, &a.nifti_dose) {
            (Some(d), None) => read_gy_dose(d, &mut out)?,
            (None, Some(d)) => {
                let dose = radtox_nifti::read_dose(d)?;
                out.warnings.extend(dose.warnings);
                dose.grid
            }
            _ => bail!("give --rtdose FILE, --nifti-dose FILE or --course FILE:FRACTIONS"),
        };
        let converted = match domain {
            None => None,
            Some(dm) => {
                let n = a
                        .fractions
                        .or(plan.as_ref().and_then(|p| p.fractions))
                        .context(
                            "EQD2/BED needs the number of fractions: give --fractions N or --rtplan FILE",
                        )?;
                let p = LqParams::new(n, a.alpha_beta, model)?;
                Some((convert_grid(&grid, &p, dm), model_description(&p, dm)))
            }
        };
        (grid, converted, a.rtdose.clone())
    };
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("creating output directory {}", a.out.display()))?;
    let name = match domain {
        Some(Domain::Bed) => "bed",
        _ => "eqd2",
    };

    if a.format == ExportFormat::Dicom {
        let (Some((g, what)), Some(src)) = (&converted, &source) else {
            bail!("--format dicom needs --rtdose (or --course) and --eqd2 or --bed");
        };
        // SeriesDescription and DoseComment are LO: at most 64 characters.
        let mut spec = radtox_dicom::RtDoseWriteSpec::from_source_dose(
            src,
            &lo(&format!("radtox {what}")),
            &lo(what),
        )?;
        spec.dose_type = "EFFECTIVE".into();
        // The plan given on the command line is the one the dose belongs to.
        if let Some(uid) = plan.as_ref().and_then(|p| p.sop_instance_uid.clone()) {
            spec.referenced_plan_uid = Some(uid);
        }
        if spec.referenced_plan_uid.is_none() {
            out.warnings.push(
                "no RT Plan reference (neither --rtplan nor one in the source dose): the RT Dose references none".into(),
            );
        }
        let path = a.out.join(format!("{name}.dcm"));
        let written = radtox_dicom::write_rt_dose(&path, g, &spec)?;
        out.files.push(written.path);
        return Ok(out);
    }

    let dose_path = a.out.join("dose.nii.gz");
    radtox_nifti::write_dose(&dose_path, &grid, "radtox physical dose (Gy)")?;
    out.files.push(dose_path);
    if let Some((g, what)) = &converted {
        let path = a.out.join(format!("{name}.nii.gz"));
        // descrip holds 80 bytes (cut by the writer): the model comes first.
        radtox_nifti::write_dose(&path, g, &format!("radtox {what}"))?;
        out.files.push(path);
    }

    // Masks.
    let mut masks: Vec<(String, Array3<f32>)> = Vec::new();
    if a.rtstruct.is_some() || a.nifti_labels.is_some() || !a.nifti_mask.is_empty() {
        let lattice = radtox_analysis::grid_lattice(&grid)
            .map_err(|e| anyhow::anyhow!("masks cannot be written on the dose grid: {e}"))?;
        if let Some(rs) = &a.rtstruct {
            let set = radtox_dicom::read_rt_struct(rs)
                .with_context(|| format!("reading RT Structure Set {}", rs.display()))?;
            out.warnings.extend(set.warnings.iter().cloned());
            let params = SamplingOptions::default().slab_params(&grid);
            for s in &set.structures {
                if s.is_empty() {
                    out.warnings.push(format!(
                        "ROI {} ({}): no closed contour, no mask",
                        s.roi_number, s.name
                    ));
                    continue;
                }
                // Several sample rows per cell: the dose grid is coarse compared with
                // contour detail, and the fractions are the output here.
                let occ = radtox_geometry::rasterize(s, &lattice, &params, 8)
                    .with_context(|| format!("ROI {} ({})", s.roi_number, s.name))?;
                masks.push((s.name.clone(), occ.to_dense()));
            }
        } else {
            let inputs = NiftiInputs {
                dose: a.nifti_dose.clone().unwrap_or_default(),
                labels: a.nifti_labels.clone(),
                label_names: a.label_names.clone(),
                masks: a
                    .nifti_mask
                    .iter()
                    .map(|m| parse_mask_arg(m))
                    .collect::<Result<_, _>>()?,
            };
            let plan = inputs.read()?;
            for m in &plan.masks {
                out.warnings.extend(m.warnings.iter().cloned());
                masks.push((
                    m.name.clone(),
                    radtox_analysis::mask_fractions_on_lattice(m, &lattice),
                ));
            }
        }
    }
    let mut used: Vec<String> = Vec::new();
    for (name, fractions) in masks {
        let mut stem = sanitise_name(&name);
        // Distinct structures whose names sanitise alike get distinct files.
        let base = stem.clone();
        let mut k = 2;
        while used.contains(&stem) {
            stem = format!("{base}_{k}");
            k += 1;
        }
        used.push(stem.clone());
        let path = a.out.join(format!("mask_{stem}.nii.gz"));
        radtox_nifti::write_mask(&path, &grid, &fractions, binary)
            .with_context(|| format!("writing the mask of '{name}'"))?;
        out.files.push(path);
    }
    Ok(out)
}

/// An RT Dose in Gy (relative doses cannot be converted or exported as Gy).
fn read_gy_dose(path: &Path, out: &mut Exported) -> anyhow::Result<DoseGrid> {
    let dose = radtox_dicom::read_rt_dose(path)
        .with_context(|| format!("reading RT Dose {}", path.display()))?;
    out.warnings.extend(dose.warnings);
    if dose.info.units != radtox_model::DoseUnits::Gy {
        bail!(
            "RT Dose {}: DoseUnits is {:?}, not GY; only absolute dose can be exported",
            path.display(),
            dose.info.units
        );
    }
    Ok(dose.grid)
}

/// Courses summed voxel by voxel on the first course's grid, each converted with its
/// own fractions (trilinear resampling; voxels outside a course's grid get 0 from it).
/// Returns the summed physical dose, the summed converted dose with its description,
/// and the first course's file. All courses must share one frame of reference.
fn sum_courses(
    args: &[String],
    alpha_beta: f64,
    model: LqModel,
    domain: Domain,
    out: &mut Exported,
) -> anyhow::Result<(DoseGrid, (DoseGrid, String), PathBuf)> {
    let courses = args
        .iter()
        .map(|c| radtox_analysis::Course::parse(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut physical: Option<DoseGrid> = None;
    let mut converted: Option<DoseGrid> = None;
    let mut frame: Option<String> = None;
    let mut parts: Vec<String> = Vec::new();
    for c in &courses {
        let dose = radtox_dicom::read_rt_dose(&c.rtdose)
            .with_context(|| format!("reading course RT Dose {}", c.rtdose.display()))?;
        if dose.info.units != radtox_model::DoseUnits::Gy {
            bail!(
                "course RT Dose {}: DoseUnits is {:?}, not GY",
                c.rtdose.display(),
                dose.info.units
            );
        }
        out.warnings.extend(dose.warnings.iter().cloned());
        match (&frame, &dose.info.frame_of_reference_uid) {
            (None, f) => frame = f.clone().or(Some(String::new())),
            (Some(first), Some(f)) if first != f => bail!(
                "course RT Dose {}: frame of reference {f} differs from the first course's {first}; courses can only be summed in one frame",
                c.rtdose.display()
            ),
            _ => {}
        }
        let p = LqParams::new(c.fractions, alpha_beta, model)?;
        let conv = convert_grid(&dose.grid, &p, domain);
        parts.push(format!("{} fx", c.fractions));
        match (&mut physical, &mut converted) {
            (Some(ph), Some(cv)) => {
                ph.dose = &ph.dose + &ph.resample_from(&dose.grid);
                cv.dose = &cv.dose + &cv.resample_from(&conv);
            }
            _ => {
                physical = Some(dose.grid);
                converted = Some(conv);
            }
        }
    }
    let (Some(physical), Some(converted), Some(first)) = (
        physical,
        converted,
        courses.first().map(|c| c.rtdose.clone()),
    ) else {
        bail!("no course given");
    };
    let d = if domain == Domain::Bed { "BED" } else { "EQD2" };
    let m = match model {
        LqModel::Lq => "LQ".to_string(),
        LqModel::Lql {
            transition_dose_per_fraction_gy: t,
        } => format!("LQ-L d_T={t} Gy"),
    };
    let what = format!(
        "{d} {m} alpha/beta={alpha_beta} Gy, courses {} summed",
        parts.join(" + ")
    );
    Ok((physical, (converted, what), first))
}

/// "EQD2 LQ alpha/beta=3 Gy, 5 fx": what DoseComment and the NIfTI description say
/// (ASCII, as DICOM's default character repertoire and NIfTI's descrip require).
pub fn model_description(p: &LqParams, domain: Domain) -> String {
    let d = if domain == Domain::Bed { "BED" } else { "EQD2" };
    match p.model() {
        LqModel::Lq => format!(
            "{d} LQ alpha/beta={} Gy, {} fx",
            p.alpha_beta_gy(),
            p.fractions()
        ),
        LqModel::Lql {
            transition_dose_per_fraction_gy: t,
        } => format!(
            "{d} LQ-L d_T={t} Gy alpha/beta={} Gy, {} fx",
            p.alpha_beta_gy(),
            p.fractions()
        ),
    }
}

/// A text cut to the 64 characters a DICOM LO value may hold.
fn lo(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use radtox_geometry::Lattice;
    use radtox_nifti::MaskStructure;

    fn lattice_1d(nx: usize) -> Lattice {
        Lattice::new([0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [1, 1, nx]).unwrap()
    }

    /// One 2 mm mask voxel centred at x = `x0` on a row of 2 mm dose voxels at 0, 2, 4, ….
    fn one_voxel(x0: f64) -> MaskStructure {
        MaskStructure {
            name: "v".into(),
            label: None,
            affine: [
                [2.0, 0.0, 0.0, x0],
                [0.0, 2.0, 0.0, 0.0],
                [0.0, 0.0, 2.0, 0.0],
                [0.0, 0.0, 0.0, 1.0],
            ],
            dims: [1, 1, 1],
            fraction: vec![(0, 1.0)],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_mask_on_the_dose_grid_is_copied() {
        let f = radtox_analysis::mask_fractions_on_lattice(&one_voxel(2.0), &lattice_1d(4));
        assert_eq!(f.iter().copied().collect::<Vec<_>>(), [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_mask_shifted_by_half_a_voxel_splits_its_volume() {
        // Centred at x = 3: half in the cell at 2 (1..3), half in the cell at 4 (3..5).
        let f = radtox_analysis::mask_fractions_on_lattice(&one_voxel(3.0), &lattice_1d(4));
        assert_eq!(f.iter().copied().collect::<Vec<_>>(), [0.0, 0.5, 0.5, 0.0]);
    }

    #[test]
    fn a_fine_mask_fills_a_coarse_cell_by_volume() {
        // Eight 1 mm voxels with fraction 0.5 fill one 2 mm cell to one half.
        let m = MaskStructure {
            affine: [
                [1.0, 0.0, 0.0, 1.5],
                [0.0, 1.0, 0.0, -0.5],
                [0.0, 0.0, 1.0, -0.5],
                [0.0, 0.0, 0.0, 1.0],
            ],
            dims: [2, 2, 2],
            fraction: (0..8).map(|i| (i, 0.5)).collect(),
            ..one_voxel(0.0)
        };
        let f = radtox_analysis::mask_fractions_on_lattice(&m, &lattice_1d(3));
        assert_eq!(f.iter().copied().collect::<Vec<_>>(), [0.0, 0.5, 0.0]);
    }

    #[test]
    fn mask_modes() {
        assert_eq!(parse_mask_mode("fraction").unwrap(), None);
        assert_eq!(parse_mask_mode("binary:0.5").unwrap(), Some(0.5));
        assert_eq!(parse_mask_mode("binary").unwrap(), Some(0.5));
        assert!(parse_mask_mode("binary:0").is_err());
        assert!(parse_mask_mode("binary:x").is_err());
        assert!(parse_mask_mode("nearest").is_err());
    }

    #[test]
    fn eqd2_of_a_grid_follows_the_formula() {
        let g = DoseGrid::new(
            vec![0.0, 1.0],
            vec![0.0],
            vec![0.0],
            Array3::from_shape_vec((1, 1, 2), vec![10.0, 20.0]).unwrap(),
        )
        .unwrap();
        let p = LqParams::new(5, 3.0, LqModel::Lq).unwrap();
        let e = convert_grid(&g, &p, Domain::Eqd2);
        // 20 Gy in 5 fx, α/β 3: 20 (1 + 4/3) / (1 + 2/3) = 28 Gy; 10 Gy: 10 (1 + 2/3)/(5/3) = 10.
        assert!((f64::from(e.dose[[0, 0, 1]]) - 28.0).abs() < 1e-5);
        assert!((f64::from(e.dose[[0, 0, 0]]) - 10.0).abs() < 1e-5);
        assert_eq!(
            model_description(&p, Domain::Eqd2),
            "EQD2 LQ alpha/beta=3 Gy, 5 fx"
        );
    }
}

//! Bone marrow: irradiated volumes of marrow-bearing bones, their union, the
//! active-marrow-weighted irradiated fraction, and a CT (HU) bone surrogate.

use crate::common::{
    NamedStructure, SiteContext, common_occupancies, num, opt, sample_occupancy, site_name,
    starts_with_ci, union_all,
};
use crate::error::SiteError;
use ndarray::Array3;
use radtox_geometry::{Lattice, Occupancy, rasterize};
use radtox_model::{DoseGrid, Structure};
use radtox_report::SiteTable;
use serde::Serialize;
use serde_json::Value;

const SITE: &str = "marrow";

/// Dose levels (Gy) of the irradiated-volume table.
pub const MARROW_LEVELS_GY: [f64; 5] = [5.0, 10.0, 20.0, 30.0, 40.0];
/// Dose levels (Gy) of the active-marrow-weighted irradiated fraction: 10 and 20 Gy,
/// the levels of the pelvic-marrow evidence (Mell 2006: V10, V20) and a round level for
/// Mac Manus 1997 (odds ratio per 20 % of active marrow irradiated).
pub const WEIGHTED_LEVELS_GY: [f64; 2] = [10.0, 20.0];

/// Share of the adult skeleton's active (red) marrow in one bone group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MarrowShare {
    pub group: &'static str,
    /// Percent of total active marrow, for the whole group (both sides, all levels).
    pub percent: f64,
    /// How many bones the group holds (per-bone share = percent / count).
    pub bones_in_group: u32,
    pub source: &'static str,
}

/// Active-marrow distribution in adults after Cristy (1981, ORNL/TM-8381) as tabulated
/// by ICRP. All values are recalled, not verified against the source \[R\]: provisional.
/// Sternum, ribs and thoracic spine are the rounded values of the project's evidence
/// file; the others are recalled from the same table.
pub const ACTIVE_MARROW_SHARES: [MarrowShare; 9] = [
    MarrowShare {
        group: "sternum",
        percent: 3.0,
        bones_in_group: 1,
        source: "Cristy 1981 [R], evidence file",
    },
    MarrowShare {
        group: "ribs",
        percent: 16.0,
        bones_in_group: 24,
        source: "Cristy 1981 [R], evidence file",
    },
    MarrowShare {
        group: "thoracic spine",
        percent: 16.0,
        bones_in_group: 12,
        source: "Cristy 1981 [R], evidence file",
    },
    MarrowShare {
        group: "cervical spine",
        percent: 3.9,
        bones_in_group: 7,
        source: "Cristy 1981 [R]",
    },
    MarrowShare {
        group: "lumbar spine",
        percent: 12.3,
        bones_in_group: 5,
        source: "Cristy 1981 [R]",
    },
    MarrowShare {
        group: "clavicles",
        percent: 0.8,
        bones_in_group: 2,
        source: "Cristy 1981 [R]",
    },
    MarrowShare {
        group: "scapulae",
        percent: 2.8,
        bones_in_group: 2,
        source: "Cristy 1981 [R]",
    },
    MarrowShare {
        group: "humeri (proximal halves)",
        percent: 2.3,
        bones_in_group: 2,
        source: "Cristy 1981 [R]",
    },
    MarrowShare {
        group: "pelvis (os coxae + sacrum)",
        percent: 27.4,
        bones_in_group: 1,
        source: "Cristy 1981 [R]: os coxae 17.5 + sacrum 9.9",
    },
];

fn share(group: &str) -> Option<&'static MarrowShare> {
    ACTIVE_MARROW_SHARES.iter().find(|s| s.group == group)
}

/// A recognised marrow-bearing bone structure: (group, share of active marrow in %).
/// A share is `None` when the structure is a part whose share is not tabulated.
fn classify(name: &str) -> Option<(&'static str, Option<f64>)> {
    let lower = name.to_ascii_lowercase();
    let sided = lower.ends_with("_l")
        || lower.ends_with("_r")
        || lower.ends_with("_left")
        || lower.ends_with("_right");
    let has_digit = lower.chars().any(|c| c.is_ascii_digit());
    let per = |g: &str, n: f64| share(g).map(|s| s.percent / n);
    let group_share = |g: &'static str, single: bool| {
        let s = share(g)?;
        Some((
            s.group,
            Some(if single {
                s.percent / s.bones_in_group as f64
            } else if sided {
                s.percent / 2.0
            } else {
                s.percent
            }),
        ))
    };
    if lower == "bone_sternum" || lower == "sternum" {
        return group_share("sternum", false);
    }
    if starts_with_ci(name, "rib") {
        // "Rib01_L": one rib; "Ribs_L": one side; "Ribs": all.
        return group_share("ribs", has_digit);
    }
    if let Some(rest) = lower
        .strip_prefix("vb_")
        .or_else(|| lower.strip_prefix("vertebra_"))
    {
        let (group, n) = match rest.chars().next() {
            Some('c') => ("cervical spine", 7.0),
            Some('t') => ("thoracic spine", 12.0),
            Some('l') => ("lumbar spine", 5.0),
            _ => return Some(("vertebra", None)),
        };
        let s = share(group)?;
        return Some((
            s.group,
            if has_digit {
                per(group, n)
            } else {
                Some(s.percent)
            },
        ));
    }
    if starts_with_ci(name, "clavicle") || starts_with_ci(name, "bone_clavicle") {
        return group_share("clavicles", false)
            .map(|(g, v)| (g, if sided { v } else { per(g, 1.0) }));
    }
    if starts_with_ci(name, "scapula") || starts_with_ci(name, "bone_scapula") {
        return group_share("scapulae", false)
            .map(|(g, v)| (g, if sided { v } else { per(g, 1.0) }));
    }
    if starts_with_ci(name, "humerus") || starts_with_ci(name, "bone_humerus") {
        return group_share("humeri (proximal halves)", false);
    }
    if lower == "pelvis" || lower == "bone_pelvic" || lower == "bones_pelvic" {
        return group_share("pelvis (os coxae + sacrum)", false);
    }
    if lower.contains("sacrum") {
        return Some(("pelvis (os coxae + sacrum)", Some(9.9)));
    }
    if lower.contains("ilium") || lower.contains("ischium") || lower.contains("pubis") {
        return Some(("pelvis (os coxae + sacrum)", None));
    }
    None
}

/// Irradiated volume of one bone (or of the union, or of the CT surrogate).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoneDose {
    pub name: String,
    pub group: String,
    /// Percent of the body's active marrow in this structure, when tabulated.
    pub active_marrow_percent: Option<f64>,
    pub volume_cc: f64,
    pub mean_gy: f64,
    /// Volume receiving ≥ each of [`MARROW_LEVELS_GY`], cc.
    pub v_cc: [f64; 5],
    /// The same as % of the bone's volume.
    pub v_percent: [f64; 5],
}

/// Result of [`analyse_marrow`] / [`analyse_marrow_ct`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarrowAnalysis {
    pub bones: Vec<BoneDose>,
    /// Union of all bones on a common lattice (absent for a single bone).
    pub union: Option<BoneDose>,
    /// (level Gy, % of the body's total active marrow receiving ≥ level), from the
    /// bones with a tabulated share: Σ share × V_level[%] / 100.
    pub weighted_percent: Vec<(f64, f64)>,
    /// The bones came from a CT threshold, not from contours.
    pub ct_surrogate: bool,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

fn bone_dose(
    name: &str,
    group: &str,
    share: Option<f64>,
    occ: &Occupancy,
    grid: &DoseGrid,
    warnings: &mut Vec<String>,
) -> BoneDose {
    let s = sample_occupancy(occ, grid);
    warnings.extend(s.warnings);
    let volume_cc = s.dvh.volume_cc();
    BoneDose {
        name: name.to_string(),
        group: group.to_string(),
        active_marrow_percent: share,
        volume_cc,
        mean_gy: s.dvh.mean(),
        v_cc: MARROW_LEVELS_GY.map(|d| s.dvh.volume_at_dose_cc(d)),
        v_percent: MARROW_LEVELS_GY.map(|d| s.dvh.volume_at_dose_percent(d)),
    }
}

fn weighted(bones: &[BoneDose]) -> Vec<(f64, f64)> {
    WEIGHTED_LEVELS_GY
        .iter()
        .map(|&lvl| {
            let k = MARROW_LEVELS_GY.iter().position(|&l| l == lvl).unwrap_or(0);
            let sum = bones
                .iter()
                .filter_map(|b| Some(b.active_marrow_percent? * b.v_percent.get(k)? / 100.0))
                .filter(|v| v.is_finite())
                .sum();
            (lvl, sum)
        })
        .collect()
}

/// Marrow analysis of the contoured marrow-bearing bones (Bone_Sternum, Rib*, VB_*,
/// Clavicle*, Scapula*, Humerus*, Pelvis/Bone_Pelvic/sacrum/ilium). `Ok(None)` when no
/// bone is contoured (see [`analyse_marrow_ct`] for the CT surrogate).
pub fn analyse_marrow(
    grid: &DoseGrid,
    structures: &[NamedStructure],
    ctx: &SiteContext,
) -> Result<Option<MarrowAnalysis>, SiteError> {
    let found: Vec<(&Structure, &'static str, Option<f64>)> = structures
        .iter()
        .filter(|s| !s.0.is_empty())
        .filter_map(|s| classify(site_name(s)).map(|(g, sh)| (&s.0, g, sh)))
        .collect();
    if found.is_empty() {
        return Ok(None);
    }
    let refs: Vec<&Structure> = found.iter().map(|f| f.0).collect();
    let occs = common_occupancies(SITE, &refs, grid, ctx)?;
    let mut warnings = Vec::new();
    let bones: Vec<BoneDose> = found
        .iter()
        .zip(&occs)
        .map(|((s, g, sh), o)| bone_dose(&s.name, g, *sh, o, grid, &mut warnings))
        .collect();
    let union = if occs.len() > 1 {
        union_all(SITE, &occs, "all bones")?
            .map(|u| bone_dose("all bones (union)", "union", None, &u, grid, &mut warnings))
    } else {
        None
    };
    let mut notes = vec![
        "Irradiated volumes with partial volumes; the union is taken on a common lattice.".to_string(),
        format!(
            "Active-marrow-weighted irradiated fraction = Σ over bones of (share of the body's active marrow × \
             fraction of the bone ≥ level), at {} and {} Gy; it covers the contoured bones only, and \
             assumes marrow spread evenly in each bone.",
            WEIGHTED_LEVELS_GY[0], WEIGHTED_LEVELS_GY[1]
        ),
        "Active-marrow shares: Cristy 1981 / ICRP adult values, recalled [R] and provisional; per rib = \
         ribs 16% / 24, per vertebra = spine region share / vertebrae in it; humerus share is that of its \
         proximal half applied to the whole contour."
            .into(),
    ];
    if bones.iter().any(|b| b.active_marrow_percent.is_none()) {
        notes.push("Bones without a tabulated share (sub-parts such as ilium) are left out of the weighted fraction.".into());
    }
    if bones.iter().filter(|b| b.group == "ribs").count() > 1
        && bones
            .iter()
            .any(|b| b.group == "ribs" && !b.name.chars().any(|c| c.is_ascii_digit()))
    {
        notes.push("Both whole-rib and single-rib structures are present: the weighted fraction may count ribs twice.".into());
    }
    Ok(Some(MarrowAnalysis {
        weighted_percent: weighted(&bones),
        bones,
        union,
        ct_surrogate: false,
        notes,
        warnings,
    }))
}

/// Options of the CT bone surrogate.
#[derive(Debug, Clone, PartialEq)]
pub struct CtBoneOptions {
    /// Voxels with HU at or above this are bone (default 200 HU: above soft tissue and
    /// contrast-free blood (< 100 HU), below cancellous bone of the spine and sternum
    /// (~ 200–400 HU) and cortical bone (> 700 HU)).
    pub hu_threshold: f64,
}

impl Default for CtBoneOptions {
    fn default() -> Self {
        CtBoneOptions {
            hu_threshold: 200.0,
        }
    }
}

/// The lattice whose cells are the CT's voxels; the CT axes must be uniformly spaced.
fn ct_lattice(ct: &DoseGrid) -> Result<Lattice, SiteError> {
    let axis = |name: char, v: &[f64]| -> Result<(f64, f64), SiteError> {
        let first = *v
            .first()
            .ok_or_else(|| SiteError::InvalidCt(format!("axis {name} is empty")))?;
        if v.len() < 2 {
            return Err(SiteError::InvalidCt(format!(
                "axis {name} has a single position: no voxel size"
            )));
        }
        let step = (v[v.len() - 1] - first) / (v.len() - 1) as f64;
        if let Some((i, _)) = v
            .windows(2)
            .enumerate()
            .find(|(_, w)| ((w[1] - w[0]) - step).abs() > 1e-3 * step.abs().max(1e-3))
        {
            return Err(SiteError::InvalidCt(format!(
                "axis {name} is not uniformly spaced (at index {}); resample the CT first",
                i + 1
            )));
        }
        Ok((first, step))
    };
    let (x0, sx) = axis('x', &ct.x)?;
    let (y0, sy) = axis('y', &ct.y)?;
    let (z0, sz) = axis('z', &ct.z)?;
    Lattice::new([x0, y0, z0], [sx, sy, sz], ct.dims())
        .map_err(|e| SiteError::InvalidCt(e.to_string()))
}

/// Bone mask from a CT volume: voxels with HU ≥ threshold inside `body` (the whole CT
/// when `None`), as an occupancy on the CT grid. A voxel's fraction is the body's
/// partial volume in it (so bone stops at the body contour). Only the bounding box of
/// the bone voxels is held densely.
pub fn ct_bone_occupancy(
    ct: &DoseGrid,
    body: Option<&Structure>,
    ctx: &SiteContext,
    opts: &CtBoneOptions,
) -> Result<Occupancy, SiteError> {
    if !opts.hu_threshold.is_finite() {
        return Err(SiteError::InvalidOption {
            site: SITE,
            option: "hu_threshold",
            value: opts.hu_threshold.to_string(),
            reason: "must be finite",
        });
    }
    let lattice = ct_lattice(ct)?;
    let thr = opts.hu_threshold as f32;
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for ((iz, iy, ix), &hu) in ct.dose.indexed_iter() {
        if hu >= thr {
            for (a, i) in [iz, iy, ix].into_iter().enumerate() {
                lo[a] = lo[a].min(i);
                hi[a] = hi[a].max(i);
            }
        }
    }
    let name = format!("CT bone (HU ≥ {})", opts.hu_threshold);
    if lo[0] == usize::MAX {
        return Ok(Occupancy::empty(lattice, name));
    }
    let dims = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
    let sub = Lattice::new(
        lattice.cell_centre(lo[0], lo[1], lo[2]),
        lattice.spacing,
        dims,
    )
    .map_err(|e| SiteError::InvalidCt(e.to_string()))?;
    let mut dense = Array3::<f32>::zeros((dims[0], dims[1], dims[2]));
    match body {
        Some(b) => {
            let params = ctx.sampling.slab_params(ct);
            let occ = rasterize(b, &sub, &params, ctx.sampling.subrows).map_err(|e| {
                SiteError::geometry(
                    SITE,
                    format!("ROI {} '{}' on the CT grid", b.roi_number, b.name),
                    e,
                )
            })?;
            for ([iz, iy, ix], f) in occ.cells() {
                if let Some(v) = dense.get_mut([iz, iy, ix]) {
                    *v = f;
                }
            }
        }
        None => dense.fill(1.0),
    }
    for ((iz, iy, ix), v) in dense.indexed_iter_mut() {
        let hu = ct
            .dose
            .get([iz + lo[0], iy + lo[1], ix + lo[2]])
            .copied()
            .unwrap_or(f32::NEG_INFINITY);
        if hu.is_nan() || hu < thr {
            *v = 0.0;
        }
    }
    Occupancy::from_dense(sub, &dense, name).map_err(|e| SiteError::InvalidCt(e.to_string()))
}

/// Marrow analysis with a CT bone surrogate (no bone contoured): bone = HU ≥ threshold
/// inside `body` (see [`ct_bone_occupancy`]). `ct` is a HU volume in the
/// [`DoseGrid`] layout (the `dose` array holds HU). No active-marrow weighting is
/// possible (bones are not identified).
pub fn analyse_marrow_ct(
    grid: &DoseGrid,
    ct: &DoseGrid,
    body: Option<&Structure>,
    ctx: &SiteContext,
    opts: &CtBoneOptions,
) -> Result<MarrowAnalysis, SiteError> {
    let occ = ct_bone_occupancy(ct, body, ctx, opts)?;
    let mut warnings = Vec::new();
    let bone = bone_dose(&occ.name, "CT surrogate", None, &occ, grid, &mut warnings);
    let mut notes = vec![format!(
        "No bone contoured: bone = CT voxels with HU ≥ {} {} (whole voxels, body partial volume at its \
         surface). Includes every bone in the CT, marrow-bearing or not; no active-marrow weighting.",
        opts.hu_threshold,
        body.map(|b| format!("inside '{}'", b.name))
            .unwrap_or_else(|| "in the whole CT (no body contour: the couch may count)".into())
    )];
    if occ.is_empty() {
        notes.push("No CT voxel reaches the threshold.".into());
    }
    Ok(MarrowAnalysis {
        bones: vec![bone],
        union: None,
        weighted_percent: Vec::new(),
        ct_surrogate: true,
        notes,
        warnings,
    })
}

impl MarrowAnalysis {
    /// The "marrow" site table.
    pub fn to_site_table(&self) -> SiteTable {
        let mut columns = vec![
            "Bone".to_string(),
            "Group".into(),
            "Active marrow [%]".into(),
            "Volume [cc]".into(),
            "Mean [Gy]".into(),
        ];
        for l in MARROW_LEVELS_GY {
            columns.push(format!("V{l}Gy [cc]"));
            columns.push(format!("V{l}Gy [%]"));
        }
        let row = |b: &BoneDose| {
            let mut r = vec![
                Value::from(b.name.clone()),
                Value::from(b.group.clone()),
                opt(b.active_marrow_percent),
                num(b.volume_cc),
                num(b.mean_gy),
            ];
            for k in 0..MARROW_LEVELS_GY.len() {
                r.push(num(b.v_cc[k]));
                r.push(num(b.v_percent[k]));
            }
            r
        };
        let mut rows: Vec<Vec<Value>> = self.bones.iter().map(row).collect();
        if let Some(u) = &self.union {
            rows.push(row(u));
        }
        let mut notes = self.notes.clone();
        if !self.ct_surrogate {
            notes.push(format!(
                "Active-marrow shares used (adult, % of the body's active marrow; Cristy 1981 / ICRP, recalled [R], provisional): {}.",
                ACTIVE_MARROW_SHARES
                    .iter()
                    .map(|s| format!("{} {}", s.group, s.percent))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (lvl, pct) in &self.weighted_percent {
            notes.push(format!("Active marrow receiving ≥ {lvl} Gy (contoured bones): {pct:.2}% of the body's active marrow."));
        }
        notes.push(
            "Evidence: Mac Manus 1997 (OR 4.1 per 20% of marrow irradiated); sternum V30 ≥ 24.38 cc, V40 ≥ 6.48 cc \
             (PMRT cohort, n = 58); pelvic V10 ≥ 90% (Mell 2006)."
                .into(),
        );
        SiteTable {
            id: "marrow".into(),
            title: if self.ct_surrogate {
                "Bone marrow (CT bone surrogate)".into()
            } else {
                "Bone marrow".into()
            },
            columns,
            rows,
            notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn bone_names_and_shares() {
        let s = |n: &str| classify(n).and_then(|c| c.1);
        assert_eq!(s("Bone_Sternum"), Some(3.0));
        assert_eq!(s("Ribs"), Some(16.0));
        assert_eq!(s("Ribs_L"), Some(8.0));
        assert_eq!(s("Rib05_R"), Some(16.0 / 24.0));
        assert_eq!(s("VB_T07"), Some(16.0 / 12.0));
        assert_eq!(s("VB_L3"), Some(12.3 / 5.0));
        assert_eq!(s("Clavicle_L"), Some(0.4));
        assert_eq!(s("Scapula_R"), Some(1.4));
        assert_eq!(s("Humerus_L"), Some(1.15));
        assert_eq!(s("Bone_Pelvic"), Some(27.4));
        assert_eq!(s("Bone_Ilium_L"), None);
        assert!(classify("Bone_Ilium_L").is_some());
        assert!(classify("Liver").is_none());
        assert!(classify("Brain").is_none());
    }
}

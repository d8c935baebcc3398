//! Brain SRS / FSRT: per-lesion figures, brain-minus-targets volumes and the 12 Gy
//! isodose attributed to lesions.

use crate::common::{
    NamedStructure, SiteContext, common_occupancies, find_exact, num, opt, sample_occupancy,
    site_name, starts_with_ci, union_all,
};
use crate::error::SiteError;
use crate::islands::{
    GridSample, LesionShape, attribute, cell_representatives, centroid, occupancy_samples,
    voxel_samples,
};
use radtox_dose::Dvh;
use radtox_geometry::{Occupancy, choose_lattice, rasterize};
use radtox_model::{DoseGrid, Structure};
use radtox_report::SiteTable;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

const SITE: &str = "brain";

/// Options of the brain analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct BrainOptions {
    /// Isodose level whose islands are attributed to lesions (Gy; 12 Gy by default, the
    /// single-fraction necrosis level of HyTEC).
    pub island_level_gy: f64,
    /// Lesion volume above which a lesion is flagged (cc; EANO-ESMO 2021 per the seed
    /// review, not confirmed in the guideline).
    pub large_lesion_cc: f64,
}

impl Default for BrainOptions {
    fn default() -> Self {
        BrainOptions {
            island_level_gy: 12.0,
            large_lesion_cc: 15.0,
        }
    }
}

/// Where a lesion's prescription came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrescriptionSource {
    /// A DoseReference item referencing the lesion's ROI.
    Roi,
    /// The plan prescription (largest target prescription of the RT Plan).
    Plan,
    /// No prescription known, or the plan's exceeds the lesion's maximum dose: the
    /// lesion's D98% (its near-minimum dose, the isodose that covers it) stands in.
    NearMinimumD98,
}

/// RTOG 90-05 (Shaw et al., IJROBP 2000) maximum tolerated single-fraction dose by
/// maximum lesion diameter: ≤ 20 mm → 24 Gy; 21–30 mm → 18 Gy; 31–40 mm → 15 Gy;
/// larger lesions were not eligible (`None`). Between the integer millimetre bands the
/// boundaries are taken as (20, 30] and (30, 40], with 1 nm of tolerance so that a
/// diameter computed as 20.000000001 mm stays in the 20 mm band.
pub fn rtog_9005_max_dose_gy(max_diameter_mm: f64) -> Option<f64> {
    match max_diameter_mm - 1e-6 {
        d if d <= 20.0 => Some(24.0),
        d if d <= 30.0 => Some(18.0),
        d if d <= 40.0 => Some(15.0),
        _ => None,
    }
}

/// One target lesion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lesion {
    pub name: String,
    pub roi_number: i32,
    /// Contour volume (slab model), cc.
    pub volume_cc: f64,
    /// Largest distance between two contour points, in 3-D (across planes), mm.
    pub max_diameter_mm: f64,
    pub prescription_gy: f64,
    pub prescription_source: PrescriptionSource,
    pub d98_gy: f64,
    pub d2_gy: f64,
    /// Lesion volume receiving ≥ the prescription (TV_PIV), cc.
    pub tv_piv_cc: f64,
    /// Prescription isodose volume of the island(s) attributed to this lesion, cc.
    pub piv_cc: f64,
    /// Half-prescription isodose volume attributed to this lesion, cc.
    pub piv50_cc: f64,
    /// Paddick conformity index TV_PIV² / (TV × PIV); `None` when PIV is 0.
    pub paddick_ci: Option<f64>,
    /// Paddick gradient index PIV50 / PIV; `None` when PIV is 0.
    pub gradient_index: Option<f64>,
    /// The prescription (or half-prescription) isodose island also held another lesion.
    pub rx_island_merged: bool,
    /// RTOG 90-05 maximum single-fraction dose for this diameter (`None`: > 40 mm, not
    /// eligible in RTOG 90-05).
    pub rtog_9005_max_gy: Option<f64>,
    /// Single fraction and the prescription exceeds the RTOG 90-05 maximum (or the
    /// lesion is beyond 40 mm); `None` when the plan is not a single fraction or the
    /// fractionation is unknown.
    pub rtog_9005_exceeded: Option<bool>,
    /// Volume above [`BrainOptions::large_lesion_cc`].
    pub large_lesion: bool,
    /// Island-level isodose (12 Gy by default) volume within the brain region
    /// attributed to this lesion, cc.
    pub v_island_cc: f64,
    /// That island also held another lesion; its volume was split.
    pub v_island_merged: bool,
}

/// Brain-minus-targets volumes (cc, partial volumes on the difference occupancy).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrainVolumes {
    /// The structure used as brain.
    pub brain: String,
    /// Brain minus the union of all targets, cc.
    pub volume_cc: f64,
    pub v10_cc: f64,
    pub v12_cc: f64,
    pub v20_cc: f64,
    pub v24_cc: f64,
}

/// Result of [`analyse_brain`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrainAnalysis {
    /// "GTV" or "PTV": which targets were analysed.
    pub target_kind: String,
    pub lesions: Vec<Lesion>,
    pub brain: Option<BrainVolumes>,
    pub fractions: Option<u32>,
    pub island_level_gy: f64,
    /// Island-level isodose volume of the brain region in islands with no lesion, cc.
    pub v_island_unattributed_cc: f64,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// Tokens that mark a derived or composite structure ("GTV_all", "PTV total",
/// "PTV1_WALL", "ptv 4 AND 5", "PTV_ring") rather than a lesion.
fn is_composite(name: &str) -> bool {
    const TOKENS: [&str; 11] = [
        "all", "total", "sum", "union", "combined", "and", "wall", "ring", "shell", "opt", "minus",
    ];
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|t| TOKENS.iter().any(|k| t.eq_ignore_ascii_case(k)))
}

/// A lesion of `kind` ("GTV" or "PTV"): named so (TG-263 or own name) with no
/// contradicting RTROIInterpretedType (a "PTV1_WALL" typed ORGAN is not a lesion), or
/// typed so whatever its name; never a composite.
fn is_kind(s: &NamedStructure, kind: &str) -> bool {
    let name = site_name(s);
    let ty = s.0.interpreted_type.as_deref().map(str::to_ascii_uppercase);
    let by_name = starts_with_ci(name, kind)
        && ty
            .as_deref()
            .is_none_or(|t| ["GTV", "CTV", "PTV", ""].contains(&t));
    let by_type = ty.as_deref() == Some(kind);
    !s.0.is_empty() && !is_composite(name) && (by_name || by_type)
}

/// The lesions: every GTV when any is contoured, else every PTV.
fn select_targets(structures: &[NamedStructure]) -> Option<(&'static str, Vec<&Structure>)> {
    ["GTV", "PTV"].into_iter().find_map(|kind| {
        let t: Vec<&Structure> = structures
            .iter()
            .filter(|s| is_kind(s, kind))
            .map(|s| &s.0)
            .collect();
        (!t.is_empty()).then_some((kind, t))
    })
}

/// The brain: "Brain", else a brain-minus-something structure ("BRAIN - PTV",
/// "Brain-GTV"), which excludes its targets already.
pub(crate) fn select_brain(structures: &[NamedStructure]) -> Option<(&Structure, bool)> {
    if let Some(b) = find_exact(structures, &["Brain"]) {
        return Some((&b.0, false));
    }
    structures
        .iter()
        .find(|s| {
            !s.0.is_empty() && starts_with_ci(site_name(s), "brain") && site_name(s).contains('-')
        })
        .map(|s| (&s.0, true))
}

/// The external contour (by name or RTROIInterpretedType EXTERNAL).
pub(crate) fn select_external(structures: &[NamedStructure]) -> Option<&Structure> {
    find_exact(structures, &["External", "Body", "Outer_Contour", "Skin"])
        .or_else(|| {
            structures.iter().find(|s| {
                !s.0.is_empty()
                    && s.0
                        .interpreted_type
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case("EXTERNAL"))
            })
        })
        .map(|s| &s.0)
}

/// Rasterise one structure on its own lattice (as `sample_structure` chooses it).
fn own_occupancy(
    s: &Structure,
    grid: &DoseGrid,
    ctx: &SiteContext,
) -> Result<Option<Occupancy>, SiteError> {
    let params = ctx.sampling.slab_params(grid);
    let lattice = choose_lattice(&[s], grid, &ctx.sampling)
        .map_err(|e| SiteError::geometry(SITE, format!("ROI {} '{}'", s.roi_number, s.name), e))?;
    let Some(lattice) = lattice else {
        return Ok(None);
    };
    rasterize(s, &lattice, &params, ctx.sampling.subrows)
        .map(Some)
        .map_err(|e| SiteError::geometry(SITE, format!("ROI {} '{}'", s.roi_number, s.name), e))
}

/// Largest distance between two contour points of `s`, in 3-D. Per plane only the
/// convex hull's vertices can be extreme, so the pairwise search runs over those.
pub fn max_diameter_mm(s: &Structure) -> f64 {
    let mut pts: Vec<[f64; 3]> = Vec::new();
    for plane in &s.planes {
        let mut p2: Vec<[f64; 2]> = plane
            .polygons
            .iter()
            .flat_map(|p| p.points.iter().copied())
            .filter(|p| p[0].is_finite() && p[1].is_finite())
            .collect();
        if !plane.z.is_finite() {
            continue;
        }
        for h in convex_hull(&mut p2) {
            pts.push([h[0], h[1], plane.z]);
        }
    }
    let mut best = 0.0f64;
    for (i, a) in pts.iter().enumerate() {
        for b in pts.iter().skip(i + 1) {
            let d2 = (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2);
            best = best.max(d2);
        }
    }
    best.sqrt()
}

/// Andrew's monotone chain; returns the hull vertices (all points when fewer than 3).
fn convex_hull(p: &mut [[f64; 2]]) -> Vec<[f64; 2]> {
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    if p.len() < 3 {
        return p.to_vec();
    }
    let cross = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut hull: Vec<[f64; 2]> = Vec::with_capacity(2 * p.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f64; 2]>> = if pass == 0 {
            Box::new(p.iter())
        } else {
            Box::new(p.iter().rev())
        };
        for &q in iter {
            while hull.len() >= start + 2 {
                let (Some(&a), Some(&b)) = (hull.get(hull.len() - 2), hull.last()) else {
                    break;
                };
                if cross(a, b, q) <= 0.0 {
                    hull.pop();
                } else {
                    break;
                }
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

struct LesionData<'a> {
    structure: &'a Structure,
    /// One representative sample per dose-grid cell, for island ownership.
    cells: Vec<GridSample>,
    dvh: Dvh,
    volume_cc: f64,
    centroid: [f64; 3],
    warnings: Vec<String>,
}

fn lesion_data<'a>(
    s: &'a Structure,
    grid: &DoseGrid,
    ctx: &SiteContext,
) -> Result<Option<LesionData<'a>>, SiteError> {
    let Some(occ) = own_occupancy(s, grid, ctx)? else {
        return Ok(None);
    };
    let samples = occupancy_samples(&occ, grid, f32::NEG_INFINITY);
    let Some(c) = centroid(&samples) else {
        return Ok(None);
    };
    let dose: Vec<f32> = samples.iter().map(|s| s.dose).collect();
    let weight: Vec<f32> = samples.iter().map(|s| s.weight_cc).collect();
    let dvh = Dvh::from_samples(&dose, &weight);
    let mut warnings = occ.warnings.clone();
    let volume_cc = occ.contour_volume_cc.unwrap_or_else(|| occ.volume_cc());
    if dvh.volume_cc() < 0.999 * volume_cc {
        warnings.push(format!(
            "ROI {} '{}': {:.3} of {:.3} cc inside the dose grid",
            s.roi_number,
            s.name,
            dvh.volume_cc(),
            volume_cc
        ));
    }
    Ok(Some(LesionData {
        structure: s,
        cells: cell_representatives(&samples),
        dvh,
        volume_cc,
        centroid: c,
        warnings,
    }))
}

fn equivalent_radius_mm(volume_cc: f64) -> f64 {
    (3.0 * volume_cc * 1000.0 / (4.0 * std::f64::consts::PI)).cbrt()
}

/// Analyse brain lesions. `Ok(None)` when no GTV/PTV is contoured.
///
/// * Lesions: every GTV (name or TG-263 name starting "GTV", or interpreted type GTV),
///   else every PTV; composite targets ("GTV_all", "PTV total") are skipped.
/// * Prescription per lesion: a DoseReference prescription on the lesion's ROI, else
///   the plan prescription, else the lesion's D98% (see [`PrescriptionSource`]).
/// * PIV and PIV50 come from the External contour (whole grid if none), the island
///   volume from the Brain (whole grid if none): see the crate documentation.
pub fn analyse_brain(
    grid: &DoseGrid,
    structures: &[NamedStructure],
    ctx: &SiteContext,
    opts: &BrainOptions,
) -> Result<Option<BrainAnalysis>, SiteError> {
    if !(opts.island_level_gy.is_finite() && opts.island_level_gy > 0.0) {
        return Err(SiteError::InvalidOption {
            site: SITE,
            option: "island_level_gy",
            value: opts.island_level_gy.to_string(),
            reason: "must be finite and positive",
        });
    }
    let Some((kind, targets)) = select_targets(structures) else {
        return Ok(None);
    };
    let mut notes = vec![format!(
        "Lesions: every {kind} on its own ({}); GTVs are preferred to PTVs when both exist.",
        if kind == "GTV" {
            "GTVs contoured"
        } else {
            "no GTV contoured"
        }
    )];
    let mut warnings = Vec::new();

    let data: Vec<Option<LesionData>> = targets
        .par_iter()
        .map(|s| lesion_data(s, grid, ctx))
        .collect::<Result<_, _>>()?;
    let data: Vec<LesionData> = data
        .into_iter()
        .zip(&targets)
        .filter_map(|(d, s)| {
            if d.is_none() {
                warnings.push(format!(
                    "ROI {} '{}': no volume inside the dose grid; not analysed",
                    s.roi_number, s.name
                ));
            }
            d
        })
        .collect();
    for d in &data {
        warnings.extend(d.warnings.iter().cloned());
    }
    let shapes: Vec<LesionShape> = data
        .iter()
        .map(|d| LesionShape {
            samples: &d.cells,
            centroid: d.centroid,
            equivalent_radius_mm: equivalent_radius_mm(d.volume_cc),
        })
        .collect();

    // Prescriptions.
    let rx: Vec<(f64, PrescriptionSource)> = data
        .iter()
        .map(|d| {
            let roi = ctx
                .roi_prescriptions_gy
                .iter()
                .find(|(n, _)| *n == d.structure.roi_number)
                .map(|(_, g)| *g);
            let d98 = (
                d.dvh.dose_at_volume_percent(98.0),
                PrescriptionSource::NearMinimumD98,
            );
            match (roi, ctx.rx()) {
                (Some(g), _) => (g, PrescriptionSource::Roi),
                // A plan prescription above the lesion's maximum cannot be its
                // prescription (e.g. a multi-lesion plan whose "prescription" is a sum
                // over isocentres): the near-minimum dose stands in, with a warning.
                (None, Some(g)) if d.dvh.max() < g => {
                    warnings.push(format!(
                        "ROI {} '{}': plan prescription {g:.2} Gy exceeds the lesion's maximum \
                         {:.2} Gy; its D98% stands in as its prescription",
                        d.structure.roi_number,
                        d.structure.name,
                        d.dvh.max()
                    ));
                    d98
                }
                (None, Some(g)) => (g, PrescriptionSource::Plan),
                (None, None) => d98,
            }
        })
        .collect();
    if rx.iter().any(|r| r.1 == PrescriptionSource::NearMinimumD98) {
        notes.push(
            "No usable prescription for some lesions (none known, or the plan's exceeds the \
             lesion's maximum): their D98% (the near-minimum isodose covering them) stands in \
             for the prescription in CI, GI and the RTOG 90-05 check."
                .into(),
        );
    }

    let mut levels: Vec<f64> = rx
        .iter()
        .map(|r| r.0)
        .filter(|g| g.is_finite() && *g > 0.0)
        .collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    // Region samples below the lowest level attributed (half the lowest Rx) never count.
    let piv_min = levels.first().map_or(f32::INFINITY, |l| (0.5 * l) as f32);
    // PIV / PIV50 region: the External, else every grid voxel.
    let external = select_external(structures);
    let piv_region: Vec<GridSample> =
        match external.map(|e| own_occupancy(e, grid, ctx)).transpose()? {
            Some(Some(occ)) => {
                notes.push(format!(
                    "PIV and PIV50 are isodose volumes inside '{}' (partial volumes), split into \
                 islands (26-connected dose-grid voxels ≥ the level) attributed to lesions.",
                    occ.name
                ));
                occupancy_samples(&occ, grid, piv_min)
            }
            _ => {
                notes.push(
                    "No External contour: PIV and PIV50 are whole dose-grid voxels ≥ the level, \
                 split into 26-connected islands attributed to lesions."
                        .into(),
                );
                voxel_samples(grid, piv_min)
            }
        };
    let mut piv = vec![0.0; data.len()];
    let mut piv50 = vec![0.0; data.len()];
    let mut rx_merged = vec![false; data.len()];
    for level in levels {
        let a100 = attribute(grid, level, &piv_region, &shapes);
        let a50 = attribute(grid, 0.5 * level, &piv_region, &shapes);
        for (k, r) in rx.iter().enumerate() {
            if r.0 == level {
                piv[k] = a100.per_lesion_cc[k];
                piv50[k] = a50.per_lesion_cc[k];
                rx_merged[k] = a100.merged[k] || a50.merged[k];
            }
        }
    }
    drop(piv_region);

    // Brain region: brain-minus-targets volumes and the island-level attribution.
    let island_min = opts.island_level_gy as f32;
    let brain = select_brain(structures);
    let mut brain_volumes = None;
    let island_region: Vec<GridSample> = match brain {
        Some((b, already_minus)) => {
            let mut all: Vec<&Structure> = vec![b];
            all.extend(targets.iter().copied());
            let occs = common_occupancies(SITE, &all, grid, ctx)?;
            match occs.split_first() {
                Some((brain_occ, target_occs)) => {
                    let union = union_all(SITE, target_occs, "targets")?;
                    let diff = match &union {
                        Some(u) => brain_occ.difference(u).map_err(|e| {
                            SiteError::geometry(SITE, format!("'{}' − targets", b.name), e)
                        })?,
                        None => brain_occ.clone(),
                    };
                    let s = sample_occupancy(&diff, grid);
                    warnings.extend(s.warnings.iter().cloned());
                    brain_volumes = Some(BrainVolumes {
                        brain: b.name.clone(),
                        volume_cc: diff.volume_cc(),
                        v10_cc: s.dvh.volume_at_dose_cc(10.0),
                        v12_cc: s.dvh.volume_at_dose_cc(12.0),
                        v20_cc: s.dvh.volume_at_dose_cc(20.0),
                        v24_cc: s.dvh.volume_at_dose_cc(24.0),
                    });
                    if already_minus {
                        notes.push(format!(
                            "No 'Brain' structure: '{}' (brain already minus targets) is used as brain; \
                             lesion island volumes therefore exclude what that structure excludes.",
                            b.name
                        ));
                    }
                    notes.push(format!(
                        "Brain − targets = '{}' minus the union of all {kind}s on a common lattice \
                         (partial volumes); V10/V12 apply to 1 fraction, V20 to 3, V24 to 5.",
                        b.name
                    ));
                    occupancy_samples(brain_occ, grid, island_min)
                }
                None => voxel_samples(grid, island_min),
            }
        }
        None => {
            notes.push(
                "No Brain contour: brain-minus-target volumes are not available and island \
                 volumes count whole dose-grid voxels."
                    .into(),
            );
            voxel_samples(grid, island_min)
        }
    };
    let island = attribute(grid, opts.island_level_gy, &island_region, &shapes);
    drop(island_region);
    if island.merged.iter().any(|&m| m) {
        notes.push(format!(
            "Where one {} Gy island holds several lesions its volume is split point by point \
             by the nearest lesion surface (distance to centroid minus equivalent-sphere radius).",
            opts.island_level_gy
        ));
    }
    notes.push(format!(
        "Island V{} per lesion includes the lesion itself where it lies in the brain region; \
         islands are 26-connected dose-grid voxels ≥ {} Gy, volumes are partial-volume samples \
         assigned to the island of the hottest corner of their interpolation cell.",
        opts.island_level_gy, opts.island_level_gy
    ));

    let single = ctx.fractions.map(|n| n == 1);
    let lesions = data
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let (prescription_gy, prescription_source) = rx[k];
            let tv = d.dvh.volume_cc();
            let tv_piv = d.dvh.volume_at_dose_cc(prescription_gy);
            let max_diameter_mm = max_diameter_mm(d.structure);
            let rtog = rtog_9005_max_dose_gy(max_diameter_mm);
            Lesion {
                name: d.structure.name.clone(),
                roi_number: d.structure.roi_number,
                volume_cc: d.volume_cc,
                max_diameter_mm,
                prescription_gy,
                prescription_source,
                d98_gy: d.dvh.dose_at_volume_percent(98.0),
                d2_gy: d.dvh.dose_at_volume_percent(2.0),
                tv_piv_cc: tv_piv,
                piv_cc: piv[k],
                piv50_cc: piv50[k],
                paddick_ci: (piv[k] > 0.0 && tv > 0.0).then(|| tv_piv * tv_piv / (tv * piv[k])),
                gradient_index: (piv[k] > 0.0).then(|| piv50[k] / piv[k]),
                rx_island_merged: rx_merged[k],
                rtog_9005_max_gy: rtog,
                rtog_9005_exceeded: single
                    .and_then(|s| s.then(|| rtog.is_none_or(|m| prescription_gy > m + 1e-9))),
                large_lesion: d.volume_cc > opts.large_lesion_cc,
                v_island_cc: island.per_lesion_cc[k],
                v_island_merged: island.merged[k],
            }
        })
        .collect();
    Ok(Some(BrainAnalysis {
        target_kind: kind.to_string(),
        lesions,
        brain: brain_volumes,
        fractions: ctx.fractions,
        island_level_gy: opts.island_level_gy,
        v_island_unattributed_cc: island.unattributed_cc,
        notes,
        warnings,
    }))
}

impl BrainAnalysis {
    /// The "brain_lesions" table and, when a brain was contoured, the "brain" table.
    pub fn to_site_tables(&self) -> Vec<SiteTable> {
        let lvl = self.island_level_gy;
        let columns = [
            "Lesion".to_string(),
            "Volume [cc]".into(),
            "Max diameter [mm]".into(),
            "Rx [Gy]".into(),
            "Rx source".into(),
            "D98% [Gy]".into(),
            "D2% [Gy]".into(),
            "TV_PIV [cc]".into(),
            "PIV [cc]".into(),
            "PIV50 [cc]".into(),
            "CI Paddick".into(),
            "GI".into(),
            "Rx island merged".into(),
            "RTOG 90-05 max [Gy]".into(),
            "Rx > RTOG 90-05".into(),
            "> 15 cc".into(),
            format!("V{lvl}Gy island [cc]"),
            format!("V{lvl}Gy island merged"),
        ]
        .to_vec();
        let rows = self
            .lesions
            .iter()
            .map(|l| {
                vec![
                    Value::from(l.name.clone()),
                    num(l.volume_cc),
                    num(l.max_diameter_mm),
                    num(l.prescription_gy),
                    Value::from(match l.prescription_source {
                        PrescriptionSource::Roi => "ROI",
                        PrescriptionSource::Plan => "plan",
                        PrescriptionSource::NearMinimumD98 => "D98% (no Rx)",
                    }),
                    num(l.d98_gy),
                    num(l.d2_gy),
                    num(l.tv_piv_cc),
                    num(l.piv_cc),
                    num(l.piv50_cc),
                    opt(l.paddick_ci),
                    opt(l.gradient_index),
                    Value::from(l.rx_island_merged),
                    l.rtog_9005_max_gy
                        .map(num)
                        .unwrap_or_else(|| Value::from("not eligible (> 40 mm)")),
                    l.rtog_9005_exceeded.map(Value::from).unwrap_or(Value::Null),
                    Value::from(l.large_lesion),
                    num(l.v_island_cc),
                    Value::from(l.v_island_merged),
                ]
            })
            .collect();
        let mut notes = self.notes.clone();
        notes.push(
            "RTOG 90-05 (Shaw et al., IJROBP 2000): ≤ 20 mm → 24 Gy, 21–30 mm → 18 Gy, 31–40 mm → 15 Gy \
             single fraction; dose levels verified, mm cut-offs recalled [R]. Checked for single-fraction plans only."
                .into(),
        );
        notes.push(
            "> 15 cc: EANO-ESMO 2021 per the seed review; not confirmed in the guideline.".into(),
        );
        if self.v_island_unattributed_cc > 0.0 {
            notes.push(format!(
                "{:.3} cc of the {lvl} Gy isodose lies in islands containing no lesion.",
                self.v_island_unattributed_cc
            ));
        }
        let mut tables = vec![SiteTable {
            id: "brain_lesions".into(),
            title: format!("Brain lesions ({}s)", self.target_kind),
            columns,
            rows,
            notes,
        }];
        if let Some(b) = &self.brain {
            let rel = |n: u32| match self.fractions {
                Some(f) if f == n => "applies",
                Some(_) => "other fractionation",
                None => "fractions unknown",
            };
            let row = |m: &str, v: f64, fx: u32| {
                vec![
                    Value::from(m),
                    num(v),
                    Value::from(fx),
                    Value::from(rel(fx)),
                ]
            };
            tables.push(SiteTable {
                id: "brain".into(),
                title: format!("Brain − {}s ('{}', {:.1} cc)", self.target_kind, b.brain, b.volume_cc),
                columns: vec!["Metric".into(), "Value [cc]".into(), "Fractions".into(), "Rule".into()],
                rows: vec![
                    row("V10Gy", b.v10_cc, 1),
                    row("V12Gy", b.v12_cc, 1),
                    row("V20Gy", b.v20_cc, 3),
                    row("V24Gy", b.v24_cc, 5),
                ],
                notes: vec![
                    "HyTEC (Milano et al., IJROBP 2021): 1 fx V12 ≥ 5 / ≥ 10 cc; 3 fx V20 and 5 fx V24 ≥ 20 cc. \
                     Minniti 2011: V10 > 12.6 cc and V12 > 10.9 cc. Physical dose."
                        .into(),
                ],
            });
        }
        tables
    }
}

//! Lung (total and ipsilateral) and the skin band.

use crate::brain::select_external;
use crate::common::{
    NamedStructure, SiteContext, common_occupancies, find_exact, num, opt, sample_occupancy,
    union_all,
};
use crate::error::SiteError;
use radtox_model::{DoseGrid, Structure};
use radtox_report::SiteTable;
use serde::Serialize;
use serde_json::Value;

/// Side of the treated breast (or tumour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Laterality {
    Left,
    Right,
}

/// Lung dose figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LungDose {
    /// Structure name, or "Lung_L ∪ Lung_R" for a union.
    pub name: String,
    pub volume_cc: f64,
    pub v5_percent: f64,
    pub v20_percent: f64,
    pub mean_gy: f64,
}

/// Result of [`analyse_lung`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LungAnalysis {
    /// Both lungs ("Lungs", else the union of Lung_L and Lung_R).
    pub total: Option<LungDose>,
    pub laterality: Option<Laterality>,
    pub ipsilateral: Option<LungDose>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

fn lung_dose(
    name: String,
    occ: &radtox_geometry::Occupancy,
    grid: &DoseGrid,
    warnings: &mut Vec<String>,
) -> LungDose {
    let s = sample_occupancy(occ, grid);
    warnings.extend(s.warnings);
    LungDose {
        name,
        volume_cc: s.dvh.volume_cc(),
        v5_percent: s.dvh.volume_at_dose_percent(5.0),
        v20_percent: s.dvh.volume_at_dose_percent(20.0),
        mean_gy: s.dvh.mean(),
    }
}

/// Total lung (Lungs, or the union of Lung_L and Lung_R on a common lattice) and
/// ipsilateral lung (Lung_L or Lung_R by `laterality`): V5Gy[%], V20Gy[%], mean.
/// `Ok(None)` when no lung is contoured.
pub fn analyse_lung(
    grid: &DoseGrid,
    structures: &[NamedStructure],
    ctx: &SiteContext,
    laterality: Option<Laterality>,
) -> Result<Option<LungAnalysis>, SiteError> {
    let both = find_exact(structures, &["Lungs", "Lung_Total", "Lung_Both"]).map(|s| &s.0);
    let left = find_exact(structures, &["Lung_L"]).map(|s| &s.0);
    let right = find_exact(structures, &["Lung_R"]).map(|s| &s.0);
    if both.is_none() && left.is_none() && right.is_none() {
        return Ok(None);
    }
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let mut list: Vec<&Structure> = Vec::new();
    list.extend(both);
    list.extend(left);
    list.extend(right);
    let occs = common_occupancies("lung", &list, grid, ctx)?;
    let occ_of = |s: Option<&Structure>| {
        let s = s?;
        list.iter()
            .position(|t| std::ptr::eq(*t, s))
            .and_then(|k| occs.get(k))
    };
    let total = match (both, left, right) {
        (Some(b), _, _) => {
            occ_of(Some(b)).map(|o| lung_dose(b.name.clone(), o, grid, &mut warnings))
        }
        (None, Some(l), Some(r)) => {
            let pair: Vec<_> = [occ_of(Some(l)), occ_of(Some(r))]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let name = format!("{} ∪ {}", l.name, r.name);
            notes.push(format!(
                "Total lung = union of '{}' and '{}' on a common lattice.",
                l.name, r.name
            ));
            union_all("lung", &pair, &name)?.map(|u| lung_dose(name, &u, grid, &mut warnings))
        }
        _ => {
            notes.push("Only one lung contoured: total lung figures are not available.".into());
            None
        }
    };
    let ipsi = match laterality {
        Some(Laterality::Left) => left,
        Some(Laterality::Right) => right,
        None => None,
    };
    let ipsilateral = ipsi
        .and_then(|s| occ_of(Some(s)).map(|o| lung_dose(s.name.clone(), o, grid, &mut warnings)));
    match (laterality, &ipsilateral) {
        (None, _) => notes.push("Laterality not given: no ipsilateral lung figures.".into()),
        (Some(l), None) => notes.push(format!(
            "No {} lung contoured (Lung_{}).",
            if l == Laterality::Left {
                "left"
            } else {
                "right"
            },
            if l == Laterality::Left { 'L' } else { 'R' }
        )),
        _ => {}
    }
    Ok(Some(LungAnalysis {
        total,
        laterality,
        ipsilateral,
        notes,
        warnings,
    }))
}

impl LungAnalysis {
    /// The "lung" site table.
    pub fn to_site_table(&self) -> SiteTable {
        let row = |what: &str, l: &LungDose| {
            vec![
                Value::from(what),
                Value::from(l.name.clone()),
                num(l.volume_cc),
                num(l.v5_percent),
                num(l.v20_percent),
                num(l.mean_gy),
            ]
        };
        let mut rows = Vec::new();
        if let Some(t) = &self.total {
            rows.push(row("total", t));
        }
        if let Some(i) = &self.ipsilateral {
            rows.push(row("ipsilateral", i));
        }
        let mut notes = self.notes.clone();
        notes.push("QUANTEC (Marks 2010): total lung V20 > 30–35%, MLD > 20–23 Gy [R]; ipsilateral V20 ≥ 30% (Blom Goldman 2014).".into());
        SiteTable {
            id: "lung".into(),
            title: "Lung".into(),
            columns: [
                "Lung",
                "Structure",
                "Volume [cc]",
                "V5Gy [%]",
                "V20Gy [%]",
                "Mean [Gy]",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            notes,
        }
    }
}

/// Result of [`analyse_skin_band`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkinBand {
    /// The external contour the band was cut from.
    pub external: String,
    pub depth_mm: f64,
    pub volume_cc: f64,
    pub max_gy: f64,
    pub prescription_gy: Option<f64>,
    /// Band volume receiving ≥ 105 %, 107 %, 110 % of the prescription (cc); `None`
    /// without a prescription.
    pub v105_cc: Option<f64>,
    pub v107_cc: Option<f64>,
    pub v110_cc: Option<f64>,
    pub warnings: Vec<String>,
}

/// The skin band External − (External contracted by `depth_mm`, 5 mm in the evidence),
/// with its hot-spot volumes relative to the plan prescription. `Ok(None)` when no
/// external contour exists.
pub fn analyse_skin_band(
    grid: &DoseGrid,
    structures: &[NamedStructure],
    ctx: &SiteContext,
    depth_mm: f64,
) -> Result<Option<SkinBand>, SiteError> {
    if !(depth_mm.is_finite() && depth_mm > 0.0) {
        return Err(SiteError::InvalidOption {
            site: "skin",
            option: "depth_mm",
            value: depth_mm.to_string(),
            reason: "must be finite and positive",
        });
    }
    let Some(ext) = select_external(structures) else {
        return Ok(None);
    };
    let occs = common_occupancies("skin", &[ext], grid, ctx)?;
    let Some(occ) = occs.first() else {
        return Ok(None);
    };
    let what = || format!("ROI {} '{}'", ext.roi_number, ext.name);
    let inner = occ
        .contract(depth_mm)
        .map_err(|e| SiteError::geometry("skin", what(), e))?;
    let mut band = occ
        .difference(&inner)
        .map_err(|e| SiteError::geometry("skin", what(), e))?;
    band.name = format!("{} skin band {depth_mm} mm", ext.name);
    let s = sample_occupancy(&band, grid);
    let rx = ctx.rx();
    let v = |f: f64| rx.map(|g| s.dvh.volume_at_dose_cc(f * g));
    Ok(Some(SkinBand {
        external: ext.name.clone(),
        depth_mm,
        volume_cc: s.dvh.volume_cc(),
        max_gy: s.dvh.max(),
        prescription_gy: rx,
        v105_cc: v(1.05),
        v107_cc: v(1.07),
        v110_cc: v(1.10),
        warnings: s.warnings,
    }))
}

impl SkinBand {
    /// The "skin" site table.
    pub fn to_site_table(&self) -> SiteTable {
        let mut notes = vec![format!(
            "Skin band = '{}' minus '{}' contracted by {} mm (Euclidean distance transform, partial volumes).",
            self.external, self.external, self.depth_mm
        )];
        if self.prescription_gy.is_none() {
            notes.push("No prescription: prescription-relative volumes are not available.".into());
        }
        notes.push("Borm 2018; Tortorelli 2013: > 107% within 5 mm of skin (caution), > 110% (high); tiers are a design choice.".into());
        SiteTable {
            id: "skin".into(),
            title: format!("Skin band {} mm", self.depth_mm),
            columns: [
                "Volume [cc]",
                "Max [Gy]",
                "Rx [Gy]",
                "V105% [cc]",
                "V107% [cc]",
                "V110% [cc]",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![vec![
                num(self.volume_cc),
                num(self.max_gy),
                opt(self.prescription_gy),
                opt(self.v105_cc),
                opt(self.v107_cc),
                opt(self.v110_cc),
            ]],
            notes,
        }
    }
}

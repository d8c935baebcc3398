//! Shared plumbing: structure lookup by TG-263 name, sampling context, DVHs.

use crate::error::SiteError;
use radtox_dose::Dvh;
use radtox_geometry::{
    Occupancy, SamplingOptions, rasterize_common, sample_dose, sample_structure,
};
use radtox_model::{DoseGrid, PlanInfo, Structure};

/// A structure together with its TG-263 name (from the pipeline's name mapping), the
/// input every site analysis takes. Structures are recognised by the TG-263 name when
/// one is given, else by their own name (case-insensitively).
pub type NamedStructure = (Structure, Option<String>);

/// The name a structure is recognised by: its TG-263 name when mapped, else its own.
pub fn site_name(s: &NamedStructure) -> &str {
    s.1.as_deref().unwrap_or(&s.0.name)
}

/// What the analyses need to know about the plan besides dose and structures.
#[derive(Debug, Clone, Default)]
pub struct SiteContext {
    /// Number of fractions, when known (selects the brain V10/V12, V20 or V24 rule).
    pub fractions: Option<u32>,
    /// Plan prescription (Gy), the reference for prescription-relative metrics.
    pub prescription_gy: Option<f64>,
    /// Prescriptions attached to ROIs (ROI number, Gy), from DoseReferenceSequence items
    /// that reference a volume: used as a lesion's own prescription.
    pub roi_prescriptions_gy: Vec<(i32, f64)>,
    /// How structures are sampled (partial volumes; see `radtox-geometry`).
    pub sampling: SamplingOptions,
}

impl SiteContext {
    /// Fractions and prescriptions from an RT Plan.
    pub fn from_plan(plan: &PlanInfo) -> SiteContext {
        SiteContext {
            fractions: plan.fractions,
            prescription_gy: plan.prescription_gy(),
            roi_prescriptions_gy: plan
                .prescriptions
                .iter()
                .filter_map(|p| Some((p.roi_number?, p.dose_gy?)))
                .filter(|(_, d)| d.is_finite() && *d > 0.0)
                .collect(),
            sampling: SamplingOptions::default(),
        }
    }

    /// A valid plan prescription (finite, positive).
    pub(crate) fn rx(&self) -> Option<f64> {
        self.prescription_gy.filter(|d| d.is_finite() && *d > 0.0)
    }
}

/// The first non-empty structure whose name (TG-263 or own) equals one of `names`,
/// case-insensitively, trying the names in order.
pub(crate) fn find_exact<'a>(
    structures: &'a [NamedStructure],
    names: &[&str],
) -> Option<&'a NamedStructure> {
    names.iter().find_map(|n| {
        structures
            .iter()
            .find(|s| !s.0.is_empty() && site_name(s).eq_ignore_ascii_case(n))
    })
}

/// Case-insensitive prefix test.
pub(crate) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.get(..prefix.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// A structure's DVH and the facts around it.
#[derive(Debug, Clone)]
pub(crate) struct Sampled {
    pub dvh: Dvh,
    /// Contour (slab-model) volume, cc.
    pub volume_cc: f64,
    pub warnings: Vec<String>,
}

pub(crate) fn sample(structure: &Structure, grid: &DoseGrid, ctx: &SiteContext) -> Sampled {
    let s = sample_structure(structure, grid, &ctx.sampling);
    Sampled {
        dvh: Dvh::from_cells(&s.dose_gy, &s.spread_gy, &s.weight_cc),
        volume_cc: s.volume_cc,
        warnings: s.warnings,
    }
}

pub(crate) fn sample_occupancy(occ: &Occupancy, grid: &DoseGrid) -> Sampled {
    let s = sample_dose(occ, grid);
    Sampled {
        dvh: Dvh::from_cells(&s.dose_gy, &s.spread_gy, &s.weight_cc),
        volume_cc: s.volume_cc,
        warnings: s.warnings,
    }
}

/// Rasterise `structures` on one lattice (empty vector when none encloses area).
pub(crate) fn common_occupancies(
    site: &'static str,
    structures: &[&Structure],
    grid: &DoseGrid,
    ctx: &SiteContext,
) -> Result<Vec<Occupancy>, SiteError> {
    let what = || {
        structures
            .iter()
            .map(|s| format!("'{}'", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Their unions and differences are made on the lattice: its finer size.
    rasterize_common(structures, grid, &ctx.sampling.for_lattice_operations())
        .map(|o| o.unwrap_or_default())
        .map_err(|e| SiteError::geometry(site, what(), e))
}

/// Union of occupancies on one lattice (`None` for none).
pub(crate) fn union_all(
    site: &'static str,
    occs: &[Occupancy],
    name: &str,
) -> Result<Option<Occupancy>, SiteError> {
    let mut it = occs.iter();
    let Some(first) = it.next() else {
        return Ok(None);
    };
    let mut u = first.clone();
    for o in it {
        u = u
            .union(o)
            .map_err(|e| SiteError::geometry(site, name.to_string(), e))?;
    }
    u.name = name.to_string();
    u.roi_number = None;
    u.contour_volume_cc = None;
    Ok(Some(u))
}

/// Finite value or JSON null (NaN metrics of empty structures must not break JSON).
pub(crate) fn num(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// `num` of an optional value.
pub(crate) fn opt(v: Option<f64>) -> serde_json::Value {
    v.map(num).unwrap_or(serde_json::Value::Null)
}

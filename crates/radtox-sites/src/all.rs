//! Every site analysis in one call, for the pipeline.

use crate::brain::{BrainAnalysis, BrainOptions, analyse_brain, select_external};
use crate::common::{NamedStructure, SiteContext};
use crate::error::SiteError;
use crate::heart::{HeartAnalysis, analyse_heart};
use crate::marrow::{CtBoneOptions, MarrowAnalysis, analyse_marrow, analyse_marrow_ct};
use crate::thorax::{Laterality, LungAnalysis, SkinBand, analyse_lung, analyse_skin_band};
use radtox_model::DoseGrid;
use radtox_report::SiteTable;
use serde::Serialize;

/// Options of [`analyse_sites`].
#[derive(Debug, Clone, PartialEq)]
pub struct SiteOptions {
    pub brain: BrainOptions,
    /// Side of the treated breast, for the ipsilateral lung.
    pub laterality: Option<Laterality>,
    /// Depth of the skin band (mm); `None` skips the skin band.
    pub skin_band_mm: Option<f64>,
    pub ct_bone: CtBoneOptions,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            brain: BrainOptions::default(),
            laterality: None,
            skin_band_mm: Some(5.0),
            ct_bone: CtBoneOptions::default(),
        }
    }
}

/// Results of every analysis whose structures are present.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SiteResults {
    pub brain: Option<BrainAnalysis>,
    pub heart: Option<HeartAnalysis>,
    pub marrow: Option<MarrowAnalysis>,
    pub lung: Option<LungAnalysis>,
    pub skin: Option<SkinBand>,
}

/// Run every site analysis whose structures are present: brain lesions, heart,
/// marrow, lung, skin band.
///
/// * Brain runs when targets are contoured **and** a brain structure exists (so breast
///   boost volumes are not taken for brain lesions); call [`analyse_brain`] directly
///   to analyse targets without a brain contour.
/// * Marrow uses contoured bones, else the CT surrogate when `ct` (a HU volume in the
///   [`DoseGrid`] layout) is given, inside the External.
/// * The skin band runs when an External exists and [`SiteOptions::skin_band_mm`] is set.
pub fn analyse_sites(
    grid: &DoseGrid,
    structures: &[NamedStructure],
    ctx: &SiteContext,
    opts: &SiteOptions,
    ct: Option<&DoseGrid>,
) -> Result<SiteResults, SiteError> {
    let has_brain = crate::brain::select_brain(structures).is_some();
    let brain = if has_brain {
        analyse_brain(grid, structures, ctx, &opts.brain)?
    } else {
        None
    };
    let heart = analyse_heart(grid, structures, ctx);
    let marrow = match (analyse_marrow(grid, structures, ctx)?, ct) {
        (Some(m), _) => Some(m),
        (None, Some(ct)) => Some(analyse_marrow_ct(
            grid,
            ct,
            select_external(structures),
            ctx,
            &opts.ct_bone,
        )?),
        (None, None) => None,
    };
    let lung = analyse_lung(grid, structures, ctx, opts.laterality)?;
    let skin = match opts.skin_band_mm {
        Some(mm) => analyse_skin_band(grid, structures, ctx, mm)?,
        None => None,
    };
    Ok(SiteResults {
        brain,
        heart,
        marrow,
        lung,
        skin,
    })
}

impl SiteResults {
    /// All site tables, in the order brain_lesions, brain, heart, marrow, lung, skin.
    pub fn to_site_tables(&self) -> Vec<SiteTable> {
        let mut t = Vec::new();
        if let Some(b) = &self.brain {
            t.extend(b.to_site_tables());
        }
        t.extend(self.heart.as_ref().map(HeartAnalysis::to_site_table));
        t.extend(self.marrow.as_ref().map(MarrowAnalysis::to_site_table));
        t.extend(self.lung.as_ref().map(LungAnalysis::to_site_table));
        t.extend(self.skin.as_ref().map(SkinBand::to_site_table));
        t
    }

    /// Every warning of every analysis (ROI and plane named by the geometry).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(b) = &self.brain {
            w.extend(b.warnings.iter().cloned());
        }
        if let Some(h) = &self.heart {
            w.extend(h.warnings.iter().cloned());
        }
        if let Some(m) = &self.marrow {
            w.extend(m.warnings.iter().cloned());
        }
        if let Some(l) = &self.lung {
            w.extend(l.warnings.iter().cloned());
        }
        if let Some(s) = &self.skin {
            w.extend(s.warnings.iter().cloned());
        }
        w
    }
}

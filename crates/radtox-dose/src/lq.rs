//! Linear-quadratic conversions: BED and EQD2, with the LQ-L (linear-quadratic-linear)
//! extension for large doses per fraction.

use crate::{Domain, Dvh};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Below this many samples the conversion runs on one thread (rayon's split cost
/// exceeds the work).
const PARALLEL_MIN: usize = 64 * 1024;

/// Cell-survival model behind the BED.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum LqModel {
    /// Linear-quadratic: BED = n·d·(1 + d/(α/β)) at every dose per fraction d.
    Lq,
    /// LQ-L (Astrahan 2008): LQ up to the transition dose per fraction d_T, linear
    /// beyond with the LQ slope at d_T:
    /// BED = n·[d·(1 + 2·d_T/(α/β)) − d_T²/(α/β)] for d > d_T (continuous at d_T).
    Lql {
        transition_dose_per_fraction_gy: f64,
    },
}

/// Invalid LQ parameters or doses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LqError {
    #[error("number of fractions must be at least 1 (got 0)")]
    ZeroFractions,
    #[error("α/β must be a positive finite number of Gy (got {0})")]
    BadAlphaBeta(f64),
    #[error("LQ-L transition dose per fraction must be a positive finite number of Gy (got {0})")]
    BadTransitionDose(f64),
    #[error("total dose must be a finite non-negative number of Gy (got {0})")]
    BadDose(f64),
    #[error("cannot convert a {0} DVH: LQ conversions start from physical dose")]
    NotPhysical(Domain),
}

/// Validated fractionation and tissue parameters for BED/EQD2 conversion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LqParams {
    fractions: u32,
    alpha_beta_gy: f64,
    model: LqModel,
}

impl LqParams {
    /// Checks: at least one fraction, α/β > 0, LQ-L transition dose > 0 (all finite).
    pub fn new(fractions: u32, alpha_beta_gy: f64, model: LqModel) -> Result<LqParams, LqError> {
        if fractions == 0 {
            return Err(LqError::ZeroFractions);
        }
        if !(alpha_beta_gy.is_finite() && alpha_beta_gy > 0.0) {
            return Err(LqError::BadAlphaBeta(alpha_beta_gy));
        }
        if let LqModel::Lql {
            transition_dose_per_fraction_gy: t,
        } = model
            && !(t.is_finite() && t > 0.0)
        {
            return Err(LqError::BadTransitionDose(t));
        }
        Ok(LqParams {
            fractions,
            alpha_beta_gy,
            model,
        })
    }

    pub fn fractions(&self) -> u32 {
        self.fractions
    }

    pub fn alpha_beta_gy(&self) -> f64 {
        self.alpha_beta_gy
    }

    pub fn model(&self) -> LqModel {
        self.model
    }

    /// BED (Gy) of a total dose delivered in equal fractions. Negative doses (not
    /// physical) are treated as 0 so the conversion stays non-decreasing; NaN stays NaN.
    pub fn bed(&self, total_dose_gy: f64) -> f64 {
        let n = self.fractions as f64;
        let ab = self.alpha_beta_gy;
        let total = if total_dose_gy < 0.0 {
            0.0
        } else {
            total_dose_gy
        };
        let d = total / n;
        match self.model {
            LqModel::Lql {
                transition_dose_per_fraction_gy: dt,
            } if d > dt => n * (d * (1.0 + 2.0 * dt / ab) - dt * dt / ab),
            _ => n * d * (1.0 + d / ab),
        }
    }

    /// EQD2 (Gy): BED / (1 + 2/(α/β)), the dose in 2 Gy fractions with the same BED.
    pub fn eqd2(&self, total_dose_gy: f64) -> f64 {
        self.bed(total_dose_gy) / (1.0 + 2.0 / self.alpha_beta_gy)
    }

    /// The total dose expressed in `domain` (identity for physical).
    pub fn convert(&self, total_dose_gy: f64, domain: Domain) -> f64 {
        match domain {
            Domain::Physical => total_dose_gy,
            Domain::Eqd2 => self.eqd2(total_dose_gy),
            Domain::Bed => self.bed(total_dose_gy),
        }
    }

    /// Sample-wise conversion (each sample's own dose per fraction; parallel for large
    /// inputs).
    pub fn convert_samples(&self, dose: &[f32], domain: Domain) -> Vec<f32> {
        let f = |&d: &f32| self.convert(d as f64, domain) as f32;
        if dose.len() >= PARALLEL_MIN {
            dose.par_iter().map(f).collect()
        } else {
            dose.iter().map(f).collect()
        }
    }

    /// The DVH in `domain`. The conversion is non-decreasing in dose, so the sorted
    /// samples stay sorted and no re-sort is needed; mean/min/max are recomputed from the
    /// converted samples (the EQD2 mean is not the EQD2 of the mean).
    pub fn convert_dvh(&self, dvh: &Dvh, domain: Domain) -> Result<Dvh, LqError> {
        if dvh.domain() != Domain::Physical {
            return Err(LqError::NotPhysical(dvh.domain()));
        }
        Ok(dvh.map_monotone(|d| self.convert(d as f64, domain) as f32, domain))
    }
}

fn check_total(total_dose_gy: f64) -> Result<(), LqError> {
    if total_dose_gy.is_finite() && total_dose_gy >= 0.0 {
        Ok(())
    } else {
        Err(LqError::BadDose(total_dose_gy))
    }
}

/// Biologically effective dose of `total_dose_gy` in `fractions` equal fractions.
pub fn bed(
    total_dose_gy: f64,
    fractions: u32,
    alpha_beta: f64,
    model: LqModel,
) -> Result<f64, LqError> {
    check_total(total_dose_gy)?;
    Ok(LqParams::new(fractions, alpha_beta, model)?.bed(total_dose_gy))
}

/// Equivalent dose in 2 Gy fractions of `total_dose_gy` in `fractions` equal fractions.
pub fn eqd2(
    total_dose_gy: f64,
    fractions: u32,
    alpha_beta: f64,
    model: LqModel,
) -> Result<f64, LqError> {
    check_total(total_dose_gy)?;
    Ok(LqParams::new(fractions, alpha_beta, model)?.eqd2(total_dose_gy))
}

/// Converts per-sample total physical doses to `domain`, each with its own dose per
/// fraction (never via a mean). Parallel for large inputs.
pub fn to_domain(
    samples_dose: &[f32],
    fractions: u32,
    alpha_beta: f64,
    model: LqModel,
    domain: Domain,
) -> Result<Vec<f32>, LqError> {
    Ok(LqParams::new(fractions, alpha_beta, model)?.convert_samples(samples_dose, domain))
}

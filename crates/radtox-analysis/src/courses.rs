//! Several treatment courses with different fractionation (`--course FILE:FRACTIONS`).
//!
//! Physical doses of courses with different fractionation do not add biologically. Each
//! course's RT Dose is converted to EQD2 (or BED) **voxel by voxel with its own number
//! of fractions** on its own grid, resampled trilinearly onto the first course's grid
//! (voxels outside a course's grid receive 0 from it) and summed. EQD2 metrics are then
//! read from that summed grid, sampled exactly like the physical dose. The physical sum
//! on the first course's grid is kept for the physical metrics (a plain plan sum).
//! All courses must share the structure set's frame of reference.

use crate::AnalysisError;
use radtox_dose::{Domain, LqModel, LqParams};
use radtox_model::DoseGrid;
use std::path::PathBuf;

/// One course: its RT Dose and its number of fractions.
#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    pub rtdose: PathBuf,
    pub fractions: u32,
}

impl Course {
    /// Parse `FILE:FRACTIONS` (the last `:` separates, so paths may contain `:`).
    pub fn parse(arg: &str) -> Result<Course, AnalysisError> {
        let bad = |reason: &str| AnalysisError::BadCourse {
            arg: arg.to_string(),
            reason: reason.to_string(),
        };
        let (file, n) = arg
            .rsplit_once(':')
            .ok_or_else(|| bad("expected DOSE_FILE:FRACTIONS, e.g. rtdose1.dcm:5"))?;
        let fractions: u32 = n
            .trim()
            .parse()
            .map_err(|_| bad("the number of fractions after ':' is not a whole number"))?;
        if fractions == 0 {
            return Err(bad("a course has at least 1 fraction"));
        }
        if file.is_empty() {
            return Err(bad("the dose file before ':' is empty"));
        }
        Ok(Course {
            rtdose: PathBuf::from(file),
            fractions,
        })
    }
}

/// The courses as read: each physical grid with its fractions.
#[derive(Debug, Clone)]
pub(crate) struct CourseDoses {
    pub grids: Vec<(DoseGrid, u32)>,
}

impl CourseDoses {
    /// The sum over courses of `domain` dose (EQD2 or BED at `alpha_beta_gy`), each
    /// course converted voxel-wise with its own fractions, on the first course's grid.
    pub fn summed(
        &self,
        alpha_beta_gy: f64,
        model: LqModel,
        domain: Domain,
    ) -> Result<DoseGrid, radtox_dose::LqError> {
        let mut iter = self.grids.iter();
        let Some((first, n0)) = iter.next() else {
            return Err(radtox_dose::LqError::ZeroFractions);
        };
        let convert = |g: &DoseGrid, n: u32| -> Result<DoseGrid, radtox_dose::LqError> {
            let p = LqParams::new(n, alpha_beta_gy, model)?;
            let mut out = g.clone();
            out.dose
                .mapv_inplace(|d| p.convert(f64::from(d.max(0.0)), domain) as f32);
            Ok(out)
        };
        let mut sum = convert(first, *n0)?;
        for (g, n) in iter {
            let c = convert(g, *n)?;
            let on_first = sum.resample_from(&c);
            sum.dose += &on_first;
        }
        Ok(sum)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(origin: f64, n: usize, dose: f32) -> DoseGrid {
        let axis: Vec<f64> = (0..n).map(|i| origin + 2.0 * i as f64).collect();
        DoseGrid::new(
            axis.clone(),
            axis.clone(),
            axis,
            ndarray::Array3::from_elem((n, n, n), dose),
        )
        .unwrap()
    }

    #[test]
    fn courses_convert_with_their_own_fractions_before_summing() {
        // Course 1: 20 Gy × 1; course 2: 10 Gy in 2 fractions on a grid covering only
        // part of course 1's. α/β = 3 Gy: EQD2 = D (d + 3)/5 → 92 Gy and 16 Gy.
        let c = CourseDoses {
            grids: vec![(uniform(0.0, 11, 20.0), 1), (uniform(9.0, 6, 10.0), 2)],
        };
        let s = c.summed(3.0, LqModel::Lq, Domain::Eqd2).unwrap();
        let inside = s.interpolate([12.0, 12.0, 12.0]).unwrap();
        let outside = s.interpolate([2.0, 2.0, 2.0]).unwrap();
        assert!((f64::from(inside) - 108.0).abs() < 1e-4, "{inside}");
        assert!((f64::from(outside) - 92.0).abs() < 1e-4, "{outside}");
        // BED: 20 (1 + 20/3) + 10 (1 + 5/3).
        let b = c.summed(3.0, LqModel::Lq, Domain::Bed).unwrap();
        let v = f64::from(b.interpolate([12.0, 12.0, 12.0]).unwrap());
        assert!((v - (20.0 * (1.0 + 20.0 / 3.0) + 10.0 * (1.0 + 5.0 / 3.0))).abs() < 1e-3);
    }

    #[test]
    fn course_arguments_are_checked() {
        let c = Course::parse("C:/plans/dose.dcm:5").unwrap();
        assert_eq!(c.rtdose, PathBuf::from("C:/plans/dose.dcm"));
        assert_eq!(c.fractions, 5);
        for bad in ["dose.dcm", "dose.dcm:0", "dose.dcm:x", ":3"] {
            assert!(Course::parse(bad).is_err(), "{bad}");
        }
    }
}

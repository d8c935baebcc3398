//! Check of our DVH against the planning system's own (RT Dose DVH Sequence).

use crate::{Domain, Dvh, MetricError, is_positive};
use radtox_model::{TpsDvh, TpsDvhType, TpsVolumeUnits};
use serde::{Deserialize, Serialize};

/// How far our DVH of a structure is from the planning system's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TpsDvhCheck {
    pub roi_number: i32,
    /// The TPS structure volume (its cumulative DVH at 0 Gy). When the TPS gave volumes
    /// in percent, its volume is unknown: this is then our volume and
    /// `tps_volume_known` is false.
    pub tps_volume_cc: f64,
    pub tps_volume_known: bool,
    /// (ours − TPS) / TPS × 100; 0 when the TPS volume is unknown.
    pub volume_diff_percent: f64,
    /// TPS mean dose from its differential DVH (bin centres).
    pub tps_mean_gy: f64,
    /// (ours − TPS) / TPS × 100.
    pub mean_diff_percent: f64,
    /// Largest |ours − TPS| between the two cumulative DVHs, each normalised to its own
    /// structure volume, at the TPS bin edges, in percentage points of volume.
    pub max_cumulative_deviation_percent: f64,
    /// The bin edge where that largest deviation occurs.
    pub dose_at_max_deviation_gy: f64,
}

/// Compares a structure's DVH with the planning system's DVH of the same ROI.
///
/// The TPS DVH (cumulative or differential, volumes in cm³ or percent) has bins of the
/// given widths starting at 0 Gy. Both curves are compared as fractions of their own
/// volume so that a volume difference (reported separately) does not mask or mimic a
/// dose difference.
pub fn compare_with_tps(dvh: &Dvh, tps: &TpsDvh) -> Result<TpsDvhCheck, MetricError> {
    let fail = |problem: String| MetricError::TpsDvh {
        roi_number: tps.roi_number,
        problem,
    };
    if dvh.domain() != Domain::Physical {
        return Err(fail(format!(
            "our DVH holds {} dose; the TPS DVH is physical",
            dvh.domain()
        )));
    }
    let ours_cc = dvh.volume_cc();
    if !is_positive(ours_cc) {
        return Err(fail("our structure has no volume".into()));
    }
    if tps.volume_units == TpsVolumeUnits::PerU {
        return Err(fail("volume units PER_U are not supported".into()));
    }
    let (w, v) = (&tps.bin_widths_gy, &tps.volumes);
    if w.len() != v.len() {
        return Err(fail(format!(
            "{} bin widths but {} volumes",
            w.len(),
            v.len()
        )));
    }
    if w.is_empty() {
        return Err(fail("no bins".into()));
    }
    if let Some((i, x)) = w
        .iter()
        .enumerate()
        .find(|(_, x)| !(x.is_finite() && **x > 0.0))
    {
        return Err(fail(format!("bin {i} has width {x} Gy")));
    }
    // Planning systems write rounding noise such as -2.9e-13 cc in empty bins (the
    // dicompyler example does): tolerate negatives within 1e-9 of the largest volume,
    // reject real ones.
    let largest = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if let Some((i, x)) = v
        .iter()
        .enumerate()
        .find(|(_, x)| !(x.is_finite() && **x >= -1e-9 * largest))
    {
        return Err(fail(format!("bin {i} has volume {x}")));
    }
    let clamped: Vec<f64> = v.iter().map(|x| x.max(0.0)).collect();
    let v = &clamped;
    // Lower edges of the bins, from 0 Gy.
    let edges: Vec<f64> = w
        .iter()
        .scan(0.0, |acc, &width| {
            let e = *acc;
            *acc += width;
            Some(e)
        })
        .collect();
    let (cumulative, differential): (Vec<f64>, Vec<f64>) = match tps.dvh_type {
        TpsDvhType::Cumulative => {
            let diff = v
                .iter()
                .zip(v.iter().skip(1).chain(std::iter::once(&0.0)))
                .map(|(a, b)| a - b)
                .collect();
            (v.clone(), diff)
        }
        TpsDvhType::Differential => {
            let mut cum = v.clone();
            let mut acc = 0.0;
            for c in cum.iter_mut().rev() {
                acc += *c;
                *c = acc;
            }
            (cum, v.clone())
        }
        TpsDvhType::Natural => return Err(fail("NATURAL DVHs are not supported".into())),
    };
    let tps_total = cumulative.first().copied().unwrap_or(0.0);
    if !is_positive(tps_total) {
        return Err(fail("the TPS DVH has no volume".into()));
    }
    let tps_mean_gy = differential
        .iter()
        .zip(edges.iter().zip(w))
        .map(|(dv, (e, width))| dv * (e + 0.5 * width))
        .sum::<f64>()
        / differential.iter().sum::<f64>();
    if !is_positive(tps_mean_gy) {
        return Err(fail(format!("the TPS mean dose is {tps_mean_gy} Gy")));
    }
    let (tps_volume_cc, tps_volume_known) = match tps.volume_units {
        TpsVolumeUnits::Cm3 => (tps_total, true),
        _ => (ours_cc, false),
    };
    let mut max_dev = 0.0;
    let mut at = 0.0;
    for (&e, &c) in edges.iter().zip(&cumulative) {
        let dev = 100.0 * (dvh.volume_at_dose_cc(e) / ours_cc - c / tps_total);
        if dev.abs() > max_dev {
            max_dev = dev.abs();
            at = e;
        }
    }
    Ok(TpsDvhCheck {
        roi_number: tps.roi_number,
        tps_volume_cc,
        tps_volume_known,
        volume_diff_percent: if tps_volume_known {
            100.0 * (ours_cc - tps_volume_cc) / tps_volume_cc
        } else {
            0.0
        },
        tps_mean_gy,
        mean_diff_percent: 100.0 * (dvh.mean() - tps_mean_gy) / tps_mean_gy,
        max_cumulative_deviation_percent: max_dev,
        dose_at_max_deviation_gy: at,
    })
}

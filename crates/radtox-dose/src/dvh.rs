//! The exact DVH of a structure: its weighted dose samples sorted hottest first.

use crate::Domain;
use crate::sort::{pack_and_sort, unpack};
use serde::{Deserialize, Serialize};

/// Largest number of bins [`Dvh::cumulative`] and [`Dvh::differential`] produce; a finer
/// requested width is widened to respect it (a DVH is a summary, not a memory bomb).
pub const MAX_BINS: usize = 1_000_000;

/// Why samples or a binning request were refused by the strict constructors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DvhError {
    #[error("{doses} dose samples but {weights} weights")]
    LengthMismatch { doses: usize, weights: usize },
    #[error("sample {index}: dose {dose} is not finite")]
    NonFiniteDose { index: usize, dose: f32 },
    #[error("sample {index}: weight {weight} cc is not a finite non-negative number")]
    BadWeight { index: usize, weight: f32 },
    #[error("bin width {width} Gy is not a positive finite number")]
    BadBinWidth { width: f64 },
    #[error("bin width {width} Gy would need {bins} bins (limit {MAX_BINS})")]
    TooManyBins { width: f64, bins: f64 },
}

/// Dose–volume histogram of one structure.
///
/// Built from weighted samples (dose in Gy or in the [`Domain`] of the DVH, weight in cc,
/// e.g. partial-volume fractions × voxel volume), either as points
/// ([`Dvh::from_samples`]: kept sorted by dose with their cumulative volume, nothing
/// binned) or as cells whose dose spreads over `d ± r` ([`Dvh::from_cells`]: the exact
/// piecewise-linear curve of the spreads at 32 768 dose edges). Every metric is read
/// from the curve (see the crate documentation for the interpolation rule).
#[derive(Debug, Clone, PartialEq)]
pub struct Dvh {
    /// Knot doses, descending: the sample doses (points) or edge doses (cells).
    dose: Vec<f32>,
    /// The volumes that place the knots on the curve.
    volume: Knots,
    /// Volume-weighted mean dose (NaN when empty).
    mean: f64,
    domain: Domain,
    samples: usize,
    rejected: usize,
    /// Lowest and highest sample dose (cell DVHs: at the cells' centres; their curve
    /// reaches a little beyond, by the spread of the end cells).
    extremes: (f64, f64),
}

/// How knot `i` sits on the cumulative curve.
#[derive(Debug, Clone, PartialEq)]
enum Knots {
    /// `cum_cc[i]` = volume of samples `0..=i` (the hottest `i + 1`); sample `i` sits at
    /// the middle of its interval, `cum_cc[i] − wᵢ/2`.
    Points { cum_cc: Vec<f64> },
    /// `at_cc[i]` = volume receiving at least `dose[i]`; `total_cc` the whole volume.
    Cells { at_cc: Vec<f64>, total_cc: f64 },
}

/// Cumulative DVH on regular dose bins: `volume_cc[k]` = volume receiving at least
/// `dose_gy[k]`, with `dose_gy[k] = k × bin_width_gy` from 0 to the first edge above the
/// maximum dose (where the volume is 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CumulativeDvh {
    pub bin_width_gy: f64,
    pub dose_gy: Vec<f64>,
    pub volume_cc: Vec<f64>,
}

/// Differential DVH: `volume_cc[k]` = volume with dose in
/// `[k × bin_width_gy, (k + 1) × bin_width_gy)`, reported at the bin centre `dose_gy[k]`.
/// The volumes are differences of the cumulative DVH, so they sum to the volume with
/// dose ≥ 0 (the whole structure unless it has negative doses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DifferentialDvh {
    pub bin_width_gy: f64,
    pub dose_gy: Vec<f64>,
    pub volume_cc: Vec<f64>,
}

impl Dvh {
    /// DVH of physical-dose samples. Tolerant: pairs whose dose is not finite or whose
    /// weight is not finite and positive are left out and counted in
    /// [`Dvh::rejected_samples`]; extra elements of the longer slice are ignored (and
    /// counted). Use [`Dvh::try_from_samples`] to refuse such input instead.
    pub fn from_samples(dose: &[f32], weight_cc: &[f32]) -> Dvh {
        Self::from_samples_in(dose, weight_cc, Domain::Physical)
    }

    /// As [`Dvh::from_samples`], for samples already converted to `domain` (e.g. by
    /// [`crate::to_domain`]).
    pub fn from_samples_in(dose: &[f32], weight_cc: &[f32], domain: Domain) -> Dvh {
        let unmatched = dose.len().abs_diff(weight_cc.len());
        // Zero-weight samples are dropped: they carry no volume, and dropping them keeps
        // the sample midpoints strictly increasing, which the interpolation relies on.
        let (pairs, rejected) = pack_and_sort(dose, weight_cc);
        let sorted_dose: Vec<f32> = pairs.iter().map(|&p| unpack(p).0).collect();
        // The running volume overwrites each pair's slot in place (then reinterpreted as
        // f64 below): the sort buffer becomes `cum_cc` without new memory.
        let mut pairs = pairs;
        let mut total = 0.0f64;
        let mut dose_volume = 0.0f64;
        for (p, &d) in pairs.iter_mut().zip(&sorted_dose) {
            let w = unpack(*p).1 as f64;
            total += w;
            dose_volume += d as f64 * w;
            *p = total.to_bits();
        }
        // Same element size: std collects this map in place (no allocation, no copy).
        let cum_cc: Vec<f64> = pairs.into_iter().map(f64::from_bits).collect();
        Dvh {
            samples: sorted_dose.len(),
            extremes: point_extremes(&sorted_dose),
            dose: sorted_dose,
            volume: Knots::Points { cum_cc },
            mean: if total > 0.0 {
                dose_volume / total
            } else {
                f64::NAN
            },
            domain,
            rejected: rejected + unmatched,
        }
    }

    /// DVH of *cell* samples: sample `i` stands for `weight_cc[i]` of volume whose dose
    /// is spread uniformly over `dose[i] ± spread[i]` (the dose's variation across the
    /// sampling cell, from `radtox-geometry`). A linear dose across a lattice of cells
    /// then gives the exact linear DVH instead of a staircase of cell layers, so far
    /// fewer samples reach a given accuracy; see the crate documentation. Samples with a
    /// non-finite dose or a weight that is not finite and positive are left out and
    /// counted; a missing, negative or non-finite spread counts as 0.
    pub fn from_cells(dose: &[f32], spread: &[f32], weight_cc: &[f32]) -> Dvh {
        Self::from_cells_in(dose, spread, weight_cc, Domain::Physical)
    }

    /// As [`Dvh::from_cells`], for samples (and spreads) already in `domain`.
    pub fn from_cells_in(dose: &[f32], spread: &[f32], weight_cc: &[f32], domain: Domain) -> Dvh {
        Self::from_curve(crate::cells::cell_curve(dose, spread, weight_cc), domain)
    }

    /// The DVH of cell samples accumulated while sampling (no samples held), in
    /// `domain`; same curve as [`Dvh::from_cells`] over the histogram's dose range.
    pub fn from_cell_histogram(h: crate::CellHistogram, domain: Domain) -> Dvh {
        Self::from_curve(h.curve(), domain)
    }

    fn from_curve(c: crate::cells::CellCurve, domain: Domain) -> Dvh {
        Dvh {
            dose: c.dose,
            volume: Knots::Cells {
                at_cc: c.at_cc,
                total_cc: c.total_cc,
            },
            mean: c.mean,
            domain,
            samples: c.samples,
            rejected: c.rejected,
            extremes: (c.point_min, c.point_max),
        }
    }

    /// Strict version of [`Dvh::from_samples`]: any non-finite dose, negative or
    /// non-finite weight, or length mismatch is an error naming the sample. Zero weights
    /// are accepted (a voxel outside the contour) and carry no volume.
    pub fn try_from_samples(dose: &[f32], weight_cc: &[f32]) -> Result<Dvh, DvhError> {
        if dose.len() != weight_cc.len() {
            return Err(DvhError::LengthMismatch {
                doses: dose.len(),
                weights: weight_cc.len(),
            });
        }
        for (index, (&d, &w)) in dose.iter().zip(weight_cc).enumerate() {
            if !d.is_finite() {
                return Err(DvhError::NonFiniteDose { index, dose: d });
            }
            if !(w.is_finite() && w >= 0.0) {
                return Err(DvhError::BadWeight { index, weight: w });
            }
        }
        Ok(Self::from_samples(dose, weight_cc))
    }

    /// Builds a point DVH from doses already sorted descending and their weights.
    fn from_sorted(
        dose: Vec<f32>,
        weight: impl Iterator<Item = f64>,
        domain: Domain,
        rejected: usize,
    ) -> Dvh {
        let mut cum_cc = Vec::with_capacity(dose.len());
        let mut total = 0.0f64;
        let mut dose_volume = 0.0f64;
        for (&d, w) in dose.iter().zip(weight) {
            total += w;
            dose_volume += d as f64 * w;
            cum_cc.push(total);
        }
        let mean = if total > 0.0 {
            dose_volume / total
        } else {
            f64::NAN
        };
        Dvh {
            samples: dose.len(),
            extremes: point_extremes(&dose),
            dose,
            volume: Knots::Points { cum_cc },
            mean,
            domain,
            rejected,
        }
    }

    /// Value domain of the doses held (physical unless built from converted samples).
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// Number of input samples left out by [`Dvh::from_samples`] (non-finite dose, bad
    /// weight, unmatched length).
    pub fn rejected_samples(&self) -> usize {
        self.rejected
    }

    /// Number of samples (with positive weight) in the DVH.
    pub fn sample_count(&self) -> usize {
        self.samples
    }

    /// True when the DVH holds no volume.
    pub fn is_empty(&self) -> bool {
        self.dose.is_empty()
    }

    /// Knot doses of the curve, hottest first: the sample doses of a point DVH, the
    /// dose edges where the curve bends for a cell DVH.
    pub fn sorted_doses(&self) -> &[f32] {
        &self.dose
    }

    /// Total volume of the samples, cc.
    pub fn volume_cc(&self) -> f64 {
        match &self.volume {
            Knots::Points { cum_cc } => cum_cc.last().copied().unwrap_or(0.0),
            Knots::Cells { total_cc, .. } => *total_cc,
        }
    }

    /// Volume-weighted mean dose; NaN for an empty DVH.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Lowest sample dose (for cells: at a cell's centre); NaN for an empty DVH.
    pub fn min(&self) -> f64 {
        if self.dose.is_empty() {
            f64::NAN
        } else {
            self.extremes.0
        }
    }

    /// Highest sample dose (for cells: at a cell's centre, so that a cell half outside
    /// the structure does not lend it the dose of its far side); NaN for an empty DVH.
    pub fn max(&self) -> f64 {
        if self.dose.is_empty() {
            f64::NAN
        } else {
            self.extremes.1
        }
    }

    /// Cumulative volume at knot `i`: where its dose sits on the continuous DVH curve
    /// (for point samples the middle of the sample's volume interval).
    #[inline]
    fn at(&self, i: usize) -> f64 {
        match &self.volume {
            Knots::Points { cum_cc } => {
                let hi = cum_cc.get(i).copied().unwrap_or(0.0);
                let lo = if i == 0 {
                    0.0
                } else {
                    cum_cc.get(i - 1).copied().unwrap_or(0.0)
                };
                0.5 * (hi + lo)
            }
            Knots::Cells { at_cc, .. } => at_cc.get(i).copied().unwrap_or(0.0),
        }
    }

    /// First knot whose curve volume is at least `v`.
    fn first_at_least(&self, v: f64) -> usize {
        match &self.volume {
            // Midpoints increase with the cumulative volumes: search those, then step
            // on if the midpoint of the one found is still below v.
            Knots::Points { cum_cc } => {
                let k = cum_cc.partition_point(|&c| c < v);
                // at(k - 1) < cum[k - 1] < v, and at(k) ≤ cum[k].
                if self.at(k) >= v { k } else { k + 1 }
            }
            Knots::Cells { at_cc, .. } => at_cc.partition_point(|&c| c < v),
        }
    }

    #[inline]
    fn dose_f64(&self, i: usize) -> f64 {
        self.dose.get(i).map_or(f64::NAN, |&d| d as f64)
    }

    /// D_v: the minimum dose received by the hottest `v_cc` of the structure.
    ///
    /// Linear interpolation between sample midpoints (crate doc). `v_cc` ≤ half the
    /// hottest sample gives the maximum dose; `v_cc` beyond the volume is clamped to the
    /// minimum dose (the metric is undefined there: [`crate::evaluate`] reports
    /// [`crate::MetricError::VolumeExceedsStructure`] instead). NaN for an empty DVH or
    /// a NaN volume.
    pub fn dose_at_volume_cc(&self, v_cc: f64) -> f64 {
        let n = self.dose.len();
        if n == 0 || v_cc.is_nan() {
            return f64::NAN;
        }
        if v_cc <= self.at(0) {
            return self.max();
        }
        if v_cc >= self.at(n - 1) {
            return self.min();
        }
        // 0 < k < n: at(0) < v < at(n-1).
        let k = self.first_at_least(v_cc).clamp(1, n - 1);
        let i = k - 1;
        let (m0, m1) = (self.at(i), self.at(k));
        let (d0, d1) = (self.dose_f64(i), self.dose_f64(k));
        let d = if m1 <= m0 {
            d0
        } else {
            d0 + (v_cc - m0) / (m1 - m0) * (d1 - d0)
        };
        // A cell curve runs a little beyond the sample extremes (the end cells'
        // spreads): D stays within [Min, Max].
        d.max(self.min()).min(self.max())
    }

    /// D_x%: [`Dvh::dose_at_volume_cc`] at `pct` % of the structure volume.
    pub fn dose_at_volume_percent(&self, pct: f64) -> f64 {
        self.dose_at_volume_cc(pct / 100.0 * self.volume_cc())
    }

    /// D_C,v: the maximum dose received by the coldest `v_cc` of the structure
    /// (= D at volume − v); same interpolation and clamping as `dose_at_volume_cc`.
    pub fn dose_to_coldest_volume_cc(&self, v_cc: f64) -> f64 {
        self.dose_at_volume_cc(self.volume_cc() - v_cc)
    }

    /// V_d: volume (cc) receiving at least `d`. The exact inverse of
    /// [`Dvh::dose_at_volume_cc`]: the largest v with D_v ≥ d. 0 above the maximum, the
    /// whole volume at or below the minimum; NaN for a NaN dose.
    pub fn volume_at_dose_cc(&self, d: f64) -> f64 {
        let n = self.dose.len();
        if d.is_nan() {
            return f64::NAN;
        }
        if n == 0 || d > self.max() {
            return 0.0;
        }
        if d <= self.min() {
            return self.volume_cc();
        }
        self.volume_between_knots(d, self.dose.partition_point(|&x| x as f64 >= d))
    }

    /// V_d for a dose `d` strictly between the lowest and highest knots, given
    /// `at_least`, the number of knots (doses descending) with dose ≥ `d`.
    fn volume_between_knots(&self, d: f64, at_least: usize) -> f64 {
        // Samples 0..=j have dose >= d > dose[j+1] (j + 1 < n because d > min).
        let j = at_least.saturating_sub(1);
        let (d0, d1) = (self.dose_f64(j), self.dose_f64(j + 1));
        let (m0, m1) = (self.at(j), self.at(j + 1));
        if d0 <= d1 {
            return m0;
        }
        m0 + (d0 - d) / (d0 - d1) * (m1 - m0)
    }

    /// V_d as % of the structure volume (NaN when empty).
    pub fn volume_at_dose_percent(&self, d: f64) -> f64 {
        100.0 * self.volume_at_dose_cc(d) / self.volume_cc()
    }

    /// Number of bin edges for `bin_width`, or why not.
    fn edges(&self, bin_width: f64) -> Result<usize, DvhError> {
        if !(bin_width.is_finite() && bin_width > 0.0) {
            return Err(DvhError::BadBinWidth { width: bin_width });
        }
        let max = if self.is_empty() {
            0.0
        } else {
            self.max().max(0.0)
        };
        // Edges 0, w, …, up to the first edge strictly above the maximum (volume 0 there).
        let bins = (max / bin_width).floor() + 1.0;
        if bins > MAX_BINS as f64 {
            return Err(DvhError::TooManyBins {
                width: bin_width,
                bins,
            });
        }
        Ok(bins as usize + 1)
    }

    /// Cumulative DVH sampled at bin edges `k × bin_width` (see [`bin_edge`]), strict version of
    /// [`Dvh::cumulative`].
    pub fn try_cumulative(&self, bin_width: f64) -> Result<CumulativeDvh, DvhError> {
        let edges = self.edges(bin_width)?;
        let dose_gy: Vec<f64> = (0..edges).map(|k| bin_edge(k, bin_width)).collect();
        // V at increasing doses: the knots at or above each dose are counted by walking
        // down from the previous edge's count instead of a binary search per edge.
        let mut at_least = self.dose.len();
        let volume_cc = dose_gy
            .iter()
            .map(|&d| {
                if d.is_nan() || self.is_empty() || d > self.max() || d <= self.min() {
                    return self.volume_at_dose_cc(d);
                }
                while at_least > 0 && self.dose_f64(at_least - 1) < d {
                    at_least -= 1;
                }
                self.volume_between_knots(d, at_least)
            })
            .collect();
        Ok(CumulativeDvh {
            bin_width_gy: bin_width,
            dose_gy,
            volume_cc,
        })
    }

    /// Cumulative DVH, V(D ≥ d) at each bin edge from 0 to the first edge above the
    /// maximum. A width that would give more than [`MAX_BINS`] bins is widened to
    /// `max / MAX_BINS`; a width that is not positive and finite gives an empty curve
    /// (use [`Dvh::try_cumulative`] to get an error instead).
    pub fn cumulative(&self, bin_width: f64) -> CumulativeDvh {
        self.try_cumulative(self.usable_width(bin_width))
            .unwrap_or(CumulativeDvh {
                bin_width_gy: bin_width,
                dose_gy: Vec::new(),
                volume_cc: Vec::new(),
            })
    }

    fn usable_width(&self, bin_width: f64) -> f64 {
        if !(bin_width.is_finite() && bin_width > 0.0) {
            // Left as is so that the strict version reports it (f64::max would
            // silently replace a NaN).
            return bin_width;
        }
        let max = if self.is_empty() {
            0.0
        } else {
            self.max().max(0.0)
        };
        // (MAX_BINS - 2) leaves room for the rounding of floor()+1 in `edges`.
        bin_width.max(max / (MAX_BINS - 2) as f64)
    }

    /// Differential DVH, strict version of [`Dvh::differential`].
    pub fn try_differential(&self, bin_width: f64) -> Result<DifferentialDvh, DvhError> {
        let c = self.try_cumulative(bin_width)?;
        let volume_cc = c.volume_cc.windows(2).map(|w| w[0] - w[1]).collect();
        let dose_gy = c
            .dose_gy
            .iter()
            .skip(1)
            .map(|&upper| upper - 0.5 * bin_width)
            .collect();
        Ok(DifferentialDvh {
            bin_width_gy: bin_width,
            dose_gy,
            volume_cc,
        })
    }

    /// Differential DVH (volume per dose bin, at bin centres); same width rules as
    /// [`Dvh::cumulative`].
    pub fn differential(&self, bin_width: f64) -> DifferentialDvh {
        self.try_differential(self.usable_width(bin_width))
            .unwrap_or(DifferentialDvh {
                bin_width_gy: bin_width,
                dose_gy: Vec::new(),
                volume_cc: Vec::new(),
            })
    }

    /// Doses mapped through a non-decreasing function (so the order is kept and no
    /// re-sort is needed), e.g. the LQ conversion to EQD2/BED. The mean is the mean of
    /// the mapped doses, not the mapped mean: per sample for points; for cells,
    /// integrated over the curve (Simpson on each knot interval, exact for the LQ
    /// quadratic on a linear piece).
    pub(crate) fn map_monotone(&self, f: impl Fn(f32) -> f32, domain: Domain) -> Dvh {
        let dose: Vec<f32> = self.dose.iter().map(|&d| f(d)).collect();
        match &self.volume {
            Knots::Points { cum_cc } => {
                let weights = (0..self.dose.len()).map(|i| {
                    cum_cc.get(i).copied().unwrap_or(0.0) - if i == 0 { 0.0 } else { cum_cc[i - 1] }
                });
                let mut d = Self::from_sorted(dose, weights, domain, self.rejected);
                d.samples = self.samples;
                d
            }
            Knots::Cells { at_cc, total_cc } => {
                let n = self.dose.len();
                let g = |d: f32| f(d) as f64;
                let mut integral = 0.0;
                if n > 0 {
                    // Flat parts at the ends, then each linear piece.
                    integral += at_cc[0] * g(self.dose[0]);
                    integral += (total_cc - at_cc[n - 1]) * g(self.dose[n - 1]);
                }
                for i in 1..n {
                    let dv = at_cc[i] - at_cc[i - 1];
                    if dv > 0.0 {
                        let (a, b) = (self.dose[i - 1], self.dose[i]);
                        integral += dv * (g(a) + 4.0 * g(0.5 * (a + b)) + g(b)) / 6.0;
                    }
                }
                Dvh {
                    dose,
                    volume: self.volume.clone(),
                    mean: if *total_cc > 0.0 {
                        integral / total_cc
                    } else {
                        f64::NAN
                    },
                    domain,
                    samples: self.samples,
                    rejected: self.rejected,
                    extremes: (
                        f64::from(f(self.extremes.0 as f32)),
                        f64::from(f(self.extremes.1 as f32)),
                    ),
                }
            }
        }
    }
}

/// (lowest, highest) of doses sorted descending.
fn point_extremes(sorted_desc: &[f32]) -> (f64, f64) {
    (
        sorted_desc.last().map_or(f64::NAN, |&d| f64::from(d)),
        sorted_desc.first().map_or(f64::NAN, |&d| f64::from(d)),
    )
}

/// Bin edge `k × width`. When `width` is the reciprocal of a whole number (0.01 Gy,
/// 0.1 Gy, 0.5 Gy), `k / n`: the double nearest to the exact edge, which prints as
/// `0.35` rather than `k × 0.01 = 0.35000000000000003`, so that a DVH's dose axis
/// is what it means and its JSON is shorter and faster to write.
pub(crate) fn bin_edge(k: usize, width: f64) -> f64 {
    let n = (1.0 / width).round();
    if n >= 1.0 && (1.0 / n - width).abs() <= f64::EPSILON * width {
        k as f64 / n
    } else {
        k as f64 * width
    }
}

#[cfg(test)]
mod bin_edge_tests {
    use super::bin_edge;

    #[test]
    fn bin_edges_are_the_nearest_doubles_of_k_times_the_width() {
        // k × 0.01 is 0.35000000000000003 for k = 35; the edge is 0.35.
        assert_eq!(bin_edge(35, 0.01), 0.35);
        assert_eq!(format!("{}", bin_edge(35, 0.01)), "0.35");
        for k in 0..20_000 {
            let want = k as f64 / 100.0;
            assert_eq!(bin_edge(k, 0.01), want);
            assert_eq!(bin_edge(k, 0.1), k as f64 / 10.0);
        }
        assert_eq!(bin_edge(3, 0.5), 1.5);
        assert_eq!(bin_edge(7, 2.0), 14.0);
        // A width that is no whole number's reciprocal: k × width.
        assert_eq!(bin_edge(7, 0.3), 7.0 * 0.3);
        assert_eq!(bin_edge(7, 0.015), 7.0 * 0.015);
    }
}

#[cfg(test)]
mod cumulative_walk_tests {
    use crate::Dvh;

    #[test]
    fn cumulative_curve_equals_pointwise_volumes() {
        // A curve with many knots, flat stretches and a point sample; each edge's
        // volume from the walk must be exactly V_d at that edge.
        let dose: Vec<f32> = (0..500).map(|k| ((k * 37) % 500) as f32 * 0.031).collect();
        let spread: Vec<f32> = (0..500)
            .map(|k| if k % 7 == 0 { 0.0 } else { 0.02 })
            .collect();
        let weight: Vec<f32> = (0..500).map(|k| 0.01 + (k % 3) as f32 * 0.005).collect();
        let dvh = Dvh::from_cells(&dose, &spread, &weight);
        for width in [0.01, 0.05, 0.3, 2.0] {
            let c = dvh.cumulative(width);
            assert!(c.dose_gy.len() > 5);
            for (&d, &v) in c.dose_gy.iter().zip(&c.volume_cc) {
                assert_eq!(v, dvh.volume_at_dose_cc(d), "width {width}, dose {d}");
            }
        }
    }
}

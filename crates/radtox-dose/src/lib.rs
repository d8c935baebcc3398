//! # radtox-dose
//!
//! Dose–volume histograms, TG-263 dose metrics, plan indices, a check against the
//! planning system's DVHs, and BED/EQD2 conversion. The crate knows no file format and
//! no clinic: it turns per-structure weighted dose samples (from `radtox-geometry`) into
//! numbers.
//!
//! ```
//! use radtox_dose::{Dvh, MetricContext, MetricRequest, evaluate};
//!
//! // 1000 samples of 0.01 cc, doses uniform on [40, 60] Gy (cell midpoints).
//! let dose: Vec<f32> = (0..1000).map(|i| 40.0 + 20.0 * (i as f32 + 0.5) / 1000.0).collect();
//! let weight = vec![0.01f32; 1000];
//! let dvh = Dvh::from_samples(&dose, &weight);
//! assert!((dvh.volume_cc() - 10.0).abs() < 1e-6);
//!
//! let ctx = MetricContext { prescription_gy: Some(50.0), ..Default::default() };
//! let d95: MetricRequest = "D95%[Gy]".parse().unwrap();
//! assert!((evaluate(&d95, &dvh, &ctx).unwrap() - 41.0).abs() < 1e-4);
//! let v_rx: MetricRequest = "v100 % [ % ]".parse().unwrap(); // tolerant spelling
//! assert_eq!(v_rx.to_string(), "V100%[%]");
//! assert!((evaluate(&v_rx, &dvh, &ctx).unwrap() - 50.0).abs() < 1e-4);
//!
//! // EQD2 of 20 Gy in one fraction at α/β = 2 Gy.
//! let eqd2 = radtox_dose::eqd2(20.0, 1, 2.0, radtox_dose::LqModel::Lq).unwrap();
//! assert!((eqd2 - 110.0).abs() < 1e-9);
//! ```
//!
//! ## Samples and the DVH ([`Dvh`])
//!
//! A structure is a set of samples, each a dose `dᵢ` and a volume `wᵢ` (cc; a partial
//! volume is just a smaller weight). As points, nothing is binned: [`Dvh::from_samples`] sorts
//! the samples by dose, hottest first (an exact LSD radix sort on the `f32` bit pattern,
//! about 7 ns per sample on one core including the cumulative sums, 2–3 × faster than a
//! comparison sort; `examples/bench_dvh.rs` times a plan-sized set), and keeps their
//! cumulative volume `Cᵢ = w₀ + … + wᵢ`. Evaluating a metric is then a binary search
//! (well under a microsecond), so a structure's DVH is built once and every metric
//! reads it. Samples with non-finite dose or a
//! weight that is not finite and positive are left out and counted
//! ([`Dvh::rejected_samples`]); [`Dvh::try_from_samples`] refuses them instead.
//!
//! **Cells** ([`Dvh::from_cells`], what the analysis uses). A sample of the geometry
//! crate stands for a small cell across which the dose varies; it also carries a spread
//! `rᵢ`, and its volume is taken as spread uniformly over `[dᵢ − rᵢ, dᵢ + rᵢ]` (same mean
//! and variance as the linearised dose across the cell). The cumulative curve of those
//! ramps is piecewise linear; it is evaluated exactly at 32 768 equally spaced doses
//! over the structure's range (O(1) per sample into a second-difference array, no sort;
//! [`CellHistogram`] does it while sampling) and kept at the doses where it bends, so
//! metrics are exact to within range / 32 768 (2 mGy for 65 Gy). Why: where an isodose
//! runs parallel to a layer of cells, point samples put the whole layer on one side (a
//! staircase one cell thick, ±1 % of a sphere needs ~200 000 points); the spreads cut
//! the layer where the isodose cuts it, so ~20 000 cells give better than 0.5 %. Min
//! and Max are the extreme doses at cell centres and D-metrics are kept within them;
//! the mean is `Σ wᵢdᵢ / Σ wᵢ` (exact for a linear dose across each cell).
//!
//! **Interpolation (points).** Sample `i` occupies the volume interval `[Cᵢ₋₁, Cᵢ]` of the
//! cumulative axis; its dose is placed at the interval's midpoint `mᵢ = Cᵢ − wᵢ/2`, and
//! the DVH curve `D(v)` is the straight line between consecutive midpoints, flat at the
//! maximum dose for `v ≤ m₀` and at the minimum for `v ≥ mₙ₋₁`. With this rule samples
//! taken at cell midpoints of a continuous distribution reproduce a linear DVH exactly,
//! and every metric is a continuous function of the samples. At a genuine dose step the
//! curve ramps over the width of one sample (so D50% of a half-10 Gy, half-20 Gy
//! structure is 15 Gy, as for a median).
//!
//! - `D_v` ([`Dvh::dose_at_volume_cc`]): `D(v)`, the minimum dose received by the hottest
//!   `v` cc. `D_x%` is `D(x/100 · V)`.
//! - `DC_v` (TG-263 "dose to the cold volume"): `D(V − v)`, the maximum dose received by
//!   the coldest `v` cc.
//! - `V_d` ([`Dvh::volume_at_dose_cc`]): the volume receiving at least `d`, the exact
//!   inverse of `D(v)` (the largest `v` with `D(v) ≥ d`): 0 above the maximum, the whole
//!   volume at or below the minimum.
//! - `CV_d`: the volume receiving *less* than `d`, `V − V_d`.
//! - Mean: `Σ wᵢdᵢ / Σ wᵢ`; Min and Max: the extreme sample doses (cells: at their
//!   centres).
//! - A requested volume larger than the structure (e.g. `D0.03cc` of a 0.02 cc GTV)
//!   makes the metric undefined (TG-263): [`evaluate`] returns
//!   [`MetricError::VolumeExceedsStructure`]. The plain methods clamp to the minimum dose.
//! - [`Dvh::cumulative`] and [`Dvh::differential`] give binned curves for plots and
//!   exports only; metrics never come from them.
//!
//! ## Metric syntax ([`MetricRequest`])
//!
//! AAPM TG-263 §8: `D95%[Gy]`, `D95%[%]` (dose as % of the prescription), `D0.03cc[Gy]`,
//! `D2cc[cGy]`, `DC700cc[Gy]`, `V20Gy[%]`, `V12Gy[cc]`, `V1200cGy[cc]`, `V95%[%]` (volume
//! receiving 95 % of the prescription, as % of the structure), `V95%[cc]`, `CV12Gy[cc]`,
//! `CV12Gy[%]`, `Mean[Gy]`, `Max[cGy]`, `Min[Gy]`, `Mean[%]`, plus the plan indices
//! `CI[Paddick]`, `GI` and `HI[ICRU83]`. Units and keywords are case-insensitive, white
//! space is ignored and `cm3`, `cm³`, `ml` are accepted for `cc`; `Display` gives the canonical text.
//! Volumes must be positive (percentages at most 100) and dose thresholds positive.
//!
//! **Radiobiological domains.** A dose unit `EQD2Gy` or `BEDGy` moves the metric into
//! that [`Domain`]: `D0.03cc[EQD2Gy]`, `Mean[EQD2Gy]` (the mean of the sample-wise EQD2,
//! not the EQD2 of the mean), `V100EQD2Gy[cc]`, `V50BEDGy[%]`. Such a metric must be
//! evaluated on a DVH of that domain ([`LqParams::convert_dvh`], [`to_domain`] +
//! [`Dvh::from_samples_in`], or [`evaluate_all`] which converts as needed); evaluating it
//! on a physical DVH, or a physical metric on an EQD2 DVH, is
//! [`MetricError::DomainMismatch`]. [`MetricRequest::domain`] tells the caller in advance.
//! Prescription-relative units (`%`) are physical only.
//!
//! ## Plan indices
//!
//! - `CI[Paddick]` = TV_PIV² / (TV × PIV): TV is the evaluated structure's volume,
//!   TV_PIV its volume receiving ≥ Rx, PIV the volume of the [`MetricContext::reference`]
//!   DVH (external contour, or the whole grid via [`Dvh::from_grid`]) receiving ≥ Rx.
//!   The reference is trusted to contain the target; if it does not, CI can exceed 1.
//! - `GI` (Paddick gradient index) = PIV(50 % Rx) / PIV(100 % Rx), from the reference.
//! - `HI[ICRU83]` = (D2% − D98%) / D50% of the evaluated structure.
//!
//! ## Planning-system DVH check ([`compare_with_tps`])
//!
//! The TPS DVH (RT Dose DVH Sequence; cumulative or differential; cm³ or percent) has
//! bins from 0 Gy. TPS volume = its cumulative value at 0 Gy; TPS mean = Σ (differential
//! volume × bin centre) / volume. The cumulative curves, each normalised to its own
//! structure volume, are compared at every TPS bin edge; the largest absolute difference
//! (percentage points) and its dose are reported. With percent volumes the TPS volume is
//! unknown and our volume stands in for it.
//!
//! ## BED and EQD2 ([`bed`], [`eqd2`], [`to_domain`], [`LqModel`])
//!
//! Per sample, with its own dose per fraction d = D/n (never from a mean dose):
//! BED = n·d·(1 + d/(α/β)), EQD2 = BED / (1 + 2/(α/β)). LQ-L (Astrahan 2008) above the
//! transition dose per fraction d_T: BED = n·[d·(1 + 2·d_T/(α/β)) − d_T²/(α/β)], which
//! joins the LQ curve with the same slope at d_T. E.g. 20 Gy × 1 at α/β = 2 Gy:
//! EQD2 = 110 Gy (LQ), 61 Gy (LQ-L, d_T = 6 Gy). Zero fractions, α/β ≤ 0 and d_T ≤ 0 are
//! errors ([`LqError`]). Negative sample doses (not physical) convert as 0 so the
//! conversion never reorders samples.
//!
//! ## Whole-grid quantities
//!
//! [`isodose_volume_cc`] counts whole voxels of the grid at or above a level (voxel
//! extents are the cells between midpoints of neighbouring centres, so non-uniform
//! spacing is handled; a single-plane grid has no thickness and gives 0).

mod cells;
mod dvh;

/// `x > 0`, false for NaN: the check every "must be positive" input needs.
#[inline]
pub(crate) fn is_positive(x: f64) -> bool {
    x > 0.0
}
mod grid;
mod lq;
mod metric;
mod sort;
mod tps;

pub use cells::CellHistogram;
pub use dvh::{CumulativeDvh, DifferentialDvh, Dvh, DvhError, MAX_BINS};
pub use grid::{isodose_volume_cc, voxel_extents};
pub use lq::{LqError, LqModel, LqParams, bed, eqd2, to_domain};
pub use metric::{
    Domain, DoseUnit, Metric, MetricContext, MetricError, MetricParseError, MetricRequest, Output,
    ParseProblem, VolumeUnit, default_metrics, evaluate, evaluate_all,
};
pub use tps::{TpsDvhCheck, compare_with_tps};

//! TG-263 metric requests: parsing, canonical text, evaluation on a [`Dvh`].

use crate::{Dvh, LqError, LqParams, is_positive};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Value domain of the doses a metric reads: physical dose, or a radiobiological
/// equivalent of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Domain {
    Physical,
    /// Equivalent dose in 2 Gy fractions.
    Eqd2,
    /// Biologically effective dose.
    Bed,
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Domain::Physical => "physical",
            Domain::Eqd2 => "EQD2",
            Domain::Bed => "BED",
        })
    }
}

/// A dose unit, either of a result (`D95%[cGy]`) or of a threshold (`V20Gy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DoseUnit {
    Gy,
    CGy,
    /// Percent of the prescription dose (physical).
    PercentRx,
    /// Gy of EQD2.
    Eqd2Gy,
    /// Gy of BED.
    BedGy,
}

impl DoseUnit {
    /// Canonical TG-263 spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            DoseUnit::Gy => "Gy",
            DoseUnit::CGy => "cGy",
            DoseUnit::PercentRx => "%",
            DoseUnit::Eqd2Gy => "EQD2Gy",
            DoseUnit::BedGy => "BEDGy",
        }
    }

    pub fn domain(self) -> Domain {
        match self {
            DoseUnit::Eqd2Gy => Domain::Eqd2,
            DoseUnit::BedGy => Domain::Bed,
            _ => Domain::Physical,
        }
    }

    fn parse(s: &str) -> Option<DoseUnit> {
        Some(match s.to_ascii_lowercase().as_str() {
            "gy" => DoseUnit::Gy,
            "cgy" => DoseUnit::CGy,
            "%" => DoseUnit::PercentRx,
            "eqd2gy" => DoseUnit::Eqd2Gy,
            "bedgy" => DoseUnit::BedGy,
            _ => return None,
        })
    }

    /// Value in this unit of a dose in Gy of the unit's domain.
    fn express(self, d: f64, rx: Option<f64>) -> Option<f64> {
        match self {
            DoseUnit::CGy => Some(100.0 * d),
            DoseUnit::PercentRx => rx.map(|rx| 100.0 * d / rx),
            _ => Some(d),
        }
    }

    /// Gy of the unit's domain for a value in this unit.
    fn to_gy(self, v: f64, rx: Option<f64>) -> Option<f64> {
        match self {
            DoseUnit::CGy => Some(v / 100.0),
            DoseUnit::PercentRx => rx.map(|rx| v / 100.0 * rx),
            _ => Some(v),
        }
    }
}

const DOSE_UNITS: &str = "Gy, cGy, %, EQD2Gy or BEDGy";
const VOLUME_UNITS: &str = "cc or %";

/// A volume unit: absolute (cc) or percent of the structure volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VolumeUnit {
    Cc,
    Percent,
}

impl VolumeUnit {
    pub fn symbol(self) -> &'static str {
        match self {
            VolumeUnit::Cc => "cc",
            VolumeUnit::Percent => "%",
        }
    }

    fn parse(s: &str) -> Option<VolumeUnit> {
        match s.to_ascii_lowercase().as_str() {
            "cc" | "cm3" | "cm³" | "ml" => Some(VolumeUnit::Cc),
            "%" => Some(VolumeUnit::Percent),
            _ => None,
        }
    }
}

/// What a request measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// `D<v><unit>`: minimum dose of the hottest volume; with `coldest`, `DC<v><unit>`:
    /// maximum dose of the coldest volume.
    DoseAtVolume {
        volume: f64,
        unit: VolumeUnit,
        coldest: bool,
    },
    /// `V<d><unit>`: volume receiving at least the dose; with `complement`,
    /// `CV<d><unit>`: volume receiving less.
    VolumeAtDose {
        dose: f64,
        unit: DoseUnit,
        complement: bool,
    },
    Mean,
    Max,
    Min,
    /// Paddick conformity index TV_PIV² / (TV × PIV).
    PaddickCi,
    /// Paddick gradient index PIV(50 % Rx) / PIV(100 % Rx).
    GradientIndex,
    /// ICRU 83 homogeneity index (D2% − D98%) / D50%.
    HomogeneityIcru83,
}

/// Unit of a request's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Output {
    Dose(DoseUnit),
    Volume(VolumeUnit),
    /// Dimensionless index (CI, GI, HI).
    Ratio,
}

/// A parsed TG-263 dose-volume metric such as `D95%[Gy]` or `V20Gy[%]`.
///
/// `FromStr` accepts tolerant spelling (any case for units and keywords, white space
/// anywhere, `cm3` for `cc`); `Display` writes the canonical text, which parses back to
/// the same request. Serde (de)serialises it as that text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricRequest {
    metric: Metric,
    output: Output,
}

impl MetricRequest {
    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn output(&self) -> Output {
        self.output
    }

    /// The domain of the doses the request reads (from its threshold or result unit):
    /// evaluate it on a DVH of that domain.
    pub fn domain(&self) -> Domain {
        match (self.metric, self.output) {
            (Metric::VolumeAtDose { unit, .. }, _) => unit.domain(),
            (_, Output::Dose(unit)) => unit.domain(),
            _ => Domain::Physical,
        }
    }

    /// True when the value depends on the prescription dose (a `%` dose unit, CI, GI).
    pub fn needs_prescription(&self) -> bool {
        matches!(self.output, Output::Dose(DoseUnit::PercentRx))
            || matches!(
                self.metric,
                Metric::VolumeAtDose {
                    unit: DoseUnit::PercentRx,
                    ..
                } | Metric::PaddickCi
                    | Metric::GradientIndex
            )
    }

    /// True when the value needs [`MetricContext::reference`] (CI, GI).
    pub fn needs_reference(&self) -> bool {
        matches!(self.metric, Metric::PaddickCi | Metric::GradientIndex)
    }
}

/// Why a metric text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseProblem {
    #[error("empty metric")]
    Empty,
    #[error("unknown metric '{0}'")]
    UnknownMetric(String),
    #[error("missing [unit]")]
    MissingUnit,
    #[error("unknown unit '{0}'")]
    UnknownUnit(String),
    #[error("unclosed '['")]
    UnclosedBracket,
    #[error("unexpected text '{0}' after ']'")]
    TrailingText(String),
    #[error("missing number after '{0}'")]
    MissingNumber(String),
    #[error("invalid number '{0}'")]
    InvalidNumber(String),
    #[error("missing volume unit after '{0}'")]
    MissingVolumeUnit(String),
    #[error("unknown volume unit '{0}'")]
    UnknownVolumeUnit(String),
    #[error("missing dose unit after '{0}'")]
    MissingDoseUnit(String),
    #[error("unknown dose unit '{0}'")]
    UnknownDoseUnit(String),
    #[error("volume must be positive")]
    NonPositiveVolume,
    #[error("volume percentage {0} is above 100")]
    PercentAbove100(String),
    #[error("dose threshold must be positive")]
    NonPositiveDose,
}

impl ParseProblem {
    /// What would have been accepted, for the message.
    fn expected(&self) -> Option<&'static str> {
        match self {
            ParseProblem::UnknownMetric(_) => Some("D, DC, V, CV, Mean, Max, Min, CI, GI or HI"),
            ParseProblem::MissingVolumeUnit(_) | ParseProblem::UnknownVolumeUnit(_) => {
                Some(VOLUME_UNITS)
            }
            ParseProblem::MissingDoseUnit(_) | ParseProblem::UnknownDoseUnit(_) => Some(DOSE_UNITS),
            _ => None,
        }
    }
}

/// A metric text that is not valid TG-263 syntax: the text and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricParseError {
    pub text: String,
    pub problem: ParseProblem,
    /// Accepted alternatives at the point of failure, if useful.
    pub expected: Option<&'static str>,
}

impl fmt::Display for MetricParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in '{}'", self.problem, self.text)?;
        if let Some(e) = self.expected {
            write!(f, " (expected {e})")?;
        }
        Ok(())
    }
}

impl std::error::Error for MetricParseError {}

/// Splits `head` into its leading number and the rest (`"0.03cc"` → `("0.03", "cc")`).
fn split_number(head: &str) -> (&str, &str) {
    // A leading sign is taken into the number so that "D-5%" says "must be positive".
    let sign = usize::from(head.starts_with(['-', '+']));
    let end = head
        .get(sign..)
        .and_then(|rest| rest.find(|c: char| !(c.is_ascii_digit() || c == '.')))
        .map_or(head.len(), |e| e + sign);
    head.split_at(end)
}

fn parse_positive(prefix: &str, num: &str, is_volume: bool) -> Result<f64, ParseProblem> {
    if num.is_empty() {
        return Err(ParseProblem::MissingNumber(prefix.to_string()));
    }
    let v: f64 = num
        .parse()
        .map_err(|_| ParseProblem::InvalidNumber(num.to_string()))?;
    if !v.is_finite() {
        return Err(ParseProblem::InvalidNumber(num.to_string()));
    }
    if v <= 0.0 {
        return Err(if is_volume {
            ParseProblem::NonPositiveVolume
        } else {
            ParseProblem::NonPositiveDose
        });
    }
    Ok(v)
}

fn parse_request(compact: &str) -> Result<MetricRequest, ParseProblem> {
    if compact.is_empty() {
        return Err(ParseProblem::Empty);
    }
    let (head, unit) = match compact.find('[') {
        Some(open) => {
            let rest = compact.get(open + 1..).unwrap_or("");
            let close = rest.find(']').ok_or(ParseProblem::UnclosedBracket)?;
            let after = rest.get(close + 1..).unwrap_or("");
            if !after.is_empty() {
                return Err(ParseProblem::TrailingText(after.to_string()));
            }
            (
                compact.get(..open).unwrap_or(""),
                Some(rest.get(..close).unwrap_or("")),
            )
        }
        None => (compact, None),
    };
    let lower = head.to_ascii_lowercase();
    let dose_output = |unit: Option<&str>| -> Result<Output, ParseProblem> {
        let u = unit.ok_or(ParseProblem::MissingUnit)?;
        DoseUnit::parse(u)
            .map(Output::Dose)
            .ok_or_else(|| ParseProblem::UnknownUnit(u.to_string()))
    };
    let index = |metric: Metric, allowed: &str| -> Result<MetricRequest, ParseProblem> {
        match unit {
            Some(u) if !u.eq_ignore_ascii_case(allowed) => {
                Err(ParseProblem::UnknownUnit(u.to_string()))
            }
            _ => Ok(MetricRequest {
                metric,
                output: Output::Ratio,
            }),
        }
    };
    let simple = match lower.as_str() {
        "mean" => Some(Metric::Mean),
        "max" => Some(Metric::Max),
        "min" => Some(Metric::Min),
        "ci" => return index(Metric::PaddickCi, "paddick"),
        "gi" => return index(Metric::GradientIndex, "paddick"),
        "hi" => return index(Metric::HomogeneityIcru83, "icru83"),
        _ => None,
    };
    if let Some(metric) = simple {
        return Ok(MetricRequest {
            metric,
            output: dose_output(unit)?,
        });
    }
    // Longest prefixes first: "DC" before "D", "CV" before "V".
    let (prefix_len, kind) = if lower.starts_with("dc") {
        (2, 'C')
    } else if lower.starts_with("cv") {
        (2, 'c')
    } else if lower.starts_with('d') {
        (1, 'D')
    } else if lower.starts_with('v') {
        (1, 'V')
    } else {
        return Err(ParseProblem::UnknownMetric(head.to_string()));
    };
    let prefix = head.get(..prefix_len).unwrap_or("");
    let (num, qty_unit) = split_number(head.get(prefix_len..).unwrap_or(""));
    let is_d = kind == 'D' || kind == 'C';
    let known_unit = if is_d {
        VolumeUnit::parse(qty_unit).is_some()
    } else {
        DoseUnit::parse(qty_unit).is_some()
    };
    if num.is_empty() && !qty_unit.is_empty() && !known_unit {
        // "Dmean", "Volume": no number and no unit, so not a D/V metric at all.
        return Err(ParseProblem::UnknownMetric(head.to_string()));
    }
    match kind {
        _ if is_d => {
            let volume = parse_positive(prefix, num, true)?;
            let vunit = match qty_unit {
                "" => return Err(ParseProblem::MissingVolumeUnit(format!("{prefix}{num}"))),
                u => VolumeUnit::parse(u)
                    .ok_or_else(|| ParseProblem::UnknownVolumeUnit(u.to_string()))?,
            };
            if vunit == VolumeUnit::Percent && volume > 100.0 {
                return Err(ParseProblem::PercentAbove100(num.to_string()));
            }
            Ok(MetricRequest {
                metric: Metric::DoseAtVolume {
                    volume,
                    unit: vunit,
                    coldest: kind == 'C',
                },
                output: dose_output(unit)?,
            })
        }
        _ => {
            let dose = parse_positive(prefix, num, false)?;
            let dunit = match qty_unit {
                "" => return Err(ParseProblem::MissingDoseUnit(format!("{prefix}{num}"))),
                u => DoseUnit::parse(u)
                    .ok_or_else(|| ParseProblem::UnknownDoseUnit(u.to_string()))?,
            };
            let u = unit.ok_or(ParseProblem::MissingUnit)?;
            let vout =
                VolumeUnit::parse(u).ok_or_else(|| ParseProblem::UnknownUnit(u.to_string()))?;
            Ok(MetricRequest {
                metric: Metric::VolumeAtDose {
                    dose,
                    unit: dunit,
                    complement: kind == 'c',
                },
                output: Output::Volume(vout),
            })
        }
    }
}

impl FromStr for MetricRequest {
    type Err = MetricParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Spaces carry no meaning in TG-263 names; dropping them all makes "D 95 % [Gy]"
        // and "D95%[ Gy ]" the same request.
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        parse_request(&compact).map_err(|problem| MetricParseError {
            text: text.to_string(),
            expected: problem.expected().or(match problem {
                ParseProblem::UnknownUnit(_) | ParseProblem::MissingUnit => unit_hint(&compact),
                _ => None,
            }),
            problem,
        })
    }
}

/// Which [unit]s would have fit, judged from the metric's first letters.
fn unit_hint(compact: &str) -> Option<&'static str> {
    let l = compact.to_ascii_lowercase();
    if l.starts_with("ci") || l.starts_with("gi") {
        Some("Paddick")
    } else if l.starts_with("hi") {
        Some("ICRU83")
    } else if l.starts_with('v') || l.starts_with("cv") {
        Some(VOLUME_UNITS)
    } else {
        Some(DOSE_UNITS)
    }
}

impl fmt::Display for MetricRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.metric {
            Metric::DoseAtVolume {
                volume,
                unit,
                coldest,
            } => write!(
                f,
                "{}{}{}",
                if coldest { "DC" } else { "D" },
                volume,
                unit.symbol()
            )?,
            Metric::VolumeAtDose {
                dose,
                unit,
                complement,
            } => write!(
                f,
                "{}{}{}",
                if complement { "CV" } else { "V" },
                dose,
                unit.symbol()
            )?,
            Metric::Mean => f.write_str("Mean")?,
            Metric::Max => f.write_str("Max")?,
            Metric::Min => f.write_str("Min")?,
            Metric::PaddickCi => return f.write_str("CI[Paddick]"),
            Metric::GradientIndex => return f.write_str("GI"),
            Metric::HomogeneityIcru83 => return f.write_str("HI[ICRU83]"),
        }
        match self.output {
            Output::Dose(u) => write!(f, "[{}]", u.symbol()),
            Output::Volume(u) => write!(f, "[{}]", u.symbol()),
            Output::Ratio => Ok(()),
        }
    }
}

impl Serialize for MetricRequest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MetricRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a metric needs besides the structure's own DVH.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricContext<'a> {
    /// Prescription dose (Gy, physical) for `%` dose units, CI and GI.
    pub prescription_gy: Option<f64>,
    /// DVH of the external/body contour, or of the whole dose grid
    /// ([`Dvh::from_grid`]), for the prescription isodose volume of CI and GI.
    pub reference: Option<&'a Dvh>,
}

/// Why a metric has no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricError {
    #[error("{metric} needs a prescription dose")]
    NeedsPrescription { metric: String },
    #[error("{metric}: prescription dose {rx_gy} Gy is not a positive finite number")]
    InvalidPrescription { metric: String, rx_gy: f64 },
    #[error("{metric} needs a reference DVH (external contour or whole dose grid)")]
    NeedsReference { metric: String },
    #[error(
        "{metric} is undefined: the requested {requested_cc:.4} cc exceed the structure volume {structure_cc:.4} cc"
    )]
    VolumeExceedsStructure {
        metric: String,
        requested_cc: f64,
        structure_cc: f64,
    },
    #[error("{metric} is undefined: the structure has no volume")]
    EmptyStructure { metric: String },
    #[error("{metric} reads {metric_domain} dose but the DVH holds {dvh_domain} dose")]
    DomainMismatch {
        metric: String,
        metric_domain: Domain,
        dvh_domain: Domain,
    },
    #[error("{metric} is undefined: {reason}")]
    Undefined { metric: String, reason: String },
    #[error("TPS DVH of ROI {roi_number}: {problem}")]
    TpsDvh { roi_number: i32, problem: String },
    #[error("{metric}: {source}")]
    Lq { metric: String, source: LqError },
}

/// Relative tolerance on "volume exceeds the structure": a D100% computed as 100/100 × V
/// may land an ulp above V.
const VOLUME_TOLERANCE: f64 = 1e-9;

/// Evaluates one request on a structure's DVH, in the request's output unit (Gy, cGy,
/// % of prescription, cc, % of structure volume, or a ratio).
pub fn evaluate(req: &MetricRequest, dvh: &Dvh, ctx: &MetricContext) -> Result<f64, MetricError> {
    let name = || req.to_string();
    if req.domain() != dvh.domain() {
        return Err(MetricError::DomainMismatch {
            metric: name(),
            metric_domain: req.domain(),
            dvh_domain: dvh.domain(),
        });
    }
    let rx = if req.needs_prescription() {
        let rx = ctx
            .prescription_gy
            .ok_or_else(|| MetricError::NeedsPrescription { metric: name() })?;
        if !(rx.is_finite() && rx > 0.0) {
            return Err(MetricError::InvalidPrescription {
                metric: name(),
                rx_gy: rx,
            });
        }
        Some(rx)
    } else {
        None
    };
    let total = dvh.volume_cc();
    if !is_positive(total) {
        return Err(MetricError::EmptyStructure { metric: name() });
    }
    let undefined = |reason: String| MetricError::Undefined {
        metric: name(),
        reason,
    };
    let dose_out = |d: f64| match req.output {
        Output::Dose(u) => u
            .express(d, rx)
            .ok_or_else(|| MetricError::NeedsPrescription { metric: name() }),
        _ => Ok(d),
    };
    let reference = || -> Result<&Dvh, MetricError> {
        let r = ctx
            .reference
            .ok_or_else(|| MetricError::NeedsReference { metric: name() })?;
        if r.domain() != Domain::Physical {
            return Err(MetricError::DomainMismatch {
                metric: name(),
                metric_domain: Domain::Physical,
                dvh_domain: r.domain(),
            });
        }
        Ok(r)
    };
    match req.metric {
        Metric::DoseAtVolume {
            volume,
            unit,
            coldest,
        } => {
            let v_cc = match unit {
                VolumeUnit::Cc => volume,
                VolumeUnit::Percent => volume / 100.0 * total,
            };
            if v_cc > total * (1.0 + VOLUME_TOLERANCE) {
                return Err(MetricError::VolumeExceedsStructure {
                    metric: name(),
                    requested_cc: v_cc,
                    structure_cc: total,
                });
            }
            let v_cc = v_cc.min(total);
            let d = if coldest {
                dvh.dose_to_coldest_volume_cc(v_cc)
            } else {
                dvh.dose_at_volume_cc(v_cc)
            };
            dose_out(d)
        }
        Metric::VolumeAtDose {
            dose,
            unit,
            complement,
        } => {
            let d = unit
                .to_gy(dose, rx)
                .ok_or_else(|| MetricError::NeedsPrescription { metric: name() })?;
            let mut v = dvh.volume_at_dose_cc(d);
            if complement {
                v = (total - v).max(0.0);
            }
            Ok(match req.output {
                Output::Volume(VolumeUnit::Percent) => 100.0 * v / total,
                _ => v,
            })
        }
        Metric::Mean => dose_out(dvh.mean()),
        Metric::Max => dose_out(dvh.max()),
        Metric::Min => dose_out(dvh.min()),
        Metric::PaddickCi => {
            let rx = rx.unwrap_or(f64::NAN);
            let piv = reference()?.volume_at_dose_cc(rx);
            if !is_positive(piv) {
                return Err(undefined(format!(
                    "no reference volume receives the prescription dose {rx} Gy"
                )));
            }
            let tv_piv = dvh.volume_at_dose_cc(rx);
            Ok(tv_piv * tv_piv / (total * piv))
        }
        Metric::GradientIndex => {
            let rx = rx.unwrap_or(f64::NAN);
            let r = reference()?;
            let piv = r.volume_at_dose_cc(rx);
            if !is_positive(piv) {
                return Err(undefined(format!(
                    "no reference volume receives the prescription dose {rx} Gy"
                )));
            }
            Ok(r.volume_at_dose_cc(0.5 * rx) / piv)
        }
        Metric::HomogeneityIcru83 => {
            let d50 = dvh.dose_at_volume_percent(50.0);
            if !is_positive(d50) {
                return Err(undefined(format!("D50% is {d50} Gy")));
            }
            Ok((dvh.dose_at_volume_percent(2.0) - dvh.dose_at_volume_percent(98.0)) / d50)
        }
    }
}

/// Evaluates several requests on one structure, converting its physical DVH to EQD2 or
/// BED (once per domain, sample-wise) for the requests that read those domains. Without
/// `lq`, such requests get [`MetricError::DomainMismatch`].
pub fn evaluate_all(
    reqs: &[MetricRequest],
    physical: &Dvh,
    ctx: &MetricContext,
    lq: Option<&LqParams>,
) -> Vec<Result<f64, MetricError>> {
    let mut eqd2: Option<Result<Dvh, LqError>> = None;
    let mut bed: Option<Result<Dvh, LqError>> = None;
    reqs.iter()
        .map(|req| {
            let domain = req.domain();
            let slot = match domain {
                Domain::Physical => return evaluate(req, physical, ctx),
                Domain::Eqd2 => &mut eqd2,
                Domain::Bed => &mut bed,
            };
            let Some(params) = lq else {
                return evaluate(req, physical, ctx);
            };
            let converted = slot.get_or_insert_with(|| params.convert_dvh(physical, domain));
            match converted {
                Ok(dvh) => evaluate(req, dvh, ctx),
                Err(e) => Err(MetricError::Lq {
                    metric: req.to_string(),
                    source: e.clone(),
                }),
            }
        })
        .collect()
}

/// The default set evaluated for every structure:
/// Mean, Max, Min, D0.03cc, D2%, D50%, D95%, D98% (all in Gy).
pub fn default_metrics() -> Vec<MetricRequest> {
    let dose_at = |volume: f64, unit: VolumeUnit| MetricRequest {
        metric: Metric::DoseAtVolume {
            volume,
            unit,
            coldest: false,
        },
        output: Output::Dose(DoseUnit::Gy),
    };
    let plain = |metric: Metric| MetricRequest {
        metric,
        output: Output::Dose(DoseUnit::Gy),
    };
    vec![
        plain(Metric::Mean),
        plain(Metric::Max),
        plain(Metric::Min),
        dose_at(0.03, VolumeUnit::Cc),
        dose_at(2.0, VolumeUnit::Percent),
        dose_at(50.0, VolumeUnit::Percent),
        dose_at(95.0, VolumeUnit::Percent),
        dose_at(98.0, VolumeUnit::Percent),
    ]
}

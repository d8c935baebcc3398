//! T-DM1 doses against radiotherapy dates: signed offsets, published timing windows and
//! a relative serum-exposure curve.
//!
//! Sign convention throughout: Δ = T-DM1 dose date − RT date, in days. Δ > 0: the dose
//! came after the RT date; Δ < 0: before it.

use crate::date::CivilDate;
use crate::patient::{CourseKind, PatientFile, RtCourse, Tdm1Dose};
use serde::Serialize;

/// What a window measures Δ from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// Every known treatment date of the course (each SRS/SRT session).
    EachTreatmentDate,
    /// The course's first fraction.
    FirstDay,
    /// The course's last fraction.
    LastDay,
    /// The dose lies between the first and last fraction, inclusive (`from_days` and
    /// `to_days` are not used).
    DuringCourse,
    /// The *first* T-DM1 dose of the whole record follows the first day of the course
    /// ("sequential after SRS", Chun 2024) by `from_days..=to_days`.
    FirstDoseAfterFirstDay,
}

/// A published timing window: a dose with `from_days ≤ Δ ≤ to_days` from an anchor date
/// of a course of one of `kinds` satisfies it. Both edges are inclusive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Short key (`stumpf`).
    pub key: String,
    /// Who defined it, for sentences (`Stumpf 2019`).
    pub source: String,
    pub anchor: Anchor,
    pub from_days: i64,
    pub to_days: i64,
    /// Course kinds it applies to; empty = every kind.
    pub kinds: Vec<CourseKind>,
}

impl Window {
    fn new(
        key: &str,
        source: &str,
        anchor: Anchor,
        from_days: i64,
        to_days: i64,
        kinds: &[CourseKind],
    ) -> Window {
        Window {
            key: key.into(),
            source: source.into(),
            anchor,
            from_days,
            to_days,
            kinds: kinds.to_vec(),
        }
    }

    /// Stumpf 2019 / Duke 2022: |Δ| ≤ 28 d of the SRS date. Applied to every session of
    /// SRS and SRT courses because Stumpf's cohort had 1–5 fractions (seed Table 1).
    pub fn stumpf() -> Window {
        Window::new(
            "stumpf",
            "Stumpf 2019",
            Anchor::EachTreatmentDate,
            -28,
            28,
            &[CourseKind::Srs, CourseKind::Srt],
        )
    }

    /// Koide 2024: |Δ| ≤ 28 d of the first day of brain RT (SRS, SRT or WBRT).
    pub fn koide() -> Window {
        Window::new(
            "koide",
            "Koide 2024",
            Anchor::FirstDay,
            -28,
            28,
            &[CourseKind::Srs, CourseKind::Srt, CourseKind::Wbrt],
        )
    }

    /// Lebow 2023: −21 ≤ Δ ≤ +7 of each stereotactic session.
    pub fn lebow() -> Window {
        Window::new(
            "lebow",
            "Lebow 2023",
            Anchor::EachTreatmentDate,
            -21,
            7,
            &[CourseKind::Srs, CourseKind::Srt],
        )
    }

    /// Chun 2024: |Δ| ≤ 365 d of SRS.
    pub fn chun() -> Window {
        Window::new(
            "chun",
            "Chun 2024",
            Anchor::EachTreatmentDate,
            -365,
            365,
            &[CourseKind::Srs, CourseKind::Srt],
        )
    }

    /// Chun 2024, sequential pattern: the first T-DM1 dose follows the SRS date (by 1 to
    /// 365 days: Chun's cohort is limited to doses within a year).
    pub fn chun_sequential() -> Window {
        Window::new(
            "chun_sequential",
            "Chun 2024 (sequential)",
            Anchor::FirstDoseAfterFirstDay,
            1,
            365,
            &[CourseKind::Srs, CourseKind::Srt],
        )
    }

    /// Dastgheyb 2023: |Δ| ≤ 14 d of the start of breast RT (the paper's direction is
    /// ambiguous, so symmetric).
    pub fn dastgheyb() -> Window {
        Window::new(
            "dastgheyb",
            "Dastgheyb 2023",
            Anchor::FirstDay,
            -14,
            14,
            &[CourseKind::Breast],
        )
    }

    /// Any dose between RT start and end inclusive (Geraud, Mills, Zolcsák).
    pub fn during_rt() -> Window {
        Window::new("during_rt", "during RT", Anchor::DuringCourse, 0, 0, &[])
    }

    /// H6 (seed \[S#68, 69, 93\]): an RT date 1–14 days after a dose, i.e. before the
    /// platelet recovery expected by day 15 (nadir around day 8).
    pub fn platelet_nadir() -> Window {
        Window::new(
            "platelet_nadir",
            "platelet nadir days 1–14",
            Anchor::EachTreatmentDate,
            -14,
            -1,
            &[],
        )
    }

    /// The windows of the evidence file's "Timing windows" section, reported for every
    /// RT date.
    pub fn published() -> Vec<Window> {
        vec![
            Window::stumpf(),
            Window::koide(),
            Window::lebow(),
            Window::chun(),
            Window::chun_sequential(),
            Window::dastgheyb(),
            Window::during_rt(),
        ]
    }

    pub fn applies_to(&self, kind: CourseKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    /// The window's rule in words (`within −28..+28 d of each SRS/SRT session`).
    pub fn describe(&self) -> String {
        let range = if self.from_days == -self.to_days {
            format!("within ±{} d", self.to_days)
        } else {
            format!("within {:+} to {:+} d", self.from_days, self.to_days)
        };
        match self.anchor {
            Anchor::EachTreatmentDate => format!("{range} of a treatment date"),
            Anchor::FirstDay => format!("{range} of the first RT day"),
            Anchor::LastDay => format!("{range} of the last RT day"),
            Anchor::DuringCourse => "between the first and last RT day".into(),
            Anchor::FirstDoseAfterFirstDay => {
                format!(
                    "first T-DM1 dose {}–{} d after the first RT day",
                    self.from_days, self.to_days
                )
            }
        }
    }
}

/// One dose that satisfies a window, with the date it was measured from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowHit {
    pub window: String,
    pub course: usize,
    pub course_kind: CourseKind,
    pub rt_date: CivilDate,
    pub dose_date: CivilDate,
    /// Δ = dose date − RT date.
    pub delta_days: i64,
    /// The sentence shown in a flag.
    pub fact: String,
}

/// Role of an RT date in its course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RtDateRole {
    /// A one-day course (SRS).
    Single,
    First,
    Fraction,
    Last,
}

/// One row of the timeline table: an RT date, the nearest T-DM1 dose and the published
/// windows that hold for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RtDateOffset {
    pub course: usize,
    pub kind: CourseKind,
    pub date: CivilDate,
    pub role: RtDateRole,
    pub nearest_dose: Option<CivilDate>,
    /// Δ of the nearest dose (ties: the earlier dose).
    pub delta_days: Option<i64>,
    /// Keys of the published windows satisfied by some dose with respect to this date.
    pub windows: Vec<String>,
    /// Relative exposure on this date (see [`Timeline::exposure_on`]).
    pub exposure: f64,
}

/// One day of the exposure curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExposurePoint {
    pub date: CivilDate,
    pub level: f64,
}

/// Half-life of T-DM1 in serum, days (seed \[S#123\]).
pub const TDM1_HALF_LIFE_DAYS: f64 = 4.0;
/// The label dose that defines exposure 1.0.
pub const TDM1_REFERENCE_DOSE_MG_PER_KG: f64 = 3.6;

/// T-DM1 doses and RT courses, sorted by date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub doses: Vec<Tdm1Dose>,
    pub courses: Vec<RtCourse>,
}

impl Timeline {
    pub fn new(mut doses: Vec<Tdm1Dose>, mut courses: Vec<RtCourse>) -> Timeline {
        doses.sort_by_key(|d| d.date);
        courses.sort_by_key(|c| c.first_fraction);
        Timeline { doses, courses }
    }

    pub fn from_patient(p: &PatientFile) -> Timeline {
        Timeline::new(p.tdm1.clone(), p.radiotherapy.clone())
    }

    pub fn first_dose(&self) -> Option<&Tdm1Dose> {
        self.doses.first()
    }

    pub fn has_course_of(&self, kinds: &[CourseKind]) -> bool {
        kinds.is_empty() || self.courses.iter().any(|c| kinds.contains(&c.kind))
    }

    /// Every (dose, RT date) pair satisfying `window`, in course then date order.
    pub fn window_hits(&self, window: &Window) -> Vec<WindowHit> {
        let mut hits = Vec::new();
        for (ci, course) in self
            .courses
            .iter()
            .enumerate()
            .filter(|(_, c)| window.applies_to(c.kind))
        {
            let mut push = |rt_date: CivilDate, dose: &Tdm1Dose, what: &str| {
                let delta = dose.date.days_since(rt_date);
                hits.push(WindowHit {
                    window: window.key.clone(),
                    course: ci,
                    course_kind: course.kind,
                    rt_date,
                    dose_date: dose.date,
                    delta_days: delta,
                    fact: format!(
                        "T-DM1 on {}, {} {} on {}: {} ({})",
                        dose.date,
                        describe_delta(delta),
                        what,
                        rt_date,
                        window.describe(),
                        window.source
                    ),
                });
            };
            let in_range = |delta: i64| (window.from_days..=window.to_days).contains(&delta);
            match window.anchor {
                Anchor::EachTreatmentDate => {
                    let label = format!("{} session", course.kind.label());
                    for rt in course.treatment_dates() {
                        for dose in self
                            .doses
                            .iter()
                            .filter(|d| in_range(d.date.days_since(rt)))
                        {
                            push(rt, dose, &label);
                        }
                    }
                }
                Anchor::FirstDay | Anchor::LastDay => {
                    let (rt, what) = if window.anchor == Anchor::FirstDay {
                        (
                            course.first_fraction,
                            format!("the first {} day", course.kind.label()),
                        )
                    } else {
                        (
                            course.last_fraction,
                            format!("the last {} day", course.kind.label()),
                        )
                    };
                    for dose in self
                        .doses
                        .iter()
                        .filter(|d| in_range(d.date.days_since(rt)))
                    {
                        push(rt, dose, &what);
                    }
                }
                Anchor::DuringCourse => {
                    for dose in self.doses.iter().filter(|d| {
                        d.date >= course.first_fraction && d.date <= course.last_fraction
                    }) {
                        hits.push(WindowHit {
                            window: window.key.clone(),
                            course: ci,
                            course_kind: course.kind,
                            rt_date: course.first_fraction,
                            dose_date: dose.date,
                            delta_days: dose.date.days_since(course.first_fraction),
                            fact: format!(
                                "T-DM1 on {}, during {} ({} to {}) ({})",
                                dose.date,
                                course.kind.label(),
                                course.first_fraction,
                                course.last_fraction,
                                window.source
                            ),
                        });
                    }
                }
                Anchor::FirstDoseAfterFirstDay => {
                    if let Some(first) = self.doses.first()
                        && in_range(first.date.days_since(course.first_fraction))
                    {
                        push(
                            course.first_fraction,
                            first,
                            &format!("{} (first T-DM1 dose)", course.kind.label()),
                        );
                    }
                }
            }
        }
        hits
    }

    /// The timeline table: one row per known RT date (SRS date; each SRT/other fraction
    /// when given; else first and last day).
    pub fn offsets(&self) -> Vec<RtDateOffset> {
        let windows = Window::published();
        let hits: Vec<WindowHit> = windows.iter().flat_map(|w| self.window_hits(w)).collect();
        let mut rows = Vec::new();
        for (ci, course) in self.courses.iter().enumerate() {
            let dates = course.treatment_dates();
            let n = dates.len();
            for (i, &date) in dates.iter().enumerate() {
                let role = match (n, i) {
                    (1, _) => RtDateRole::Single,
                    (_, 0) => RtDateRole::First,
                    (_, i) if i + 1 == n => RtDateRole::Last,
                    _ => RtDateRole::Fraction,
                };
                let nearest = self
                    .doses
                    .iter()
                    .min_by_key(|d| (d.date.days_since(date).abs(), d.date));
                let mut row_windows: Vec<String> = Vec::new();
                for w in &windows {
                    let holds = hits.iter().any(|h| {
                        h.window == w.key
                            && h.course == ci
                            && match w.anchor {
                                Anchor::EachTreatmentDate => h.rt_date == date,
                                Anchor::FirstDay | Anchor::FirstDoseAfterFirstDay => {
                                    date == course.first_fraction
                                }
                                Anchor::LastDay => date == course.last_fraction,
                                // "During RT" is a property of the course: shown on every date.
                                Anchor::DuringCourse => true,
                            }
                    });
                    if holds {
                        row_windows.push(w.key.clone());
                    }
                }
                rows.push(RtDateOffset {
                    course: ci,
                    kind: course.kind,
                    date,
                    role,
                    nearest_dose: nearest.map(|d| d.date),
                    delta_days: nearest.map(|d| d.date.days_since(date)),
                    windows: row_windows,
                    exposure: self.exposure_on(date),
                });
            }
        }
        rows
    }

    /// Relative serum exposure on `date` from a one-compartment model with a 4-day
    /// half-life: Σ over doses given on or before `date` of
    /// (dose / 3.6 mg/kg) · 2^(−(date − dose date) / 4 d).
    ///
    /// 1.0 = just after one 3.6 mg/kg dose; a dose given on `date` counts fully that day.
    /// This is an exposure curve for context (how much drug is plausibly still around on
    /// an RT day), not a pharmacokinetic prediction: it ignores distribution, target-
    /// mediated clearance, the payload's own kinetics and patient variation.
    pub fn exposure_on(&self, date: CivilDate) -> f64 {
        self.doses
            .iter()
            .filter(|d| d.date <= date)
            .map(|d| {
                let t = date.days_since(d.date) as f64;
                d.dose_mg_per_kg / TDM1_REFERENCE_DOSE_MG_PER_KG * (-t / TDM1_HALF_LIFE_DAYS).exp2()
            })
            .sum()
    }

    /// The exposure curve sampled daily from 28 days before the first RT day to 28 days
    /// after the last (of all courses). Empty without RT courses.
    pub fn exposure_curve(&self) -> Vec<ExposurePoint> {
        let (Some(start), Some(end)) = (
            self.courses.iter().map(|c| c.first_fraction).min(),
            self.courses.iter().map(|c| c.last_fraction).max(),
        ) else {
            return Vec::new();
        };
        let (start, end) = (start.add_days(-28), end.add_days(28));
        (0..=end.days_since(start))
            .map(|i| {
                let date = start.add_days(i);
                ExposurePoint {
                    date,
                    level: self.exposure_on(date),
                }
            })
            .collect()
    }
}

/// "7 days after", "3 days before", "on the day of".
pub fn describe_delta(delta: i64) -> String {
    match delta {
        0 => "on the day of".into(),
        1 => "1 day after".into(),
        -1 => "1 day before".into(),
        d if d > 0 => format!("{d} days after"),
        d => format!("{} days before", -d),
    }
}

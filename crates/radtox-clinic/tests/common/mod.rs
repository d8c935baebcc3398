//! Scenario builder shared by the rule tests.
#![allow(dead_code)]

use radtox_clinic::*;
use std::collections::HashMap;

pub fn date(s: &str) -> CivilDate {
    s.parse().expect("test date")
}

/// A patient plus the dose metrics the dose engine would have computed.
#[derive(Clone, Default)]
pub struct Case {
    pub doses: Vec<Tdm1Dose>,
    pub courses: Vec<RtCourse>,
    pub cov: Covariates,
    pub metrics: HashMap<(String, String), MetricValue>,
    pub fractions: Option<u32>,
}

impl Case {
    pub fn new() -> Case {
        Case::default()
    }

    pub fn dose(mut self, d: &str) -> Case {
        self.doses.push(Tdm1Dose {
            date: date(d),
            dose_mg_per_kg: 3.6,
        });
        self
    }

    pub fn course(mut self, kind: CourseKind, first: &str, last: &str) -> Case {
        self.courses.push(RtCourse {
            kind,
            label: None,
            first_fraction: date(first),
            last_fraction: date(last),
            fraction_dates: Vec::new(),
        });
        self
    }

    pub fn srs(self, d: &str) -> Case {
        self.course(CourseKind::Srs, d, d).fx(1)
    }

    pub fn breast(self, first: &str, last: &str) -> Case {
        self.course(CourseKind::Breast, first, last).fx(25)
    }

    pub fn fx(mut self, n: u32) -> Case {
        self.fractions = Some(n);
        self
    }

    pub fn m(mut self, structure: &str, metric: &str, value: f64) -> Case {
        self.metrics
            .insert((structure.into(), metric.into()), MetricValue::exact(value));
        self
    }

    pub fn mu(mut self, structure: &str, metric: &str, value: f64, uncertainty: f64) -> Case {
        self.metrics.insert(
            (structure.into(), metric.into()),
            MetricValue { value, uncertainty },
        );
        self
    }

    pub fn cov(mut self, f: impl FnOnce(&mut Covariates)) -> Case {
        f(&mut self.cov);
        self
    }

    pub fn timeline(&self) -> Timeline {
        Timeline::new(self.doses.clone(), self.courses.clone())
    }

    pub fn run_rules(&self, rules: &[Rule]) -> Vec<Flag> {
        let lookup = |s: &str, m: &str| self.metrics.get(&(s.to_string(), m.to_string())).copied();
        evaluate(rules, &lookup, &self.timeline(), &self.cov, self.fractions)
    }

    pub fn run(&self) -> Vec<Flag> {
        let cat = Catalogue::builtin().expect("builtin catalogue");
        self.run_rules(&default_rules(&cat))
    }

    pub fn flag(&self, id: &str) -> Flag {
        self.run()
            .into_iter()
            .find(|f| f.rule_id == id)
            .unwrap_or_else(|| panic!("no flag {id}"))
    }
}

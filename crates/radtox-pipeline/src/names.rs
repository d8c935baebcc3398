//! Structure-name mapping: clinical names (`Lt Lung`, `BRAIN STEM`, `GTV1`) to TG-263
//! names (`Lung_L`, `Brainstem`, `GTV_1`), with every decision explained.
//!
//! The rules live in TOML name tables (`pipelines/names/tg263-base.toml` and the
//! `[names]` section of a pipeline), never in code. This module only knows how to
//! normalise a name and in which order rules are tried:
//!
//! 1. `ignore` (pipeline): exact names or globs on the original name, dropped on purpose;
//! 2. an alias written exactly as the original name;
//! 3. (with [`map_structures`]) an RTROIInterpretedType that is not anatomy (ISOCENTER,
//!    MARKER, CONTROL, ...);
//! 4. `exclude` globs on the normalised name (planning helpers: rings, walls, blocks);
//! 5. aliases and standard names compared on the normalised name;
//! 6. token patterns (`rib {n} {side}` → `Rib{n:02}_{side}`);
//! 7. lateral organs (`lung` + side → `Lung_L`);
//! 8. a difference `A - B` of two mappable names → `A-B` (TG-263 derived-structure form);
//! 9. (with [`map_structures`]) RTROIInterpretedType EXTERNAL → `External`.
//!
//! Earlier files have priority: a pipeline's own `[names]` before its includes, so a
//! site can override the base table. Nothing is dropped silently: every input name
//! yields one [`Decision`], and two names landing on the same TG-263 name are both
//! reported as ambiguous and neither is used.

use crate::error::{PipelineError, Problem, SourceText};
use crate::pattern::{TokenPattern, glob_match, side_of};
use radtox_model::Structure;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// Where a rule was written: `names/tg263-base.toml:42`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOrigin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for RuleOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// How a decision was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    /// The name, normalised, is a standard TG-263 name of the tables.
    Standard,
    Alias,
    Pattern,
    Lateral,
    /// `A - B` of two mappable names.
    Difference,
    /// From RTROIInterpretedType (EXTERNAL → External).
    InterpretedType,
    /// Deliberately not mapped (ignore list, exclude glob, non-anatomical ROI type).
    Excluded,
    /// No rule applies.
    Unmatched,
    /// Mapped to a name that another structure of the same set also maps to.
    Ambiguous,
}

/// The fate of one structure name.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub original: String,
    /// The TG-263 name, or `None` when unmapped, excluded or ambiguous.
    pub tg263: Option<String>,
    /// Human-readable reason, naming the rule and where it is written.
    pub rule: String,
    pub kind: DecisionKind,
}

/// The outcome of mapping a structure set's names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MappingReport {
    /// One per input name, in input order.
    pub decisions: Vec<Decision>,
    /// Originals with no TG-263 name (unmatched or excluded), in input order.
    pub unmapped: Vec<String>,
    /// `(TG-263 name, originals that all map to it)`; none of them is used.
    pub ambiguous: Vec<(String, Vec<String>)>,
}

impl MappingReport {
    /// `(original, TG-263)` pairs of the structures that were mapped unambiguously.
    pub fn mapped(&self) -> impl Iterator<Item = (&str, &str)> {
        self.decisions
            .iter()
            .filter_map(|d| d.tg263.as_deref().map(|t| (d.original.as_str(), t)))
    }

    /// The TG-263 names available to a pipeline (input to [`crate::Pipeline::resolve`]).
    pub fn tg263_names(&self) -> Vec<String> {
        self.mapped().map(|(_, t)| t.to_string()).collect()
    }

    /// The decision for an original name (the first, if the name occurs twice).
    pub fn decision(&self, original: &str) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.original == original)
    }
}

#[derive(Debug, Clone)]
struct Alias {
    written: String,
    key: String,
    target: String,
    origin: RuleOrigin,
}

#[derive(Debug, Clone)]
struct StandardName {
    name: String,
    key: String,
    origin: RuleOrigin,
}

#[derive(Debug, Clone)]
struct Lateral {
    base: String,
    key: String,
    /// The base name normalised, so `OpticNrv_L` is recognised as well as `Optic Nerve L`.
    base_key: String,
    origin: RuleOrigin,
}

#[derive(Debug, Clone)]
struct PatternRule {
    text: String,
    template: String,
    compiled: TokenPattern,
    origin: RuleOrigin,
}

#[derive(Debug, Clone)]
struct Exclude {
    glob: String,
    reason: String,
    origin: RuleOrigin,
}

#[derive(Debug, Clone)]
struct Ignore {
    glob: String,
    origin: RuleOrigin,
}

/// A tissue class (`target = ["GTV*", "PTV*"]`), usable as an `[alpha_beta]` key.
#[derive(Debug, Clone, PartialEq)]
pub struct TissueClass {
    pub name: String,
    pub globs: Vec<String>,
    pub origin: RuleOrigin,
}

/// The name tables of a pipeline and its includes, in priority order.
#[derive(Debug, Clone, Default)]
pub struct NameRules {
    aliases: Vec<Alias>,
    standard: Vec<StandardName>,
    lateral: Vec<Lateral>,
    patterns: Vec<PatternRule>,
    excludes: Vec<Exclude>,
    ignore: Vec<Ignore>,
    classes: Vec<TissueClass>,
    /// Files the rules came from, highest priority first.
    pub files: Vec<String>,
}

/// RTROIInterpretedType values that denote no anatomical volume.
const NON_ANATOMY_TYPES: &[&str] = &[
    "ISOCENTER",
    "MARKER",
    "REGISTRATION",
    "CONTROL",
    "FIXATION",
    "SUPPORT",
    "BOLUS",
    "DOSE_REGION",
    "CONTRAST_AGENT",
    "BRACHY_CHANNEL",
    "BRACHY_ACCESSORY",
    "BRACHY_SRC_APP",
    "BRACHY_CHNL_SHLD",
];

/// Split a clinical name into lower-case words: at any character that is not a letter
/// or digit (`_ - . /` and spaces alike), between letters and digits (`GTV1` → `gtv 1`,
/// `T6` → `t 6`) and at a lower→upper case change (`SpinalCord` → `spinal cord`).
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let boundary = (p.is_alphabetic() && c.is_numeric())
                || (p.is_numeric() && c.is_alphabetic())
                || (p.is_lowercase() && c.is_uppercase());
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
        prev = Some(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The words with laterality spelled one way (`l`/`r`) and a leading side moved to the
/// end, so `Lt Lung`, `Left lung`, `LUNG_L` and `lung-lt` all give `lung l`.
pub fn lateral_words(name: &str) -> Vec<String> {
    let mut w: Vec<String> = words(name)
        .into_iter()
        .map(|t| match side_of(&t) {
            Some('L') => "l".to_string(),
            Some(_) => "r".to_string(),
            None => t,
        })
        .collect();
    if w.len() > 1 && w.first().is_some_and(|t| t == "l" || t == "r") {
        let s = w.remove(0);
        w.push(s);
    }
    w
}

/// The comparison key of a name: [`lateral_words`] joined by single spaces.
pub fn normalise(name: &str) -> String {
    lateral_words(name).join(" ")
}

/// `[names]` of a pipeline, or of a names file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNames {
    #[serde(default)]
    standard: Vec<Spanned<String>>,
    #[serde(default)]
    lateral: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    aliases: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    patterns: Vec<Spanned<RawPattern>>,
    #[serde(default)]
    exclude: Vec<Spanned<RawExclude>>,
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    #[serde(default)]
    classes: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    #[serde(rename = "match")]
    pattern: Spanned<String>,
    name: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExclude {
    #[serde(rename = "match")]
    glob: Spanned<String>,
    reason: Spanned<String>,
}

/// A stand-alone names file (`pipelines/names/*.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNamesFile {
    schema: Spanned<String>,
    #[allow(dead_code)] // documentation for readers of the file
    description: Option<String>,
    #[serde(default)]
    names: RawNames,
}

/// The `schema` value of a names file.
pub const NAMES_SCHEMA: &str = "radtox-names/1";

impl NameRules {
    /// Load a stand-alone names file.
    pub fn load(path: &Path) -> Result<NameRules, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let src = SourceText {
            display: path.display().to_string(),
            text,
        };
        let mut rules = NameRules::default();
        rules.append_names_file(&src)?;
        Ok(rules)
    }

    /// Parse a names file's text and append its rules (lower priority than those
    /// already present).
    pub(crate) fn append_names_file(&mut self, src: &SourceText) -> Result<(), PipelineError> {
        let raw: RawNamesFile = toml::from_str(&src.text).map_err(|e| src.toml_error(&e))?;
        if raw.schema.get_ref() != NAMES_SCHEMA {
            return Err(src.at(
                raw.schema.span().start,
                Problem::Schema {
                    found: raw.schema.get_ref().clone(),
                    expected: NAMES_SCHEMA.into(),
                },
            ));
        }
        self.append(raw.names, src)
    }

    /// Append a `[names]` section (lower priority than what is already there).
    pub(crate) fn append(&mut self, raw: RawNames, src: &SourceText) -> Result<(), PipelineError> {
        let origin = |offset: usize| RuleOrigin {
            file: src.display.clone(),
            line: src.line_of(offset),
        };
        let mut errors = Vec::new();
        self.files.push(src.display.clone());

        for s in &raw.standard {
            let name = s.get_ref().trim();
            if name.is_empty() {
                errors.push(src.at(
                    s.span().start,
                    Problem::BadNameRule("empty standard name".into()),
                ));
                continue;
            }
            self.standard.push(StandardName {
                name: name.to_string(),
                key: normalise(name),
                origin: origin(s.span().start),
            });
        }
        for (written, base) in &raw.lateral {
            let key = normalise(written.get_ref());
            let base_name = base.get_ref().trim();
            if key.is_empty() || base_name.is_empty() {
                errors.push(src.at(
                    written.span().start,
                    Problem::BadNameRule("empty lateral organ name".into()),
                ));
                continue;
            }
            self.lateral.push(Lateral {
                base: base_name.to_string(),
                key,
                base_key: normalise(base_name),
                origin: origin(written.span().start),
            });
        }
        // Two aliases of one file that normalise alike must agree, or the table itself
        // would be ambiguous.
        let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (k, v) in &raw.aliases {
            let written = k.get_ref().trim().to_string();
            let target = v.get_ref().trim().to_string();
            let key = normalise(&written);
            if key.is_empty() || target.is_empty() {
                errors.push(src.at(
                    k.span().start,
                    Problem::BadNameRule(format!("alias '{written}' = '{target}': empty name")),
                ));
                continue;
            }
            if let Some((w0, t0)) = seen.get(&key)
                && *t0 != target
            {
                errors.push(src.at(
                    k.span().start,
                    Problem::BadNameRule(format!(
                        "alias '{written}' → '{target}' and alias '{w0}' → '{t0}' both normalise to '{key}'"
                    )),
                ));
                continue;
            }
            seen.insert(key.clone(), (written.clone(), target.clone()));
            self.aliases.push(Alias {
                written,
                key,
                target,
                origin: origin(k.span().start),
            });
        }
        for p in &raw.patterns {
            let r = p.get_ref();
            match TokenPattern::compile(r.pattern.get_ref(), r.name.get_ref()) {
                Ok(compiled) => self.patterns.push(PatternRule {
                    text: r.pattern.get_ref().clone(),
                    template: r.name.get_ref().clone(),
                    compiled,
                    origin: origin(p.span().start),
                }),
                Err(e) => errors.push(src.at(
                    r.pattern.span().start,
                    Problem::BadNameRule(format!("pattern '{}': {e}", r.pattern.get_ref())),
                )),
            }
        }
        for x in &raw.exclude {
            let r = x.get_ref();
            if r.reason.get_ref().trim().is_empty() {
                errors.push(src.at(
                    r.reason.span().start,
                    Problem::BadNameRule("an exclude rule needs a reason".into()),
                ));
            }
            self.excludes.push(Exclude {
                glob: r.glob.get_ref().to_lowercase(),
                reason: r.reason.get_ref().clone(),
                origin: origin(x.span().start),
            });
        }
        for i in &raw.ignore {
            self.ignore.push(Ignore {
                glob: i.get_ref().clone(),
                origin: origin(i.span().start),
            });
        }
        for (name, globs) in &raw.classes {
            if globs.is_empty() {
                errors.push(src.at(
                    name.span().start,
                    Problem::BadNameRule(format!("class '{}' lists no structures", name.get_ref())),
                ));
            }
            self.classes.push(TissueClass {
                name: name.get_ref().clone(),
                globs: globs.iter().map(|g| g.get_ref().clone()).collect(),
                origin: origin(name.span().start),
            });
        }
        PipelineError::from_list(errors)
    }

    /// Map one name with no ROI type information.
    pub fn map_one(&self, name: &str) -> Decision {
        self.decide(name, None)
    }

    fn decide(&self, name: &str, interpreted_type: Option<&str>) -> Decision {
        let decision = |tg263: Option<String>, rule: String, kind| Decision {
            original: name.to_string(),
            tg263,
            rule,
            kind,
        };
        if let Some(i) = self
            .ignore
            .iter()
            .find(|i| i.glob == name || glob_match(&i.glob, name))
        {
            return decision(
                None,
                format!("ignored by '{}' in {}", i.glob, i.origin),
                DecisionKind::Excluded,
            );
        }
        if let Some(a) = self.aliases.iter().find(|a| a.written == name) {
            return decision(
                Some(a.target.clone()),
                format!("alias '{}' in {}", a.written, a.origin),
                DecisionKind::Alias,
            );
        }
        if let Some(t) = interpreted_type.map(|t| t.trim().to_ascii_uppercase())
            && NON_ANATOMY_TYPES.contains(&t.as_str())
        {
            return decision(
                None,
                format!("RTROIInterpretedType {t}: not an anatomical volume"),
                DecisionKind::Excluded,
            );
        }
        let raw_words = words(name);
        let raw_key = raw_words.join(" ");
        let lat_words = lateral_words(name);
        let key = lat_words.join(" ");
        if key.is_empty() {
            return decision(None, "empty name".into(), DecisionKind::Unmatched);
        }
        if let Some(x) = self
            .excludes
            .iter()
            .find(|x| glob_match(&x.glob, &raw_key) || glob_match(&x.glob, &key))
        {
            return decision(
                None,
                format!("excluded by '{}' in {}: {}", x.glob, x.origin, x.reason),
                DecisionKind::Excluded,
            );
        }
        if let Some(m) = self.map_key(name, &raw_words, &lat_words) {
            return m;
        }
        if let Some(d) = self.difference(name) {
            return d;
        }
        if interpreted_type.is_some_and(|t| t.trim().eq_ignore_ascii_case("EXTERNAL")) {
            return decision(
                Some("External".into()),
                "RTROIInterpretedType EXTERNAL".into(),
                DecisionKind::InterpretedType,
            );
        }
        decision(
            None,
            format!("no rule matched (normalised '{key}')"),
            DecisionKind::Unmatched,
        )
    }

    /// Steps 5–7: aliases and standard names by key, patterns, lateral organs.
    fn map_key(&self, name: &str, raw_words: &[String], lat_words: &[String]) -> Option<Decision> {
        let key = lat_words.join(" ");
        let decision = |tg263: String, rule: String, kind| Decision {
            original: name.to_string(),
            tg263: Some(tg263),
            rule,
            kind,
        };
        if let Some(a) = self.aliases.iter().find(|a| a.key == key) {
            return Some(decision(
                a.target.clone(),
                format!("alias '{}' in {} (normalised '{key}')", a.written, a.origin),
                DecisionKind::Alias,
            ));
        }
        // Alias targets are standard names too: an alias table that produces `A_LAD`
        // must also recognise `A_LAD` itself.
        if let Some(s) = self.standard.iter().find(|s| s.key == key) {
            let rule = if s.name == name {
                format!("TG-263 name listed in {}", s.origin)
            } else {
                format!(
                    "normalised '{key}' = TG-263 '{}' listed in {}",
                    s.name, s.origin
                )
            };
            return Some(decision(s.name.clone(), rule, DecisionKind::Standard));
        }
        if let Some(a) = self.aliases.iter().find(|a| normalise(&a.target) == key) {
            let rule = if a.target == name {
                format!(
                    "TG-263 name, target of alias '{}' in {}",
                    a.written, a.origin
                )
            } else {
                format!(
                    "normalised '{key}' = TG-263 '{}' (target of alias '{}' in {})",
                    a.target, a.written, a.origin
                )
            };
            return Some(decision(a.target.clone(), rule, DecisionKind::Standard));
        }
        let raw: Vec<&str> = raw_words.iter().map(String::as_str).collect();
        let lat: Vec<&str> = lat_words.iter().map(String::as_str).collect();
        for p in &self.patterns {
            // Raw words first so `L3` can be the vertebra L3 before `L` is read as a side.
            if let Some(out) = p.compiled.apply(&raw).or_else(|| p.compiled.apply(&lat)) {
                return Some(decision(
                    out,
                    format!("pattern '{}' → '{}' in {}", p.text, p.template, p.origin),
                    DecisionKind::Pattern,
                ));
            }
        }
        if let Some((side, body)) = lat.split_last()
            && (*side == "l" || *side == "r")
            && !body.is_empty()
        {
            let body_key = body.join(" ");
            if let Some(l) = self
                .lateral
                .iter()
                .find(|l| l.key == body_key || l.base_key == body_key)
            {
                let s = side.to_ascii_uppercase();
                return Some(decision(
                    format!("{}_{s}", l.base),
                    format!("lateral organ '{}' + side {s} ({})", l.base, l.origin),
                    DecisionKind::Lateral,
                ));
            }
        }
        None
    }

    /// `BRAIN - PTV` → `Brain-PTV` when both sides map on their own.
    fn difference(&self, name: &str) -> Option<Decision> {
        for (i, _) in name.match_indices('-') {
            let (a, b) = (name.get(..i)?.trim(), name.get(i + 1..)?.trim());
            if a.is_empty() || b.is_empty() {
                continue;
            }
            let da = self.map_key(a, &words(a), &lateral_words(a));
            let db = self.map_key(b, &words(b), &lateral_words(b));
            if let (Some(da), Some(db)) = (da, db) {
                let (ta, tb) = (da.tg263.unwrap_or_default(), db.tg263.unwrap_or_default());
                return Some(Decision {
                    original: name.to_string(),
                    tg263: Some(format!("{ta}-{tb}")),
                    rule: format!(
                        "difference (TG-263 'A-B' form): '{a}' → {ta} by {}; '{b}' → {tb} by {}",
                        da.rule, db.rule
                    ),
                    kind: DecisionKind::Difference,
                });
            }
        }
        None
    }

    /// True when some rule could turn a plan's structure name into exactly `name`
    /// (`name` is its own mapping). Used to reject pipelines that refer to impossible names.
    pub fn produces(&self, name: &str) -> bool {
        let d = self.map_one(name);
        d.tg263.as_deref() == Some(name)
    }

    /// What `name` would map to, when that differs from `name` (a "did you mean").
    pub fn suggest(&self, name: &str) -> Option<String> {
        self.map_one(name).tg263.filter(|t| t != name)
    }

    /// Examples of every name the tables can produce: standard names, alias targets,
    /// both sides of lateral organs and samples of each pattern. Globs in pipelines are
    /// checked against these.
    pub fn samples(&self) -> Vec<String> {
        let mut out: Vec<String> = self.standard.iter().map(|s| s.name.clone()).collect();
        out.extend(self.aliases.iter().map(|a| a.target.clone()));
        for l in &self.lateral {
            out.push(format!("{}_L", l.base));
            out.push(format!("{}_R", l.base));
        }
        for p in &self.patterns {
            out.extend(p.compiled.samples());
        }
        out.sort();
        out.dedup();
        out
    }

    /// Tissue classes, in priority order.
    pub fn classes(&self) -> &[TissueClass] {
        &self.classes
    }

    /// The first class whose globs match a TG-263 name.
    pub fn class_of(&self, name: &str) -> Option<&TissueClass> {
        self.classes
            .iter()
            .find(|c| c.globs.iter().any(|g| g == name || glob_match(g, name)))
    }
}

/// Map plain structure names (no ROI types). See the module documentation for the order
/// in which rules are tried.
pub fn map_names<S: AsRef<str>>(names: &[S], rules: &NameRules) -> MappingReport {
    finish(
        names
            .iter()
            .map(|n| rules.decide(n.as_ref(), None))
            .collect(),
    )
}

/// Map the structures of an RT Structure Set, also using RTROIInterpretedType: markers,
/// isocentres and control volumes are excluded, and an unmapped EXTERNAL ROI becomes
/// `External`.
pub fn map_structures(structures: &[Structure], rules: &NameRules) -> MappingReport {
    finish(
        structures
            .iter()
            .map(|s| rules.decide(&s.name, s.interpreted_type.as_deref()))
            .collect(),
    )
}

/// Detect collisions and fill the summary lists.
fn finish(mut decisions: Vec<Decision>) -> MappingReport {
    let mut by_target: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, d) in decisions.iter().enumerate() {
        if let Some(t) = &d.tg263 {
            by_target.entry(t.clone()).or_default().push(i);
        }
    }
    let mut ambiguous = Vec::new();
    for (target, idx) in by_target {
        if idx.len() < 2 {
            continue;
        }
        let originals: Vec<String> = idx
            .iter()
            .filter_map(|&i| decisions.get(i).map(|d| d.original.clone()))
            .collect();
        for &i in &idx {
            if let Some(d) = decisions.get_mut(i) {
                let others: Vec<&str> = originals
                    .iter()
                    .map(String::as_str)
                    .filter(|o| *o != d.original)
                    .collect();
                d.rule = format!(
                    "ambiguous: '{}' and '{}' both map to {target}; add an alias or an ignore entry to choose (was: {})",
                    d.original,
                    others.join("', '"),
                    d.rule
                );
                d.tg263 = None;
                d.kind = DecisionKind::Ambiguous;
            }
        }
        ambiguous.push((target, originals));
    }
    let unmapped = decisions
        .iter()
        .filter(|d| matches!(d.kind, DecisionKind::Unmatched | DecisionKind::Excluded))
        .map(|d| d.original.clone())
        .collect();
    MappingReport {
        decisions,
        unmapped,
        ambiguous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_splitting() {
        assert_eq!(words("GTV1"), ["gtv", "1"]);
        assert_eq!(words("BRAIN - PTV"), ["brain", "ptv"]);
        assert_eq!(words("SpinalCord"), ["spinal", "cord"]);
        assert_eq!(words("VB_T06"), ["vb", "t", "06"]);
        assert_eq!(words("Rib03_L"), ["rib", "03", "l"]);
        assert_eq!(words("A_LAD"), ["a", "lad"]);
        assert_eq!(normalise("Lt Lung"), "lung l");
        assert_eq!(normalise("LUNG_LEFT"), "lung l");
        assert_eq!(normalise("rt. breast"), "breast r");
        assert_eq!(normalise("LV"), "lv");
    }
}

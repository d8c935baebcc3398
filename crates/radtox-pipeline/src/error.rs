//! Errors with the place they come from: `file:line:column: what is wrong (what to do)`.

use std::fmt;
use std::path::PathBuf;

/// A place in a pipeline or names file. Lines and columns are 1-based; columns count
/// characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// What is wrong at a [`Location`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// TOML syntax or type error, as the TOML parser words it.
    #[error("{0}")]
    Toml(String),
    #[error("unknown key '{key}' in {section} (expected {expected})")]
    UnknownKey {
        key: String,
        section: String,
        expected: String,
    },
    #[error("missing key '{key}' in {section}")]
    MissingKey { key: String, section: String },
    #[error("unknown include file '{include}' ({reason})")]
    UnknownInclude { include: String, reason: String },
    #[error("unsupported schema '{found}' (expected '{expected}')")]
    Schema { found: String, expected: String },
    #[error("bad metric '{metric}': {reason}")]
    BadMetric { metric: String, reason: String },
    #[error("unknown structure '{name}' in {context}: {hint}")]
    UnknownStructure {
        name: String,
        context: String,
        hint: String,
    },
    #[error("bad expression for derived structure '{name}' at {message}")]
    BadExpr { name: String, message: String },
    /// An impossible or contradictory value (α/β ≤ 0, 0 fractions, ...).
    #[error("{key}: {reason}")]
    BadValue { key: String, reason: String },
    #[error("duplicate {what} '{name}' (first defined at line {first_line})")]
    Duplicate {
        what: String,
        name: String,
        first_line: usize,
    },
    #[error("unknown level '{0}' (expected info, caution, high or very_high)")]
    UnknownLevel(String),
    #[error("rule '{id}': tiers are not monotonic: {reason}")]
    NonMonotonicTiers { id: String, reason: String },
    #[error(
        "rule '{id}' has no {field}: every rule must cite its source and carry its evidence grade"
    )]
    MissingEvidence { id: String, field: String },
    #[error("derived structures refer to each other in a cycle: {0}")]
    Cycle(String),
    #[error("bad name rule: {0}")]
    BadNameRule(String),
}

/// Everything that can go wrong loading, validating or resolving a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: {problem}")]
    At {
        location: Location,
        problem: Problem,
    },
    /// Several independent problems, reported together so a user fixes them in one go.
    #[error("{}", join_lines(.0))]
    Several(Vec<PipelineError>),
    #[error("pipeline '{pipeline}' cannot be applied: {reason}")]
    Resolve { pipeline: String, reason: String },
}

fn join_lines(errors: &[PipelineError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl PipelineError {
    /// The located problems, flattened (one for `At`, all for `Several`).
    pub fn problems(&self) -> Vec<(&Location, &Problem)> {
        match self {
            PipelineError::At { location, problem } => vec![(location, problem)],
            PipelineError::Several(v) => v.iter().flat_map(|e| e.problems()).collect(),
            _ => Vec::new(),
        }
    }

    /// Bundle a list of errors: none → `Ok`, one → itself, more → `Several`.
    pub(crate) fn from_list(mut errors: Vec<PipelineError>) -> Result<(), PipelineError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(PipelineError::Several(errors)),
        }
    }
}

/// The text of a file being loaded, to turn byte offsets into line:column.
#[derive(Debug, Clone)]
pub(crate) struct SourceText {
    pub display: String,
    pub text: String,
}

impl SourceText {
    pub fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        Location {
            file: self.display.clone(),
            line,
            column,
        }
    }

    pub fn at(&self, offset: usize, problem: Problem) -> PipelineError {
        PipelineError::At {
            location: self.location(offset),
            problem,
        }
    }

    pub fn line_of(&self, offset: usize) -> usize {
        self.location(offset).line
    }

    /// Turn a TOML deserialisation error into a located one, rewording the common
    /// `unknown field` message into the house form with the enclosing table named.
    pub fn toml_error(&self, e: &toml::de::Error) -> PipelineError {
        let offset = e.span().map_or(0, |s| s.start);
        let msg = e.message().trim();
        let problem = if let Some(rest) = msg.strip_prefix("unknown field `") {
            let (key, tail) = rest.split_once('`').unwrap_or((rest, ""));
            let expected = tail
                .trim_start_matches(", ")
                .trim_start_matches("expected ")
                .trim_start_matches("one of ")
                .replace('`', "");
            Problem::UnknownKey {
                key: key.to_string(),
                section: self.section_at(offset),
                expected: if expected.is_empty() {
                    "no keys here".into()
                } else {
                    expected
                },
            }
        } else if let Some(rest) = msg.strip_prefix("missing field `") {
            let key = rest.split('`').next().unwrap_or(rest);
            Problem::MissingKey {
                key: key.to_string(),
                section: self.section_at(offset),
            }
        } else {
            Problem::Toml(msg.replace('\n', " "))
        };
        self.at(offset, problem)
    }

    /// The `[table]` / `[[array]]` header in force at an offset, for messages.
    pub fn section_at(&self, offset: usize) -> String {
        let before = self.text.get(..offset.min(self.text.len())).unwrap_or("");
        before
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| {
                // Drop a trailing comment after the header.
                let end = l.rfind(']').map_or(l.len(), |i| i + 1);
                l.get(..end).unwrap_or(l).to_string()
            })
            .unwrap_or_else(|| "the top level".into())
    }
}

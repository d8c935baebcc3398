//! The small pattern languages of name tables: globs (`GTV*`, `Rib??_L`) and token
//! patterns (`rib {n} {side}` → `Rib{n:02}_{side}`).
//!
//! Token patterns are written by physicists in TOML, so they are deliberately simpler
//! than regular expressions: a pattern is a list of white-space separated tokens matched
//! one for one against the tokens of a normalised structure name.

use std::collections::BTreeMap;

/// `*` matches any run of characters (also none), `?` exactly one; everything else
/// matches itself. Case-sensitive: TG-263 names have one canonical spelling.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with one backtrack point (the last `*`): linear in practice
    // and no recursion that a long name could blow up.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || t.get(ti) == Some(&c) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

/// True when the text contains a glob metacharacter.
pub fn is_glob(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// Laterality of a token, if it is a laterality word (`l`, `lt`, `left`, `lft`, and the
/// right-hand equivalents). Tokens are lower case.
pub fn side_of(token: &str) -> Option<char> {
    match token {
        "l" | "lt" | "left" | "lft" => Some('L'),
        "r" | "rt" | "right" | "rgt" => Some('R'),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum PatTok {
    /// Any of these literal words; `optional` tokens may be absent.
    Lit { alts: Vec<String>, optional: bool },
    /// `{n}`: a whole number.
    Int,
    /// `{side}`: a laterality word.
    Side,
    /// `{name:a|b}`: one of the words, remembered under `name`.
    Capture { name: String, alts: Vec<String> },
}

#[derive(Debug, Clone, PartialEq)]
enum TplSeg {
    Text(String),
    Int { width: usize },
    Side,
    Capture { name: String, case: Case },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    Upper,
    Title,
    AsIs,
}

/// A compiled `match` / `name` pair of a `[[names.patterns]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenPattern {
    tokens: Vec<PatTok>,
    template: Vec<TplSeg>,
}

#[derive(Debug, Clone, Default)]
struct Bindings {
    n: Option<u32>,
    side: Option<char>,
    captures: BTreeMap<String, String>,
}

impl TokenPattern {
    /// Compile `match` (`rib {n} {side}`, `vb? t {n}`, `{t:gtv|ptv} {n}`) and the name
    /// template (`Rib{n:02}_{side}`, `{t:upper}_{n}`). Errors say what is wrong in words.
    pub fn compile(pattern: &str, template: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        for word in pattern.split_whitespace() {
            let word = word.to_lowercase();
            let tok = if word == "{n}" {
                PatTok::Int
            } else if word == "{side}" {
                PatTok::Side
            } else if let Some(inner) = word.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                let (name, alts) = inner.split_once(':').ok_or_else(|| {
                    format!("placeholder '{word}' needs alternatives: {{name:a|b}}")
                })?;
                let alts = split_alts(alts, &word)?;
                PatTok::Capture {
                    name: name.to_string(),
                    alts,
                }
            } else {
                let (body, optional) = match word.strip_suffix('?') {
                    Some(b) => (b, true),
                    None => (word.as_str(), false),
                };
                if body.contains(['{', '}']) {
                    return Err(format!("malformed placeholder '{word}'"));
                }
                PatTok::Lit {
                    alts: split_alts(body, &word)?,
                    optional,
                }
            };
            tokens.push(tok);
        }
        if tokens.is_empty() {
            return Err("empty pattern".into());
        }
        let template = parse_template(template)?;
        // Every placeholder of the template must be bound by the pattern, or the name
        // could not be built.
        for seg in &template {
            let bound = match seg {
                TplSeg::Text(_) => true,
                TplSeg::Int { .. } => tokens.contains(&PatTok::Int),
                TplSeg::Side => tokens.contains(&PatTok::Side),
                TplSeg::Capture { name, .. } => tokens
                    .iter()
                    .any(|t| matches!(t, PatTok::Capture { name: n, .. } if n == name)),
            };
            if !bound {
                return Err(format!(
                    "name template uses a placeholder the pattern does not capture ({seg:?})"
                ));
            }
        }
        Ok(TokenPattern { tokens, template })
    }

    /// Match the tokens of a normalised name; on success the TG-263 name.
    pub fn apply(&self, words: &[&str]) -> Option<String> {
        let mut b = Bindings::default();
        if self.match_from(0, words, &mut b) {
            Some(self.render(&b))
        } else {
            None
        }
    }

    fn match_from(&self, pi: usize, words: &[&str], b: &mut Bindings) -> bool {
        let Some(tok) = self.tokens.get(pi) else {
            return words.is_empty();
        };
        let (first, rest) = match words.split_first() {
            Some((f, r)) => (Some(*f), r),
            None => (None, words),
        };
        match tok {
            PatTok::Lit { alts, optional } => {
                if let Some(w) = first
                    && alts.iter().any(|a| a == w)
                    && self.match_from(pi + 1, rest, b)
                {
                    return true;
                }
                *optional && self.match_from(pi + 1, words, b)
            }
            PatTok::Int => {
                let Some(w) = first else { return false };
                if !w.bytes().all(|c| c.is_ascii_digit()) {
                    return false;
                }
                let Ok(n) = w.parse::<u32>() else {
                    return false;
                };
                b.n = Some(n);
                self.match_from(pi + 1, rest, b)
            }
            PatTok::Side => {
                let Some(s) = first.and_then(side_of) else {
                    return false;
                };
                b.side = Some(s);
                self.match_from(pi + 1, rest, b)
            }
            PatTok::Capture { name, alts } => {
                let Some(w) = first else { return false };
                if !alts.iter().any(|a| a == w) {
                    return false;
                }
                b.captures.insert(name.clone(), w.to_string());
                self.match_from(pi + 1, rest, b)
            }
        }
    }

    fn render(&self, b: &Bindings) -> String {
        let mut out = String::new();
        for seg in &self.template {
            match seg {
                TplSeg::Text(t) => out.push_str(t),
                TplSeg::Int { width } => {
                    out.push_str(&format!("{:0width$}", b.n.unwrap_or(0), width = *width))
                }
                TplSeg::Side => out.push(b.side.unwrap_or('?')),
                TplSeg::Capture { name, case } => {
                    let v = b.captures.get(name).map(String::as_str).unwrap_or("");
                    out.push_str(&apply_case(v, *case));
                }
            }
        }
        out
    }

    /// A few names this pattern can produce (numbers 1, 2, 12; both sides; every
    /// alternative). Used to check that a glob in a pipeline can match anything at all.
    pub fn samples(&self) -> Vec<String> {
        let mut bindings = vec![Bindings::default()];
        for tok in &self.tokens {
            let mut next = Vec::new();
            for b in &bindings {
                match tok {
                    PatTok::Int => {
                        for n in [1, 2, 12] {
                            let mut c = b.clone();
                            c.n = Some(n);
                            next.push(c);
                        }
                    }
                    PatTok::Side => {
                        for s in ['L', 'R'] {
                            let mut c = b.clone();
                            c.side = Some(s);
                            next.push(c);
                        }
                    }
                    PatTok::Capture { name, alts } => {
                        for a in alts {
                            let mut c = b.clone();
                            c.captures.insert(name.clone(), a.clone());
                            next.push(c);
                        }
                    }
                    PatTok::Lit { .. } => next.push(b.clone()),
                }
            }
            bindings = next;
        }
        bindings.iter().map(|b| self.render(b)).collect()
    }
}

fn split_alts(body: &str, word: &str) -> Result<Vec<String>, String> {
    let alts: Vec<String> = body.split('|').map(str::to_string).collect();
    if alts.iter().any(String::is_empty) {
        return Err(format!("empty alternative in '{word}'"));
    }
    Ok(alts)
}

fn apply_case(v: &str, case: Case) -> String {
    match case {
        Case::Upper => v.to_uppercase(),
        Case::AsIs => v.to_string(),
        Case::Title => {
            let mut c = v.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        }
    }
}

fn parse_template(t: &str) -> Result<Vec<TplSeg>, String> {
    let mut segs = Vec::new();
    let mut rest = t;
    while !rest.is_empty() {
        if let Some(open) = rest.find('{') {
            if open > 0 {
                segs.push(TplSeg::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("unclosed '{{' in name template '{t}'"))?;
            let inner = &after[..close];
            let seg = match inner.split_once(':') {
                None if inner == "n" => TplSeg::Int { width: 0 },
                None if inner == "side" => TplSeg::Side,
                None => TplSeg::Capture {
                    name: inner.to_string(),
                    case: Case::AsIs,
                },
                Some(("n", w)) => TplSeg::Int {
                    width: w
                        .parse()
                        .map_err(|_| format!("bad width '{w}' in '{{{inner}}}' (e.g. {{n:02}})"))?,
                },
                Some((name, "upper")) => TplSeg::Capture {
                    name: name.to_string(),
                    case: Case::Upper,
                },
                Some((name, "title")) => TplSeg::Capture {
                    name: name.to_string(),
                    case: Case::Title,
                },
                Some((_, m)) => {
                    return Err(format!(
                        "unknown modifier '{m}' in '{{{inner}}}' (expected upper or title)"
                    ));
                }
            };
            segs.push(seg);
            rest = &after[close + 1..];
        } else {
            segs.push(TplSeg::Text(rest.to_string()));
            rest = "";
        }
    }
    if segs.is_empty() {
        return Err("empty name template".into());
    }
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("GTV*", "GTV_1"));
        assert!(glob_match("GTV*", "GTV"));
        assert!(!glob_match("GTV*", "PTV_1"));
        assert!(glob_match("Rib??_L", "Rib03_L"));
        assert!(!glob_match("Rib??_L", "Rib3_L"));
        assert!(glob_match("*and*", "ptv 4 and 5"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn token_patterns() {
        let rib = TokenPattern::compile("rib {n} {side}", "Rib{n:02}_{side}").unwrap();
        assert_eq!(rib.apply(&["rib", "3", "lt"]), Some("Rib03_L".into()));
        assert_eq!(rib.apply(&["rib", "3"]), None);
        let vb = TokenPattern::compile("vb|vertebra? t {n}", "VB_T{n:02}").unwrap();
        assert_eq!(vb.apply(&["t", "6"]), Some("VB_T06".into()));
        assert_eq!(vb.apply(&["vb", "t", "6"]), Some("VB_T06".into()));
        assert_eq!(vb.apply(&["vertebra", "t", "12"]), Some("VB_T12".into()));
        let tgt = TokenPattern::compile("{t:gtv|ptv} {n}", "{t:upper}_{n}").unwrap();
        assert_eq!(tgt.apply(&["ptv", "4"]), Some("PTV_4".into()));
        let all = TokenPattern::compile("{t:gtv|ptv} {d:all|high}", "{t:upper}_{d:title}").unwrap();
        assert_eq!(all.apply(&["gtv", "all"]), Some("GTV_All".into()));
        assert!(all.samples().contains(&"PTV_High".to_string()));
        assert!(TokenPattern::compile("rib", "Rib{n}").is_err());
        assert!(TokenPattern::compile("{t}", "x").is_err());
    }
}

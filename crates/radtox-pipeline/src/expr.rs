//! Derived-structure expressions: `Brain - union(GTV*)`, `Bone_Sternum | Rib* | VB_*`,
//! `External - (External contract 5)`, `PTV expand 10`.
//!
//! Grammar (lowest precedence first; binary operators are left-associative):
//!
//! ```text
//! expr    := term (('|' | '-') term)*          union, difference
//! term    := postfix ('&' postfix)*            intersection binds tighter, as in set algebra
//! postfix := primary (('expand' | 'contract') NUMBER ['mm'])*
//! primary := NAME | GLOB | "quoted name" | 'quoted name' | '(' expr ')'
//!          | ('union' | 'intersect') '(' expr (',' expr)* ')'
//! ```
//!
//! `-` is always an operator, so a name containing `-` or spaces (`Brain-PTV`) must be
//! quoted. Margins are in mm and must be positive: shrinking is `contract`, never a
//! negative `expand`, so a sign typo cannot silently turn a margin inside out.

use std::fmt;

/// The AST of a derived structure. Names are TG-263 or derived names; a `Ref` holding
/// `*` or `?` is a glob standing for the union of every matching structure of the plan.
#[derive(Debug, Clone, PartialEq)]
pub enum StructureExpr {
    Ref(String),
    Union(Vec<StructureExpr>),
    Intersection(Vec<StructureExpr>),
    Difference(Box<StructureExpr>, Box<StructureExpr>),
    /// Isotropic 3-D margin in mm.
    Expand(Box<StructureExpr>, f64),
    Contract(Box<StructureExpr>, f64),
}

impl StructureExpr {
    /// Every name or glob the expression refers to, in order of appearance.
    pub fn refs(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            StructureExpr::Ref(n) => out.push(n),
            StructureExpr::Union(v) | StructureExpr::Intersection(v) => {
                v.iter().for_each(|e| e.collect_refs(out))
            }
            StructureExpr::Difference(a, b) => {
                a.collect_refs(out);
                b.collect_refs(out);
            }
            StructureExpr::Expand(e, _) | StructureExpr::Contract(e, _) => e.collect_refs(out),
        }
    }

    /// Flatten nested unions and intersections and unwrap one-item lists; the set
    /// described is unchanged.
    pub fn simplify(self) -> StructureExpr {
        let flatten = |v: Vec<StructureExpr>, union: bool| -> Vec<StructureExpr> {
            let mut out = Vec::new();
            for e in v.into_iter().map(StructureExpr::simplify) {
                match (e, union) {
                    (StructureExpr::Union(inner), true)
                    | (StructureExpr::Intersection(inner), false) => out.extend(inner),
                    (e, _) => out.push(e),
                }
            }
            out
        };
        match self {
            StructureExpr::Union(v) => {
                let mut v = flatten(v, true);
                if v.len() == 1 {
                    v.remove(0)
                } else {
                    StructureExpr::Union(v)
                }
            }
            StructureExpr::Intersection(v) => {
                let mut v = flatten(v, false);
                if v.len() == 1 {
                    v.remove(0)
                } else {
                    StructureExpr::Intersection(v)
                }
            }
            StructureExpr::Difference(a, b) => {
                StructureExpr::Difference(Box::new(a.simplify()), Box::new(b.simplify()))
            }
            StructureExpr::Expand(e, mm) => StructureExpr::Expand(Box::new(e.simplify()), mm),
            StructureExpr::Contract(e, mm) => StructureExpr::Contract(Box::new(e.simplify()), mm),
            r @ StructureExpr::Ref(_) => r,
        }
    }

    /// Rewrite every `Ref` (globs included) through `f`; used to expand globs into the
    /// concrete structures of a plan.
    pub fn map_refs(&self, f: &mut impl FnMut(&str) -> StructureExpr) -> StructureExpr {
        match self {
            StructureExpr::Ref(n) => f(n),
            StructureExpr::Union(v) => {
                StructureExpr::Union(v.iter().map(|e| e.map_refs(f)).collect())
            }
            StructureExpr::Intersection(v) => {
                StructureExpr::Intersection(v.iter().map(|e| e.map_refs(f)).collect())
            }
            StructureExpr::Difference(a, b) => {
                StructureExpr::Difference(Box::new(a.map_refs(f)), Box::new(b.map_refs(f)))
            }
            StructureExpr::Expand(e, mm) => StructureExpr::Expand(Box::new(e.map_refs(f)), *mm),
            StructureExpr::Contract(e, mm) => StructureExpr::Contract(Box::new(e.map_refs(f)), *mm),
        }
    }
}

impl fmt::Display for StructureExpr {
    /// Fully parenthesised, names quoted when needed: the output parses back to the same AST.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Unions and intersections in function form, so one-item lists survive.
        let list = |f: &mut fmt::Formatter<'_>, v: &[StructureExpr], func: &str| -> fmt::Result {
            write!(f, "{func}(")?;
            for (i, e) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{e}")?;
            }
            f.write_str(")")
        };
        match self {
            StructureExpr::Ref(n) if n.chars().all(is_name_char) && !is_keyword(n) => {
                f.write_str(n)
            }
            StructureExpr::Ref(n) => write!(f, "\"{n}\""),
            StructureExpr::Union(v) => list(f, v, "union"),
            StructureExpr::Intersection(v) => list(f, v, "intersect"),
            StructureExpr::Difference(a, b) => write!(f, "({a} - {b})"),
            StructureExpr::Expand(e, mm) => write!(f, "({e} expand {mm})"),
            StructureExpr::Contract(e, mm) => write!(f, "({e} contract {mm})"),
        }
    }
}

/// A syntax error in an expression; `column` is 1-based, in characters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ExprError {
    pub column: usize,
    pub message: String,
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '*' | '?' | '.' | '+' | '^' | '~')
}

fn is_keyword(w: &str) -> bool {
    matches!(w, "expand" | "contract" | "union" | "intersect" | "mm")
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Op(char),
}

/// Parse an expression.
pub fn parse_expr(text: &str) -> Result<StructureExpr, ExprError> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end_col: text.chars().count() + 1,
    };
    let e = p.expr()?;
    if let Some((t, col)) = p.toks.get(p.pos) {
        return Err(ExprError {
            column: *col,
            message: format!("unexpected {} after a complete expression", describe(t)),
        });
    }
    Ok(e)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Quoted(w) => format!("\"{w}\""),
        Tok::Op(c) => format!("'{c}'"),
    }
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if matches!(c, '|' | '&' | '-' | '(' | ')' | ',') {
            out.push((Tok::Op(c), col));
            i += 1;
        } else if c == '"' || c == '\'' {
            let start = i + 1;
            let mut j = start;
            while chars.get(j).is_some_and(|&d| d != c) {
                j += 1;
            }
            if j >= chars.len() {
                return Err(ExprError {
                    column: col,
                    message: format!("unclosed quote {c}"),
                });
            }
            let name: String = chars[start..j].iter().collect();
            if name.trim().is_empty() {
                return Err(ExprError {
                    column: col,
                    message: "empty quoted name".into(),
                });
            }
            out.push((Tok::Quoted(name), col));
            i = j + 1;
        } else if is_name_char(c) {
            let start = i;
            while chars.get(i).is_some_and(|&d| is_name_char(d)) {
                i += 1;
            }
            out.push((Tok::Word(chars[start..i].iter().collect()), col));
        } else {
            return Err(ExprError {
                column: col,
                message: format!(
                    "unexpected character '{c}' (operators are | & - ( ), names with other characters must be quoted)"
                ),
            });
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end_col: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end_col, |(_, c)| *c)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ExprError> {
        Err(ExprError {
            column: self.col(),
            message: message.into(),
        })
    }

    fn eat_op(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Op(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<StructureExpr, ExprError> {
        let mut acc = self.term()?;
        loop {
            if self.eat_op('|') {
                let rhs = self.term()?;
                acc = match acc {
                    StructureExpr::Union(mut v) => {
                        v.push(rhs);
                        StructureExpr::Union(v)
                    }
                    other => StructureExpr::Union(vec![other, rhs]),
                };
            } else if self.eat_op('-') {
                let rhs = self.term()?;
                acc = StructureExpr::Difference(Box::new(acc), Box::new(rhs));
            } else {
                return Ok(acc);
            }
        }
    }

    fn term(&mut self) -> Result<StructureExpr, ExprError> {
        let mut acc = self.postfix()?;
        while self.eat_op('&') {
            let rhs = self.postfix()?;
            acc = match acc {
                StructureExpr::Intersection(mut v) => {
                    v.push(rhs);
                    StructureExpr::Intersection(v)
                }
                other => StructureExpr::Intersection(vec![other, rhs]),
            };
        }
        Ok(acc)
    }

    fn postfix(&mut self) -> Result<StructureExpr, ExprError> {
        let mut e = self.primary()?;
        loop {
            let expand = match self.peek() {
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("expand") => true,
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("contract") => false,
                _ => return Ok(e),
            };
            let kw = if expand { "expand" } else { "contract" };
            self.pos += 1;
            let col = self.col();
            let negative = self.eat_op('-');
            let mm = match self.peek() {
                Some(Tok::Word(w)) => match w.parse::<f64>() {
                    Ok(v) if v.is_finite() => v,
                    _ => {
                        return self
                            .err(format!("expected a margin in mm after '{kw}', found '{w}'"));
                    }
                },
                Some(t) => {
                    let t = describe(t);
                    return self.err(format!("expected a margin in mm after '{kw}', found {t}"));
                }
                None => return self.err(format!("expected a margin in mm after '{kw}'")),
            };
            if negative {
                let other = if expand { "contract" } else { "expand" };
                return Err(ExprError {
                    column: col,
                    message: format!(
                        "negative margin -{mm} mm: write '{other} {mm}' instead of '{kw} -{mm}'"
                    ),
                });
            }
            if mm <= 0.0 {
                return self.err(format!("margin must be positive, found {mm} mm"));
            }
            self.pos += 1;
            if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("mm")) {
                self.pos += 1;
            }
            e = if expand {
                StructureExpr::Expand(Box::new(e), mm)
            } else {
                StructureExpr::Contract(Box::new(e), mm)
            };
        }
    }

    fn primary(&mut self) -> Result<StructureExpr, ExprError> {
        match self.peek().cloned() {
            Some(Tok::Op('(')) => {
                self.pos += 1;
                let e = self.expr()?;
                if !self.eat_op(')') {
                    return self.err("expected ')'");
                }
                Ok(e)
            }
            Some(Tok::Quoted(n)) => {
                self.pos += 1;
                Ok(StructureExpr::Ref(n))
            }
            Some(Tok::Word(w)) => {
                let lower = w.to_ascii_lowercase();
                if lower == "union" || lower == "intersect" {
                    self.pos += 1;
                    if !self.eat_op('(') {
                        return self.err(format!("expected '(' after '{w}'"));
                    }
                    let mut items = vec![self.expr()?];
                    while self.eat_op(',') {
                        items.push(self.expr()?);
                    }
                    if !self.eat_op(')') {
                        return self.err(format!("expected ',' or ')' to close '{w}('"));
                    }
                    Ok(if lower == "union" {
                        StructureExpr::Union(items)
                    } else {
                        StructureExpr::Intersection(items)
                    })
                } else if is_keyword(&lower) {
                    self.err(format!("'{w}' is a keyword; quote it to use it as a name"))
                } else if w.parse::<f64>().is_ok() {
                    self.err(format!("expected a structure name, found the number {w}"))
                } else {
                    self.pos += 1;
                    Ok(StructureExpr::Ref(w))
                }
            }
            Some(t) => {
                let t = describe(&t);
                self.err(format!("expected a structure name or '(', found {t}"))
            }
            None => self.err("expression ends where a structure name was expected"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StructureExpr::*;

    fn r(n: &str) -> StructureExpr {
        Ref(n.into())
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(
            parse_expr("Brain - union(GTV*)").unwrap(),
            Difference(Box::new(r("Brain")), Box::new(Union(vec![r("GTV*")])))
        );
        assert_eq!(
            parse_expr("Bone_Sternum | Rib* | VB_*").unwrap(),
            Union(vec![r("Bone_Sternum"), r("Rib*"), r("VB_*")])
        );
        assert_eq!(
            parse_expr("External - (External contract 5)").unwrap(),
            Difference(
                Box::new(r("External")),
                Box::new(Contract(Box::new(r("External")), 5.0))
            )
        );
        assert_eq!(
            parse_expr("PTV expand 10 mm").unwrap(),
            Expand(Box::new(r("PTV")), 10.0)
        );
        assert_eq!(
            parse_expr("\"Brain-PTV\" | PTV_1").unwrap(),
            Union(vec![r("Brain-PTV"), r("PTV_1")])
        );
    }

    #[test]
    fn precedence_and_associativity() {
        // & binds tighter than | and -; - is left-associative: (A - B) - C.
        assert_eq!(
            parse_expr("A | B & C").unwrap(),
            Union(vec![r("A"), Intersection(vec![r("B"), r("C")])])
        );
        assert_eq!(
            parse_expr("A - B - C").unwrap(),
            Difference(
                Box::new(Difference(Box::new(r("A")), Box::new(r("B")))),
                Box::new(r("C"))
            )
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "Brain - union(GTV*)",
            "A | B & C - D",
            "(A expand 3) & 'x y'",
        ] {
            let e = parse_expr(s).unwrap();
            assert_eq!(parse_expr(&e.to_string()).unwrap(), e, "{s}");
        }
    }

    #[test]
    fn errors_name_the_column() {
        let e = parse_expr("PTV expand -3").unwrap_err();
        assert_eq!(e.column, 12);
        assert!(e.message.contains("contract 3"), "{e}");
        assert_eq!(parse_expr("Brain - ").unwrap_err().column, 9);
        assert_eq!(parse_expr("(A | B").unwrap_err().column, 7);
        assert_eq!(parse_expr("A $ B").unwrap_err().column, 3);
        assert_eq!(parse_expr("A B").unwrap_err().column, 3);
        assert_eq!(parse_expr("PTV expand 0").unwrap_err().column, 12);
        assert_eq!(parse_expr("PTV expand x").unwrap_err().column, 12);
    }
}

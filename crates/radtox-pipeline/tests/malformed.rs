//! A table of malformed pipelines and the documented error each one gives, with line and
//! column.

use radtox_pipeline::{Pipeline, PipelineError};
use std::path::PathBuf;

/// Stand-in for the TG-263 parser: the result unit must be one of [Gy], [cc], [%].
fn stand_in(m: &str) -> Result<(), String> {
    if ["[Gy]", "[cc]", "[%]"].iter().any(|u| m.ends_with(u)) {
        Ok(())
    } else {
        Err("unknown result unit".into())
    }
}

const HEAD: &str =
    "schema = \"radtox-pipeline/1\"\nname = \"t\"\ninclude = [\"names/tg263-base.toml\"]\n";

fn path() -> PathBuf {
    // Does not exist; only its folder matters (for the include).
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../pipelines/malformed.toml"
    ))
}

fn error_of(body: &str) -> PipelineError {
    let text = format!("{HEAD}{body}");
    match Pipeline::from_str_at(&text, &path(), &stand_in) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn malformed_pipelines_give_located_errors() {
    // (what, body starting on line 4, line, column, text the message must contain)
    let cases: &[(&str, &str, usize, usize, &str)] = &[
        (
            "unknown α/β key",
            "[alpha_beta]\ndefault = 3.0\nalpha_bta = 2.0\n",
            6,
            1,
            "unknown key 'alpha_bta' in [alpha_beta] (expected 'default', a tissue class",
        ),
        (
            "unknown top-level key",
            "metircs = []\n",
            4,
            1,
            "unknown key 'metircs' in the top level (expected schema, name",
        ),
        (
            "unknown key in a rule",
            "[[rules]]\nid = \"B1\"\ngradee = \"B\"\n",
            6,
            1,
            "unknown key 'gradee' in [[rules]]",
        ),
        (
            "bad metric",
            "[[metrics]]\nstructures = [\"Heart\"]\nmetrics = [\"Mean[Gy]\", \"V12Gy[cm]\"]\n",
            6,
            24,
            "bad metric 'V12Gy[cm]': unknown result unit",
        ),
        (
            "structure no rule can produce",
            "[[metrics]]\nstructures = [\"Lung_l\"]\nmetrics = [\"Mean[Gy]\"]\n",
            5,
            15,
            "unknown structure 'Lung_l' in [[metrics]] #1: no name rule produces it (did you mean 'Lung_L'?)",
        ),
        (
            "glob that matches nothing",
            "[[metrics]]\nstructures = [\"XYZ*\"]\nmetrics = [\"Mean[Gy]\"]\n",
            5,
            15,
            "unknown structure 'XYZ*'",
        ),
        (
            "α/β ≤ 0",
            "[alpha_beta]\nHeart = 0.0\n",
            5,
            9,
            "alpha_beta.Heart: α/β must be a positive number of Gy, found 0",
        ),
        (
            "zero fractions",
            "[fractionation]\nfractions = 0\n",
            5,
            13,
            "fractionation.fractions: must be a whole number ≥ 1, found 0",
        ),
        (
            "negative margin",
            "[[derived]]\nname = \"PTV_5mm\"\nexpr = \"PTV expand -5\"\n",
            // column of '-' inside the string: `expr = "` is 8 characters, '-' is the 12th of the expression
            6,
            20,
            "bad expression for derived structure 'PTV_5mm' at column 12: negative margin -5 mm: write 'contract 5'",
        ),
        (
            "derived refers to an unknown structure",
            "[[derived]]\nname = \"X\"\nexpr = \"Heart | Hart\"\n",
            6,
            8,
            "unknown structure 'Hart' in the expression of derived 'X'",
        ),
        (
            "derived cycle",
            "[[derived]]\nname = \"A\"\nexpr = \"B | Heart\"\n[[derived]]\nname = \"B\"\nexpr = \"A - Heart\"\n",
            4,
            1,
            "derived structures refer to each other in a cycle: A → B",
        ),
        (
            "tiers not monotonic",
            "[[rules]]\nid = \"X1\"\nstructure = \"Heart\"\nmetric = \"Mean[Gy]\"\ngrade = \"B\"\ncitation = \"c\"\ntiers = [ { level = \"caution\", op = \">=\", value = 5.0 }, { level = \"high\", op = \">=\", value = 4.0 } ]\n",
            10,
            58,
            "rule 'X1': tiers are not monotonic: high >= 4 is not harder to reach than caution >= 5",
        ),
        (
            "levels out of order",
            "[[rules]]\nid = \"X1\"\nstructure = \"Heart\"\nmetric = \"Mean[Gy]\"\ngrade = \"B\"\ncitation = \"c\"\ntiers = [ { level = \"high\", op = \">=\", value = 5.0 }, { level = \"caution\", op = \">=\", value = 6.0 } ]\n",
            10,
            55,
            "level caution follows high (levels must increase)",
        ),
        (
            "unknown level",
            "[[rules]]\nid = \"X1\"\nstructure = \"Heart\"\nmetric = \"Mean[Gy]\"\ngrade = \"B\"\ncitation = \"c\"\ntiers = [ { level = \"severe\", op = \">=\", value = 5.0 } ]\n",
            10,
            21,
            "unknown level 'severe' (expected info, caution, high or very_high)",
        ),
        (
            "missing citation",
            "[[rules]]\nid = \"X1\"\nstructure = \"Heart\"\nmetric = \"Mean[Gy]\"\ngrade = \"B\"\ntiers = [ { level = \"high\", op = \">\", value = 4.0 } ]\n",
            4,
            1,
            "rule 'X1' has no citation: every rule must cite its source and carry its evidence grade",
        ),
        (
            "missing grade",
            "[[rules]]\nid = \"X1\"\nstructure = \"Heart\"\nmetric = \"Mean[Gy]\"\ncitation = \"c\"\ntiers = [ { level = \"high\", op = \">\", value = 4.0 } ]\n",
            4,
            1,
            "rule 'X1' has no grade",
        ),
        (
            "duplicate rule id",
            "[[rules]]\nid = \"X1\"\ngrade = \"C\"\ncitation = \"c\"\ntiming = { agents = [\"T-DM1\"], relative_to = \"rt_start\", from_days = -14, to_days = 14, level = \"caution\" }\n[[rules]]\nid = \"X1\"\ngrade = \"C\"\ncitation = \"c\"\ntiming = { agents = [\"T-DM1\"], relative_to = \"rt_start\", from_days = -14, to_days = 14, level = \"caution\" }\n",
            10,
            6,
            "duplicate rule id 'X1' (first defined at line 5)",
        ),
        (
            "unknown covariate",
            "[[rules]]\nid = \"X1\"\ngrade = \"C\"\ncitation = \"c\"\ncovariate = \"platelet\"\ntiers = [ { level = \"high\", op = \"<\", value = 50.0 } ]\n",
            8,
            13,
            "covariate: unknown covariate 'platelet'",
        ),
    ];
    let mut failures = Vec::new();
    for (what, body, line, col, text) in cases {
        let e = error_of(body);
        let shown = e.to_string();
        let want_prefix = format!("{}:{line}:{col}: ", path().display());
        if !shown.starts_with(&want_prefix) || !shown.contains(text) {
            failures.push(format!(
                "{what}:\n  want {want_prefix}…{text}\n  got  {shown}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn unknown_include_and_schema() {
    let text = "schema = \"radtox-pipeline/1\"\nname = \"t\"\ninclude = [\"names/nope.toml\"]\n";
    let e = Pipeline::from_str_at(text, &path(), &stand_in)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(":3:12: unknown include file 'names/nope.toml'"),
        "{e}"
    );

    let text = "schema = \"radtox-pipeline/2\"\nname = \"t\"\n";
    let e = Pipeline::from_str_at(text, &path(), &stand_in)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(":1:10: unsupported schema 'radtox-pipeline/2' (expected 'radtox-pipeline/1')"),
        "{e}"
    );
}

#[test]
fn several_problems_are_reported_together() {
    let e = error_of("[alpha_beta]\nHeart = -1.0\nLung = 3.0\n");
    let problems = e.problems();
    assert_eq!(problems.len(), 2, "{e}");
    assert_eq!(problems[0].0.line, 5);
    assert_eq!(problems[1].0.line, 6);
}

#[test]
fn reading_a_missing_file_names_it() {
    let e = Pipeline::load("/nonexistent/p.toml", &stand_in)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("/nonexistent/p.toml: cannot read"), "{e}");
}

//! Derived structures (`Brain - union(GTV*)`, `PTV expand 10`, …) built with partial
//! volumes.
//!
//! Every plan structure an expression reads is rasterised on **one common lattice**
//! (`radtox_geometry::rasterize_common`), so the boolean operations combine cell
//! fractions of the same cells: a voxel half inside the brain and a quarter inside a GTV
//! keeps a quarter in `Brain - GTV` (fractions combine as `max`, `min` and `a − min(a, b)`,
//! exact when one structure's boundary cells are the other's interior). Margins grow the
//! lattice by whole cells (`Occupancy::expand`), so before two operands are combined
//! their lattices are padded to the larger one ([`align`]): cell positions never move,
//! only the box grows.

use crate::AnalysisError;
use radtox_geometry::{GeometryError, Occupancy, SamplingOptions};
use radtox_model::{DoseGrid, Structure};
use radtox_pipeline::{StructureExpr, glob_match, parse_expr};
use std::collections::BTreeMap;

/// A derived structure requested on the command line (`--derive "NAME = EXPR"`) or by a
/// pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedSpec {
    pub name: String,
    pub expr: StructureExpr,
    /// The expression as written, for reports.
    pub text: String,
    pub note: Option<String>,
}

impl DerivedSpec {
    /// Parse `NAME = EXPR` (the syntax of a pipeline's `[[derived]]` `expr`, see
    /// `pipelines/README.md`). The name may be quoted.
    pub fn parse(arg: &str) -> Result<DerivedSpec, AnalysisError> {
        let bad = |reason: String| AnalysisError::BadDerive {
            arg: arg.to_string(),
            reason,
        };
        let (name, text) = arg
            .split_once('=')
            .ok_or_else(|| bad("expected NAME = EXPRESSION".into()))?;
        let name = name.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        if name.is_empty() {
            return Err(bad("the name before '=' is empty".into()));
        }
        if name.contains(['*', '?']) {
            return Err(bad(format!("the name '{name}' must not be a glob")));
        }
        let expr = parse_expr(text.trim()).map_err(|e| bad(format!("expression {e}")))?;
        Ok(DerivedSpec {
            name: name.to_string(),
            expr,
            text: text.trim().to_string(),
            note: None,
        })
    }
}

/// Replace every name of `expr` by plan structures only: plan names stay references,
/// names of derived structures built before are replaced by their (already inlined)
/// expressions, globs by the union of every plan or derived name they match (never
/// `own`). `Err` lists what is missing.
pub(crate) fn inline(
    expr: &StructureExpr,
    plan: &BTreeMap<String, usize>,
    derived: &BTreeMap<String, StructureExpr>,
    own: &str,
) -> Result<StructureExpr, Vec<String>> {
    let mut missing = Vec::new();
    let resolve = |name: &str| -> Option<StructureExpr> {
        if plan.contains_key(name) {
            Some(StructureExpr::Ref(name.to_string()))
        } else {
            derived.get(name).cloned()
        }
    };
    let e = expr.map_refs(&mut |r| {
        if r.contains(['*', '?']) {
            let mut names: Vec<&String> = plan
                .keys()
                .chain(derived.keys())
                .filter(|n| n.as_str() != own && glob_match(r, n))
                .collect();
            names.sort();
            names.dedup();
            if names.is_empty() {
                missing.push(format!("any '{r}'"));
            }
            StructureExpr::Union(names.into_iter().filter_map(|n| resolve(n)).collect())
        } else {
            resolve(r).unwrap_or_else(|| {
                missing.push(format!("'{r}'"));
                StructureExpr::Ref(r.to_string())
            })
        }
    });
    if missing.is_empty() {
        Ok(e.simplify())
    } else {
        Err(missing)
    }
}

/// Build the occupancy of `expr` (whose names are all keys of `plan`, indices into
/// `structures`) on a lattice common to the structures it reads.
pub(crate) fn build(
    name: &str,
    expr: &StructureExpr,
    plan: &BTreeMap<String, usize>,
    structures: &[Structure],
    grid: &DoseGrid,
    opts: &SamplingOptions,
) -> Result<Occupancy, String> {
    let mut leaves: Vec<&str> = expr.refs();
    leaves.sort_unstable();
    leaves.dedup();
    let mut refs: Vec<&Structure> = Vec::with_capacity(leaves.len());
    for l in &leaves {
        let s = plan
            .get(*l)
            .and_then(|i| structures.get(*i))
            .ok_or_else(|| format!("the plan has no structure '{l}'"))?;
        refs.push(s);
    }
    // A boolean combination's volume is made on the lattice, so unlike a contour's it
    // follows the lattice's resolution: a finer lattice than plain structures need.
    let opts = opts.for_lattice_operations();
    let occs = radtox_geometry::rasterize_common(&refs, grid, &opts)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("none of {} encloses any area", leaves.join(", ")))?;
    let by_name: BTreeMap<&str, &Occupancy> = leaves.iter().copied().zip(occs.iter()).collect();
    let mut occ = eval(expr, &by_name).map_err(|e| e.to_string())?;
    occ.name = name.to_string();
    occ.roi_number = None;
    occ.contour_volume_cc = None;
    Ok(occ)
}

fn eval(e: &StructureExpr, leaves: &BTreeMap<&str, &Occupancy>) -> Result<Occupancy, EvalError> {
    Ok(match e {
        StructureExpr::Ref(n) => (*leaves
            .get(n.as_str())
            .ok_or_else(|| EvalError::Missing(n.clone()))?)
        .clone(),
        StructureExpr::Union(v) | StructureExpr::Intersection(v) => {
            let union = matches!(e, StructureExpr::Union(_));
            let mut it = v.iter();
            let first = it.next().ok_or(EvalError::EmptyList)?;
            let mut acc = eval(first, leaves)?;
            for x in it {
                let (a, b) = align(acc, eval(x, leaves)?)?;
                acc = if union {
                    a.union(&b)?
                } else {
                    a.intersection(&b)?
                };
            }
            acc
        }
        StructureExpr::Difference(a, b) => {
            let (a, b) = align(eval(a, leaves)?, eval(b, leaves)?)?;
            a.difference(&b)?
        }
        StructureExpr::Expand(x, mm) => eval(x, leaves)?.expand(*mm)?,
        StructureExpr::Contract(x, mm) => eval(x, leaves)?.contract(*mm)?,
    })
}

#[derive(Debug, thiserror::Error)]
enum EvalError {
    #[error("no occupancy for '{0}'")]
    Missing(String),
    #[error("an empty union or intersection")]
    EmptyList,
    #[error(transparent)]
    Geometry(#[from] GeometryError),
}

/// Pad two occupancies of one common lattice family (the same cells, boxes grown by
/// margins) to the same box. Padding is symmetric, as margins pad, so the per-axis
/// difference of origins in cells is the padding the smaller one lacks.
fn align(a: Occupancy, b: Occupancy) -> Result<(Occupancy, Occupancy), GeometryError> {
    if a.lattice() == b.lattice() {
        return Ok((a, b));
    }
    let (la, lb) = (a.lattice(), b.lattice());
    let mut pad_a = [0usize; 3];
    let mut pad_b = [0usize; 3];
    for k in 0..3 {
        let cells = ((la.origin[k] - lb.origin[k]) / la.spacing[k]).round();
        if cells > 0.0 {
            pad_a[k] = cells as usize;
        } else {
            pad_b[k] = (-cells) as usize;
        }
    }
    let a = if pad_a == [0; 3] { a } else { a.padded(pad_a)? };
    let b = if pad_b == [0; 3] { b } else { b.padded(pad_b)? };
    // Different lattices that are not padded copies of each other stay different:
    // union/intersection/difference then report the mismatch.
    Ok((a, b))
}

/// Evaluate `expr` on occupancies given by name (all on one lattice family).
pub(crate) fn eval_named(
    expr: &StructureExpr,
    leaves: &BTreeMap<String, Occupancy>,
) -> Result<Occupancy, String> {
    let by: BTreeMap<&str, &Occupancy> = leaves.iter().map(|(k, v)| (k.as_str(), v)).collect();
    eval(expr, &by).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use radtox_model::{ContourPlane, Polygon};

    /// An axis-aligned box [x0, x1] × [y0, y1] contoured every 1 mm on planes
    /// z = 0.5 … 19.5: with half-slab end caps its slab model is exactly z ∈ [0, 20].
    fn cuboid(roi: i32, name: &str, x: [f64; 2], y: [f64; 2]) -> Structure {
        let square = Polygon {
            points: vec![[x[0], y[0]], [x[1], y[0]], [x[1], y[1]], [x[0], y[1]]],
        };
        Structure {
            roi_number: roi,
            name: name.into(),
            interpreted_type: None,
            color: None,
            planes: (0..20)
                .map(|k| ContourPlane {
                    z: 0.5 + k as f64,
                    polygons: vec![square.clone()],
                })
                .collect(),
            ignored: vec![],
            slab_thickness_mm: None,
        }
    }

    fn setup() -> (Vec<Structure>, BTreeMap<String, usize>, DoseGrid) {
        let structures = vec![
            cuboid(1, "A", [-10.0, 10.0], [-10.0, 10.0]),
            cuboid(2, "B", [-5.0, 15.0], [-10.0, 10.0]),
        ];
        let plan = [("A".to_string(), 0), ("B".to_string(), 1)]
            .into_iter()
            .collect();
        let axis: Vec<f64> = (0..41).map(|i| -40.0 + 2.0 * i as f64).collect();
        let dose = ndarray::Array3::from_elem((41, 41, 41), 1.0f32);
        let grid = DoseGrid::new(axis.clone(), axis.clone(), axis, dose).unwrap();
        (structures, plan, grid)
    }

    fn volume(text: &str) -> f64 {
        let (structures, plan, grid) = setup();
        let spec = DerivedSpec::parse(&format!("X = {text}")).unwrap();
        let e = inline(&spec.expr, &plan, &BTreeMap::new(), "X").unwrap();
        build(
            "X",
            &e,
            &plan,
            &structures,
            &grid,
            &SamplingOptions::default(),
        )
        .unwrap()
        .volume_cc()
    }

    #[test]
    fn boolean_operations_of_overlapping_boxes_match_their_volumes() {
        // A: 20 × 20 × 20 mm, B: the same shifted 5 mm along x; overlap 15 × 20 × 20.
        // Each structure's volume is exact; a combination is exact along x and z but
        // rasterisation samples y at row centres and moves the plane's remaining area
        // into its boundary cells, which differ between A and B: 0.03 cc per operation
        // here, under 1 % of the union.
        for (expr, truth) in [
            ("A & B", 6.0),
            ("A | B", 10.0),
            ("A - B", 2.0),
            ("union(A, B) - intersect(A, B)", 4.0),
        ] {
            let got = volume(expr);
            assert!((got - truth).abs() < 0.1, "{expr}: {got} cc vs {truth} cc");
        }
        // Single structures are exact.
        assert!((volume("A") - 8.0).abs() < 1e-6);
    }

    #[test]
    fn a_margin_band_combines_lattices_grown_by_the_margin() {
        // (A expand 2) − A: A's lattice must be padded to the grown one. Steiner volume of
        // a box a×b×c grown by m: abc + 2(ab+bc+ca)m + π(a+b+c)m² + 4π/3 m³.
        let (a, m) = (20.0f64, 2.0f64);
        let pi = std::f64::consts::PI;
        let band = 6.0 * a * a * m + pi * 3.0 * a * m * m + 4.0 / 3.0 * pi * m.powi(3);
        let got = volume("(A expand 2) - A");
        assert!(
            (got - band / 1000.0).abs() < 0.02 * band / 1000.0,
            "{got} cc vs {} cc",
            band / 1000.0
        );
        // Contracting then taking the rest leaves an inner-shell of known volume:
        // a³ − (a − 2m)³.
        let shell = (a.powi(3) - (a - 2.0 * m).powi(3)) / 1000.0;
        let got = volume("A - (A contract 2)");
        assert!((got - shell).abs() < 0.02 * shell, "{got} vs {shell}");
    }

    #[test]
    fn globs_stand_for_every_matching_structure_but_the_one_defined() {
        let (_, plan, _) = setup();
        let spec = DerivedSpec::parse("'All boxes' = union(*)").unwrap();
        let e = inline(&spec.expr, &plan, &BTreeMap::new(), "All boxes").unwrap();
        let mut refs = e.refs();
        refs.sort_unstable();
        assert_eq!(refs, ["A", "B"]);
        let missing = inline(&parse_expr("A - C*").unwrap(), &plan, &BTreeMap::new(), "X");
        assert_eq!(missing.unwrap_err(), vec!["any 'C*'".to_string()]);
    }

    #[test]
    fn bad_derive_arguments_say_what_is_wrong() {
        for (arg, needle) in [
            ("A - B", "NAME = EXPRESSION"),
            (" = A", "empty"),
            ("X* = A", "glob"),
            ("X = A -", "column"),
        ] {
            let e = DerivedSpec::parse(arg).unwrap_err().to_string();
            assert!(e.contains(needle), "{arg}: {e}");
        }
    }
}

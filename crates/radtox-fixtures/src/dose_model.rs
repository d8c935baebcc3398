//! Analytic dose distributions: the dose is a closed-form function of the patient point,
//! so a test knows the true dose everywhere, not only at voxel centres.

/// An analytic dose distribution in Gy over patient coordinates (LPS, mm).
///
/// Negative sums are clipped to 0 Gy by [`DoseModel::dose_at`], because RT Dose pixels
/// are unsigned; the clipped value is the truth the written grid encodes.
#[derive(Debug, Clone, PartialEq)]
pub enum DoseModel {
    /// `d0 + gradient · p` (Gy, Gy/mm, `p` in mm from the patient origin).
    Linear { d0: f64, gradient: [f64; 3] },
    /// The sum of several terms.
    Sum(Vec<DoseTerm>),
}

/// One term of a [`DoseModel::Sum`].
#[derive(Debug, Clone, PartialEq)]
pub enum DoseTerm {
    /// A uniform dose (Gy).
    Constant(f64),
    /// `d0 + gradient · p`.
    Linear { d0: f64, gradient: [f64; 3] },
    /// `peak · exp(-½ Σ ((p−centre)/sigma)²)`: an anisotropic Gaussian boost.
    Gaussian {
        centre: [f64; 3],
        sigma: [f64; 3],
        peak: f64,
    },
    /// `peak / (1 + exp((r − radius_50) / width))`, r the distance to `centre`: a flat core
    /// with a steep sigmoid fall-off, half the peak at `radius_50` (a radiosurgery shot).
    SphericalFalloff {
        centre: [f64; 3],
        radius_50: f64,
        width: f64,
        peak: f64,
    },
    /// `peak · Π_axis σ((half_size − |p − centre|) / edge_width)` with σ the logistic
    /// function: a box of nearly uniform dose with smooth penumbrae (an opposed-field or
    /// tangential-pair-like high-dose region). At a face the dose is half the peak.
    SmoothBox {
        centre: [f64; 3],
        half_size: [f64; 3],
        edge_width: f64,
        peak: f64,
    },
}

/// Finite and > 0 (false for NaN).
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

fn logistic(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

impl DoseTerm {
    /// This term's dose at `p`, unclipped.
    pub fn value_at(&self, p: [f64; 3]) -> f64 {
        match *self {
            DoseTerm::Constant(d) => d,
            DoseTerm::Linear { d0, gradient } => d0 + dot(gradient, p),
            DoseTerm::Gaussian {
                centre,
                sigma,
                peak,
            } => {
                let mut q = 0.0;
                for a in 0..3 {
                    let u = (p[a] - centre[a]) / sigma[a];
                    q += u * u;
                }
                peak * (-0.5 * q).exp()
            }
            DoseTerm::SphericalFalloff {
                centre,
                radius_50,
                width,
                peak,
            } => {
                let r = ((p[0] - centre[0]).powi(2)
                    + (p[1] - centre[1]).powi(2)
                    + (p[2] - centre[2]).powi(2))
                .sqrt();
                peak * logistic((radius_50 - r) / width)
            }
            DoseTerm::SmoothBox {
                centre,
                half_size,
                edge_width,
                peak,
            } => {
                let mut f = peak;
                for a in 0..3 {
                    f *= logistic((half_size[a] - (p[a] - centre[a]).abs()) / edge_width);
                }
                f
            }
        }
    }

    /// Why the term cannot be evaluated, if its parameters are not finite or a width is
    /// not positive.
    pub(crate) fn check(&self) -> Result<(), String> {
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        match self {
            DoseTerm::Constant(d) if !d.is_finite() => Err("constant dose is not finite".into()),
            DoseTerm::Linear { d0, gradient } if !finite(&[*d0]) || !finite(gradient) => {
                Err("linear term is not finite".into())
            }
            DoseTerm::Gaussian {
                centre,
                sigma,
                peak,
            } if !finite(centre) || !finite(&[*peak]) || sigma.iter().any(|s| !positive(*s)) => {
                Err("gaussian needs finite centre/peak and positive sigmas".into())
            }
            DoseTerm::SphericalFalloff {
                centre,
                radius_50,
                width,
                peak,
            } if !finite(centre) || !finite(&[*radius_50, *peak]) || !positive(*width) => Err(
                "spherical fall-off needs finite centre/radius/peak and a positive width".into(),
            ),
            DoseTerm::SmoothBox {
                centre,
                half_size,
                edge_width,
                peak,
            } if !finite(centre)
                || !finite(half_size)
                || !finite(&[*peak])
                || !positive(*edge_width) =>
            {
                Err("smooth box needs finite centre/size/peak and a positive edge width".into())
            }
            _ => Ok(()),
        }
    }
}

impl DoseModel {
    /// The true dose (Gy) at patient point `p` (mm), clipped at 0.
    pub fn dose_at(&self, p: [f64; 3]) -> f64 {
        let d = match self {
            DoseModel::Linear { d0, gradient } => d0 + dot(*gradient, p),
            DoseModel::Sum(terms) => terms.iter().map(|t| t.value_at(p)).sum(),
        };
        d.max(0.0)
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        match self {
            DoseModel::Linear { d0, gradient } => DoseTerm::Linear {
                d0: *d0,
                gradient: *gradient,
            }
            .check(),
            DoseModel::Sum(terms) => terms.iter().try_for_each(DoseTerm::check),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_have_their_defining_values() {
        let lin = DoseModel::Linear {
            d0: 2.0,
            gradient: [0.1, -0.2, 0.05],
        };
        assert!((lin.dose_at([10.0, 5.0, 20.0]) - (2.0 + 1.0 - 1.0 + 1.0)).abs() < 1e-12);
        // Clipped below zero.
        assert_eq!(lin.dose_at([0.0, 100.0, 0.0]), 0.0);

        let shot = DoseTerm::SphericalFalloff {
            centre: [1.0, 2.0, 3.0],
            radius_50: 5.0,
            width: 1.0,
            peak: 20.0,
        };
        assert!((shot.value_at([6.0, 2.0, 3.0]) - 10.0).abs() < 1e-12);
        assert!(shot.value_at([1.0, 2.0, 3.0]) > 19.8);

        let gauss = DoseTerm::Gaussian {
            centre: [0.0; 3],
            sigma: [2.0, 3.0, 4.0],
            peak: 8.0,
        };
        assert!((gauss.value_at([2.0, 0.0, 0.0]) - 8.0 * (-0.5f64).exp()).abs() < 1e-12);

        let bx = DoseTerm::SmoothBox {
            centre: [0.0; 3],
            half_size: [10.0, 10.0, 10.0],
            edge_width: 1.0,
            peak: 50.0,
        };
        // On one face, far from the others: half the peak (× ~1 from the other axes).
        let face = bx.value_at([10.0, 0.0, 0.0]);
        assert!((face - 25.0).abs() < 0.01, "{face}");
    }

    #[test]
    fn bad_parameters_are_reported() {
        let m = DoseModel::Sum(vec![DoseTerm::SphericalFalloff {
            centre: [0.0; 3],
            radius_50: 1.0,
            width: 0.0,
            peak: 1.0,
        }]);
        assert!(m.check().is_err());
    }
}

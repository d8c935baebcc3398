//! TG-263 parser (round trips, malformed inputs) and metric evaluation with known answers.

mod common;
use common::{close, uniform};
use radtox_dose::{
    Domain, Dvh, LqModel, LqParams, MetricContext, MetricError, MetricRequest, default_metrics,
    evaluate, evaluate_all,
};

fn req(text: &str) -> MetricRequest {
    text.parse()
        .unwrap_or_else(|e| panic!("'{text}' should parse: {e}"))
}

#[test]
fn canonical_texts_round_trip() {
    for text in [
        "D95%[Gy]",
        "D95%[%]",
        "D0.03cc[Gy]",
        "D2cc[cGy]",
        "DC700cc[Gy]",
        "V12Gy[cc]",
        "V20Gy[%]",
        "V1200cGy[cc]",
        "V95%[%]",
        "V95%[cc]",
        "CV12Gy[cc]",
        "CV12Gy[%]",
        "Mean[Gy]",
        "Max[Gy]",
        "Min[Gy]",
        "Mean[%]",
        "CI[Paddick]",
        "GI",
        "HI[ICRU83]",
        "D0.03cc[EQD2Gy]",
        "Mean[EQD2Gy]",
        "Max[BEDGy]",
        "V100EQD2Gy[cc]",
        "V50BEDGy[%]",
        "D99.5%[Gy]",
    ] {
        let r = req(text);
        assert_eq!(r.to_string(), text);
        assert_eq!(req(&r.to_string()), r);
    }
}

#[test]
fn tolerant_spellings_canonicalise() {
    for (text, canonical) in [
        ("d95%[gy]", "D95%[Gy]"),
        (" V 20 gy [ CC ] ", "V20Gy[cc]"),
        ("v12GY[cm3]", "V12Gy[cc]"),
        ("D2cm³[Gy]", "D2cc[Gy]"),
        ("D2ml[Gy]", "D2cc[Gy]"),
        ("mean[eqd2gy]", "Mean[EQD2Gy]"),
        ("MAX [ CGY ]", "Max[cGy]"),
        ("ci", "CI[Paddick]"),
        ("CI[paddick]", "CI[Paddick]"),
        ("gi[Paddick]", "GI"),
        ("hi", "HI[ICRU83]"),
        ("d0.030CC[cgy]", "D0.03cc[cGy]"),
        ("cv12gy[%]", "CV12Gy[%]"),
        ("dc700cc[gy]", "DC700cc[Gy]"),
        ("v50bedgy[%]", "V50BEDGy[%]"),
    ] {
        assert_eq!(req(text).to_string(), canonical, "from '{text}'");
    }
}

#[test]
fn domains_and_needs() {
    assert_eq!(req("D95%[Gy]").domain(), Domain::Physical);
    assert_eq!(req("D0.03cc[EQD2Gy]").domain(), Domain::Eqd2);
    assert_eq!(req("V100EQD2Gy[cc]").domain(), Domain::Eqd2);
    assert_eq!(req("V50BEDGy[%]").domain(), Domain::Bed);
    assert_eq!(req("Mean[BEDGy]").domain(), Domain::Bed);
    assert!(req("V95%[%]").needs_prescription());
    assert!(req("D95%[%]").needs_prescription());
    assert!(!req("D95%[Gy]").needs_prescription());
    assert!(req("CI").needs_reference() && req("GI").needs_reference());
    assert!(!req("HI").needs_reference());
}

#[test]
fn malformed_requests_say_what_is_wrong() {
    const DOSE: &str = " (expected Gy, cGy, %, EQD2Gy or BEDGy)";
    const VOL: &str = " (expected cc or %)";
    let cases: Vec<(&str, String)> = vec![
        ("D95%[Gyy]", format!("unknown unit 'Gyy' in 'D95%[Gyy]'{DOSE}")),
        ("D95%", format!("missing [unit] in 'D95%'{DOSE}")),
        ("Mean", format!("missing [unit] in 'Mean'{DOSE}")),
        ("V20Gy", format!("missing [unit] in 'V20Gy'{VOL}")),
        ("V20Gy[Gy]", format!("unknown unit 'Gy' in 'V20Gy[Gy]'{VOL}")),
        ("D0cc[Gy]", "volume must be positive in 'D0cc[Gy]'".into()),
        ("D-5%[Gy]", "volume must be positive in 'D-5%[Gy]'".into()),
        ("D101%[Gy]", "volume percentage 101 is above 100 in 'D101%[Gy]'".into()),
        ("V0Gy[cc]", "dose threshold must be positive in 'V0Gy[cc]'".into()),
        ("V20[cc]", format!("missing dose unit after 'V20' in 'V20[cc]'{DOSE}")),
        ("V20mSv[cc]", format!("unknown dose unit 'mSv' in 'V20mSv[cc]'{DOSE}")),
        ("D95[Gy]", format!("missing volume unit after 'D95' in 'D95[Gy]'{VOL}")),
        ("D95mm[Gy]", format!("unknown volume unit 'mm' in 'D95mm[Gy]'{VOL}")),
        ("D1.2.3cc[Gy]", "invalid number '1.2.3' in 'D1.2.3cc[Gy]'".into()),
        ("D%[Gy]", "missing number after 'D' in 'D%[Gy]'".into()),
        ("VGy[cc]", "missing number after 'V' in 'VGy[cc]'".into()),
        (
            "Q95%[Gy]",
            "unknown metric 'Q95%' in 'Q95%[Gy]' (expected D, DC, V, CV, Mean, Max, Min, CI, GI or HI)"
                .into(),
        ),
        (
            "Dmean[Gy]",
            "unknown metric 'Dmean' in 'Dmean[Gy]' (expected D, DC, V, CV, Mean, Max, Min, CI, GI or HI)"
                .into(),
        ),
        ("", "empty metric in ''".into()),
        ("D95%[Gy", "unclosed '[' in 'D95%[Gy'".into()),
        ("D95%[Gy]x", "unexpected text 'x' after ']' in 'D95%[Gy]x'".into()),
        ("CI[foo]", "unknown unit 'foo' in 'CI[foo]' (expected Paddick)".into()),
        ("HI[ICRU62]", "unknown unit 'ICRU62' in 'HI[ICRU62]' (expected ICRU83)".into()),
    ];
    for (text, want) in cases {
        match text.parse::<MetricRequest>() {
            Ok(r) => panic!("'{text}' parsed as {r}"),
            Err(e) => {
                assert_eq!(e.text, text);
                assert_eq!(e.to_string(), want, "for '{text}'");
            }
        }
    }
}

#[test]
fn serde_uses_the_canonical_text() {
    let r = req("d95 % [gy]");
    assert_eq!(serde_json::to_string(&r).unwrap(), "\"D95%[Gy]\"");
    let back: MetricRequest = serde_json::from_str("\"V20Gy[%]\"").unwrap();
    assert_eq!(back, req("V20Gy[%]"));
    let err = serde_json::from_str::<MetricRequest>("\"V20Gy[Gy]\"").unwrap_err();
    assert!(err.to_string().contains("unknown unit 'Gy'"), "{err}");
}

#[test]
fn prescription_relative_metrics() {
    // 10 cc uniform on [54, 66] Gy, Rx 60 Gy.
    let (dose, weight) = uniform(54.0, 66.0, 100_000, 0.0001);
    let dvh = Dvh::from_samples(&dose, &weight);
    let total = dvh.volume_cc();
    let ctx = MetricContext {
        prescription_gy: Some(60.0),
        reference: None,
    };
    let ev = |t: &str| evaluate(&req(t), &dvh, &ctx).unwrap();
    close(ev("V100%[%]"), 50.0, 1e-3, "V100%[%]");
    close(
        ev("V95%[cc]"),
        (66.0 - 57.0) / 12.0 * total,
        1e-4,
        "V95%[cc]",
    );
    close(
        ev("D95%[%]"),
        (66.0 - 0.95 * 12.0) / 60.0 * 100.0,
        1e-3,
        "D95%[%]",
    );
    close(ev("Mean[%]"), 100.0, 1e-3, "Mean[%]");
    close(ev("CV57Gy[%]"), 25.0, 1e-3, "CV57Gy[%]");
    // Without a prescription: a clear error, not a number.
    let none = MetricContext::default();
    let e = evaluate(&req("V95%[%]"), &dvh, &none).unwrap_err();
    assert_eq!(e.to_string(), "V95%[%] needs a prescription dose");
    let bad = MetricContext {
        prescription_gy: Some(0.0),
        reference: None,
    };
    assert!(matches!(
        evaluate(&req("D95%[%]"), &dvh, &bad),
        Err(MetricError::InvalidPrescription { .. })
    ));
    // Physical-only metrics don't need one.
    close(
        evaluate(&req("D50%[Gy]"), &dvh, &none).unwrap(),
        60.0,
        1e-3,
        "D50%",
    );
}

/// Samples at a few dose levels, `cc` each, made of small 0.001 cc pieces.
fn levels(parts: &[(f32, f64)]) -> (Vec<f32>, Vec<f32>) {
    let mut d = Vec::new();
    for &(dose, cc) in parts {
        let n = (cc / 0.001).round() as usize;
        d.extend(std::iter::repeat_n(dose, n));
    }
    let w = vec![0.001f32; d.len()];
    (d, w)
}

#[test]
fn paddick_conformity_and_gradient_indices() {
    let rx = 20.0;
    // Target: 10 cc, of which 8 cc receive ≥ Rx (22 Gy) and 2 cc less (17 Gy).
    let target_parts = [(22.0, 8.0), (17.0, 2.0)];
    // Body = target + 4 cc of normal tissue at 21 Gy (≥ Rx) + 20 cc at 12 Gy
    // (≥ 50 % Rx) + 100 cc at 3 Gy.
    let mut body_parts = target_parts.to_vec();
    body_parts.extend([(21.0, 4.0), (12.0, 20.0), (3.0, 100.0)]);
    let (td, tw) = levels(&target_parts);
    let (bd, bw) = levels(&body_parts);
    let target = Dvh::from_samples(&td, &tw);
    let body = Dvh::from_samples(&bd, &bw);
    let ctx = MetricContext {
        prescription_gy: Some(rx),
        reference: Some(&body),
    };
    // TV_PIV = 8, TV = 10, PIV = 12 → CI = 64/120; GI = (8+2+4+20)/12.
    // Tolerance: a dose step ramps over one 0.001 cc sample.
    let ci = evaluate(&req("CI[Paddick]"), &target, &ctx).unwrap();
    close(ci, 64.0 / 120.0, 5e-4, "Paddick CI");
    let gi = evaluate(&req("GI"), &target, &ctx).unwrap();
    close(gi, 34.0 / 12.0, 5e-4, "GI");
    // Missing reference / prescription.
    let no_ref = MetricContext {
        prescription_gy: Some(rx),
        reference: None,
    };
    assert_eq!(
        evaluate(&req("CI"), &target, &no_ref)
            .unwrap_err()
            .to_string(),
        "CI[Paddick] needs a reference DVH (external contour or whole dose grid)"
    );
    let no_rx = MetricContext {
        prescription_gy: None,
        reference: Some(&body),
    };
    assert!(matches!(
        evaluate(&req("GI"), &target, &no_rx),
        Err(MetricError::NeedsPrescription { .. })
    ));
    // Nothing reaches Rx → CI undefined, with the reason.
    let cold = MetricContext {
        prescription_gy: Some(50.0),
        reference: Some(&body),
    };
    let e = evaluate(&req("CI"), &target, &cold).unwrap_err();
    assert!(matches!(e, MetricError::Undefined { .. }), "{e}");
}

#[test]
fn homogeneity_index_icru83() {
    let (a, b) = (45.0, 55.0);
    let (dose, weight) = uniform(a, b, 100_000, 0.0001);
    let dvh = Dvh::from_samples(&dose, &weight);
    let hi = evaluate(&req("HI[ICRU83]"), &dvh, &MetricContext::default()).unwrap();
    close(hi, 0.96 * (b - a) / ((a + b) / 2.0), 1e-5, "HI");
}

#[test]
fn default_metrics_evaluate_on_a_structure() {
    let names: Vec<String> = default_metrics().iter().map(|m| m.to_string()).collect();
    assert_eq!(
        names,
        [
            "Mean[Gy]",
            "Max[Gy]",
            "Min[Gy]",
            "D0.03cc[Gy]",
            "D2%[Gy]",
            "D50%[Gy]",
            "D95%[Gy]",
            "D98%[Gy]"
        ]
    );
    let (dose, weight) = uniform(0.0, 10.0, 10_000, 0.001);
    let dvh = Dvh::from_samples(&dose, &weight);
    let ctx = MetricContext::default();
    let values: Vec<f64> = default_metrics()
        .iter()
        .map(|m| evaluate(m, &dvh, &ctx).unwrap())
        .collect();
    let want = [5.0, 9.9995, 0.0005, 9.97, 9.8, 5.0, 0.5, 0.2];
    for ((got, want), name) in values.iter().zip(want).zip(&names) {
        close(*got, want, 1e-3, name);
    }
}

#[test]
fn eqd2_metrics_are_sample_wise_and_domain_checked() {
    // Half the volume at 20 Gy, half at 60 Gy, 10 fractions, α/β = 3 Gy:
    // EQD2(20) = 20, EQD2(60) = 60·(1 + 6/3)/(1 + 2/3) = 108 → mean EQD2 64,
    // whereas the EQD2 of the mean dose (40 Gy) would be 56.
    let (d, w) = levels(&[(20.0, 5.0), (60.0, 5.0)]);
    let dvh = Dvh::from_samples(&d, &w);
    let lq = LqParams::new(10, 3.0, LqModel::Lq).unwrap();
    let ctx = MetricContext::default();
    let reqs = [
        req("Mean[EQD2Gy]"),
        req("Max[EQD2Gy]"),
        req("Min[EQD2Gy]"),
        req("V100EQD2Gy[%]"),
        req("Mean[Gy]"),
        req("Mean[BEDGy]"),
    ];
    let got = evaluate_all(&reqs, &dvh, &ctx, Some(&lq));
    let want = [64.0, 108.0, 20.0, 50.0, 40.0, 64.0 * (1.0 + 2.0 / 3.0)];
    // V100EQD2Gy sits on a dose step, which ramps over one 0.001 cc sample (0.01 %).
    for ((g, w), r) in got.iter().zip(want).zip(&reqs) {
        close(*g.as_ref().unwrap(), w, 0.011, &r.to_string());
    }
    // An EQD2 metric on a physical DVH is an error the caller can see coming.
    let e = evaluate(&req("D0.03cc[EQD2Gy]"), &dvh, &ctx).unwrap_err();
    assert_eq!(
        e.to_string(),
        "D0.03cc[EQD2Gy] reads EQD2 dose but the DVH holds physical dose"
    );
    let eqd2 = lq.convert_dvh(&dvh, Domain::Eqd2).unwrap();
    assert!(matches!(
        evaluate(&req("Mean[Gy]"), &eqd2, &ctx),
        Err(MetricError::DomainMismatch { .. })
    ));
    // Without LQ parameters evaluate_all reports the mismatch too.
    assert!(evaluate_all(&reqs[..1], &dvh, &ctx, None)[0].is_err());
}

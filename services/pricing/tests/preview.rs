//! Bond-yield references and the MAR preview over gRPC, with the jurisdiction's profile learned from the
//! registry's events on a private NATS server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{DocumentRef, Money, Rate};
use pdop_proto::pricing::v1::calculation_input::{CostBasis, YieldBasis};
use pdop_proto::pricing::v1::*;
use pdop_testkit::{acting, assert_invalid, reason};
use tonic::Code;
use tonic_types::StatusExt;

fn rate(value: &str) -> Option<Rate> {
    Some(Rate { value: value.into() })
}

fn cny(amount: &str) -> Money {
    Money {
        amount: amount.into(),
        currency: String::new(),
    }
}

fn bond_yield(year: i32, value: &str) -> BondYield {
    BondYield {
        year,
        average_yield: rate(value),
        series: BondYieldSeries::ChinabondCurve10y as i32,
        averaging_method: "中债国债收益率曲线10年期，全年交易日算术平均".into(),
        source_publisher: "中央国债登记结算有限责任公司".into(),
        source_document: Some(DocumentRef {
            uri: "https://docs.example/yield.pdf".into(),
            sha256: "00".repeat(32),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn record(h: &mut Harness, b: BondYield) -> Result<BondYield, tonic::Status> {
    let request = CreateBondYieldRequest {
        bond_yield: Some(b),
        request_id: String::new(),
    };
    Ok(h.client
        .create_bond_yield(authority(request))
        .await?
        .into_inner()
        .bond_yield
        .unwrap())
}

/// The worked example of DOMAIN §3.2 as preview inputs.
fn example() -> CalculationInput {
    CalculationInput {
        jurisdiction: "jurisdictions/yunnan".into(),
        cost_basis: Some(CostBasis::OperatingCost(cny("8000000"))),
        yield_basis: Some(YieldBasis::BondYieldValue(Rate {
            value: "0.017".into(),
        })),
        markup: rate("0.06"),
        tax_method: TaxMethod::IncomeTaxGrossUp as i32,
        income_tax_rate: rate("0.25"),
        period_years: 3,
        ..Default::default()
    }
}

async fn preview(h: &mut Harness, input: CalculationInput) -> Result<CalculationResult, tonic::Status> {
    let request = PreviewMaxAllowedRevenueRequest { input: Some(input) };
    Ok(h.client
        .preview_max_allowed_revenue(authority(request))
        .await?
        .into_inner()
        .result
        .unwrap())
}

#[tokio::test]
async fn the_preview_computes_the_worked_example_and_stores_nothing() {
    let mut h = start().await;
    let result = preview(&mut h, example()).await.unwrap();
    // DOMAIN §3.2: MAR = 8,000,000 + 616,000 + 205,333.33 = 8,821,333.33 a year.
    assert_eq!(result.allowed_profit.unwrap().amount, "616000.00");
    assert_eq!(result.taxes.unwrap().amount, "205333.33");
    assert_eq!(result.max_allowed_revenue.unwrap().amount, "8821333.33");
    assert_eq!(result.profile_id, "yunnan");
    assert_eq!(result.markup_max.unwrap().value, "0.06");
    assert_eq!(result.steps.len(), 11);
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!((outbox, audit), (0, 0), "a preview writes nothing");
}

#[tokio::test]
async fn a_preview_refuses_bad_inputs_naming_each_field() {
    let mut h = start().await;
    // N1 §三(一): 加不超过6个百分点.
    let err = preview(
        &mut h,
        CalculationInput {
            markup: rate("0.07"),
            ..example()
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["input.markup"]);
    let err = preview(
        &mut h,
        CalculationInput {
            markup: rate("six"),
            tax_method: 0,
            cost_basis: Some(CostBasis::OperatingCost(cny("1e6"))),
            ..example()
        },
    )
    .await
    .unwrap_err();
    assert_invalid(
        &err,
        &[
            "input.operating_cost.amount",
            "input.markup.value",
            "input.tax_method",
        ],
    );
    // D9 (N1 §四): the period is at most 3 years.
    let err = preview(
        &mut h,
        CalculationInput {
            period_years: 4,
            ..example()
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["input.period_years"]);
    let err = preview(
        &mut h,
        CalculationInput {
            jurisdiction: "jurisdictions/atlantis".into(),
            ..example()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Only the roles of the contract may preview.
    let request = PreviewMaxAllowedRevenueRequest {
        input: Some(example()),
    };
    let err = h
        .client
        .preview_max_allowed_revenue(acting("organizations/x", &[Role::Developer], request))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn preview_with_an_enormous_cost_is_invalid_argument() {
    // THREATS L1: decimals that would overflow the formula are INVALID_ARGUMENT naming the field, never a panic.
    let mut h = start().await;
    let err = preview(
        &mut h,
        CalculationInput {
            cost_basis: Some(CostBasis::OperatingCost(cny("79228162514264337593543950335"))),
            ..example()
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["input.operating_cost.amount"]);
    let described: Vec<String> = err
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|f| f.description.clone()).collect())
        .unwrap_or_default();
    assert_eq!(described, ["exceeds 10^15 CNY"]);
    // Rates are bounded at parse as well.
    let err = preview(
        &mut h,
        CalculationInput {
            yield_basis: Some(YieldBasis::BondYieldValue(Rate {
                value: "79228162514264337593543950335".into(),
            })),
            ..example()
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["input.bond_yield_value.value"]);
    // Within the bounds, a gross-up rate a hair below 1 overflows T: the formula names the rate.
    let err = preview(
        &mut h,
        CalculationInput {
            cost_basis: Some(CostBasis::OperatingCost(cny("1000000000000000"))),
            income_tax_rate: rate("0.9999999999999999999999999999"),
            ..example()
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["input.income_tax_rate"]);
    // The service still answers.
    let result = preview(&mut h, example()).await.unwrap();
    assert_eq!(result.max_allowed_revenue.unwrap().amount, "8821333.33");
}

#[tokio::test]
async fn bond_yields_are_sourced_immutable_and_corrected_by_superseding() {
    let mut h = start().await;
    let recorded = record(&mut h, bond_yield(2025, "0.0170")).await.unwrap();
    assert_eq!(recorded.name, "bondYields/2025-chinabond-10y");
    assert!(recorded.recorded.is_some());
    let err = record(&mut h, bond_yield(2025, "0.0175")).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    let err = record(
        &mut h,
        BondYield {
            source_publisher: String::new(),
            ..bond_yield(2024, "0.25")
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["bond_yield.average_yield", "bond_yield.source_publisher"]);
    let err = h
        .client
        .create_bond_yield(acting(
            "organizations/op",
            &[Role::Operator],
            CreateBondYieldRequest {
                bond_yield: Some(bond_yield(2023, "0.02")),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // A named yield feeds the preview; once corrected, the old value is refused.
    let by_name = CalculationInput {
        yield_basis: Some(YieldBasis::BondYield(recorded.name.clone())),
        ..example()
    };
    let result = preview(&mut h, by_name.clone()).await.unwrap();
    assert_eq!(result.bond_yield_year, 2025);
    assert_eq!(result.allowed_profit_rate.unwrap().value, "0.0770");
    let corrected = record(
        &mut h,
        BondYield {
            supersedes: recorded.name.clone(),
            ..bond_yield(2025, "0.0171")
        },
    )
    .await
    .unwrap();
    let err = preview(&mut h, by_name).await.unwrap_err();
    assert_eq!(reason(&err), "BOND_YIELD_SUPERSEDED");
    let list = h
        .client
        .list_bond_yields(authority(ListBondYieldsRequest {
            year: 2025,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .bond_yields;
    assert_eq!(
        list.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(),
        [corrected.name.as_str()]
    );
    let old = h
        .client
        .get_bond_yield(authority(GetBondYieldRequest { name: recorded.name }))
        .await
        .unwrap()
        .into_inner()
        .bond_yield
        .unwrap();
    assert_eq!(old.superseded_by, corrected.name);
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE subject = 'pdop.pricing.bond_yield.recorded'")
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(events, 2);
}

/// The shipped profiles, with Yunnan fixing the income-tax gross-up as its tax model.
fn profiles_fixing_the_tax_model() -> std::path::PathBuf {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/rules/profiles");
    let dir = std::env::temp_dir().join(format!("pdop-profiles-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(shipped).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let yunnan = dir.join("yunnan.toml");
    let mut text = std::fs::read_to_string(&yunnan).unwrap();
    text.push_str(
        "\n[pricing]\ntax_model = { value = \"income_tax_gross_up\", source = \"test: a province fixing its tax model\" }\n",
    );
    std::fs::write(&yunnan, text).unwrap();
    dir
}

#[tokio::test]
async fn a_jurisdiction_that_fixes_its_tax_model_refuses_another() {
    // DOMAIN §3.1 [INF]: the tax item is configurable per jurisdiction (N1: 税金按照国家现行相关规定执行).
    let dir = profiles_fixing_the_tax_model();
    let mut h = start_with(&[("rules.profiles_dir", dir.display().to_string())]).await;
    let result = preview(&mut h, example()).await.unwrap();
    assert_eq!(result.taxes.unwrap().amount, "205333.33");
    let err = preview(
        &mut h,
        CalculationInput {
            tax_method: TaxMethod::None as i32,
            ..example()
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["input.tax_method"]);
    assert!(err.message().contains("INCOME_TAX_GROSS_UP"), "{err:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

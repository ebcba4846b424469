//! The derivation of a calculation as numbered steps: each with its formula, the figures substituted into it,
//! its result, its rounding and the provision it applies.

use pdop_proto::common::{Money, Rate, SourceCitation};
use pdop_proto::pricing::v1::{
    CalculationFigure, CalculationStep, RoundingMode, RoundingRule, calculation_figure,
};
use rust_decimal::Decimal;

use super::cents;

/// A value of a figure before it is put in a step.
pub(super) enum Value {
    Money(Decimal),
    Rate(Decimal),
}

impl Value {
    pub(super) fn into_money(self) -> Money {
        match self {
            Value::Money(d) | Value::Rate(d) => Money {
                amount: d.to_string(),
                currency: "CNY".to_owned(),
            },
        }
    }
}

pub(super) fn money(d: Decimal) -> Value {
    Value::Money(cents(d))
}

pub(super) fn rate(d: Decimal) -> Value {
    Value::Rate(d)
}

pub(super) fn figure(key: &str, label: &str, value: Value, origin: &str) -> CalculationFigure {
    let value = match value {
        Value::Money(d) => calculation_figure::Value::Money(Money {
            amount: d.to_string(),
            currency: "CNY".to_owned(),
        }),
        Value::Rate(d) => calculation_figure::Value::Rate(Rate { value: d.to_string() }),
    };
    CalculationFigure {
        key: key.to_owned(),
        label: label.to_owned(),
        value: Some(value),
        origin: origin.to_owned(),
    }
}

pub(super) fn cite(source_id: &str, article: &str, quote: &str) -> SourceCitation {
    SourceCitation {
        source_id: source_id.to_owned(),
        article: article.to_owned(),
        quote: quote.to_owned(),
        ..Default::default()
    }
}

/// The steps of a derivation, numbered as they are added.
#[derive(Default)]
pub(super) struct Steps(pub Vec<CalculationStep>);

impl Steps {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        (key, label, formula): (&str, &str, &str),
        substituted: String,
        inputs: Vec<CalculationFigure>,
        result: CalculationFigure,
        rounding: Option<RoundingMode>,
        source: SourceCitation,
    ) {
        self.push_owned(
            (key, label, formula.to_owned()),
            substituted,
            inputs,
            result,
            rounding,
            source,
            false,
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn push_owned(
        &mut self,
        (key, label, formula): (&str, &str, String),
        substituted: String,
        inputs: Vec<CalculationFigure>,
        result: CalculationFigure,
        rounding: Option<RoundingMode>,
        source: SourceCitation,
        inferred: bool,
    ) {
        let index = i32::try_from(self.0.len() + 1).unwrap_or(i32::MAX);
        self.0.push(CalculationStep {
            index,
            key: key.to_owned(),
            label: label.to_owned(),
            formula,
            substituted,
            inputs,
            result: Some(result),
            rounding: Some(match rounding {
                Some(mode) => RoundingRule {
                    scale: 2,
                    mode: mode as i32,
                },
                None => RoundingRule {
                    scale: 0,
                    mode: RoundingMode::None as i32,
                },
            }),
            source: Some(source),
            inferred,
            note: String::new(),
        });
    }
}

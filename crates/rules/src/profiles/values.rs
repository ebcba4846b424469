//! Value types that profile settings hold besides [`Period`](crate::Period) and `bool`.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A setting together with the provision it comes from, e.g. `3Y` from "S-HN Art.14".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sourced<T> {
    /// The setting.
    pub value: T,
    /// The provision it comes from, using the source ids of DOMAIN.md ("N2 Art.14", "S-YN Art.10").
    pub source: String,
}

/// How the source of a value that no source states begins (REVIEW-EVALUATION §0); the rest names
/// the seed text or DOMAIN section it interprets.
const INFERRED_PREFIX: &str = "inferred —";

impl<T> Sourced<T> {
    /// Returns whether the value is inferred rather than stated by its source.
    pub fn is_inferred(&self) -> bool {
        self.source.starts_with(INFERRED_PREFIX)
    }
}

/// One entry of a list a source enumerates: a required content item of a plan or agreement, or a
/// termination ground.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListItem {
    /// Stable snake_case id, shared across jurisdictions for items with the same meaning.
    pub id: String,
    /// The item's wording in the source.
    pub label: String,
}

/// How often something recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// Every quarter (按季度).
    Quarterly,
    /// Every year (每年, 年度).
    Annual,
    /// Regularly, with no interval stated (定期).
    Periodic,
}

/// How taxes T enter the maximum allowed revenue (N1 §三(一): 税金按照国家现行相关规定执行, no formula).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxModel {
    /// No tax item.
    None,
    /// Corporate income tax grossed up on the allowed profit: T = P × t / (1 − t).
    IncomeTaxGrossUp,
    /// Tax amounts entered item by item.
    Itemized,
}

/// A result an evaluation may give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationGrade {
    /// 通过.
    Pass,
    /// 未通过.
    Fail,
    /// 限期整改: rectify within a time limit, then re-evaluate.
    Rectify,
    /// 优秀 (four-level scheme; no profile configures it).
    Excellent,
    /// 良好.
    Good,
    /// 合格.
    Qualified,
    /// 不合格.
    Unqualified,
}

impl EvaluationGrade {
    /// Returns the grade's wording in the sources.
    pub fn label_zh(self) -> &'static str {
        match self {
            EvaluationGrade::Pass => "通过",
            EvaluationGrade::Fail => "未通过",
            EvaluationGrade::Rectify => "限期整改",
            EvaluationGrade::Excellent => "优秀",
            EvaluationGrade::Good => "良好",
            EvaluationGrade::Qualified => "合格",
            EvaluationGrade::Unqualified => "不合格",
        }
    }

    /// The `pdop.evaluation.v1.EvaluationGrade` value name, e.g. `EVALUATION_GRADE_PASS`.
    pub fn proto_name(self) -> &'static str {
        match self {
            EvaluationGrade::Pass => "EVALUATION_GRADE_PASS",
            EvaluationGrade::Fail => "EVALUATION_GRADE_FAIL",
            EvaluationGrade::Rectify => "EVALUATION_GRADE_RECTIFY",
            EvaluationGrade::Excellent => "EVALUATION_GRADE_EXCELLENT",
            EvaluationGrade::Good => "EVALUATION_GRADE_GOOD",
            EvaluationGrade::Qualified => "EVALUATION_GRADE_QUALIFIED",
            EvaluationGrade::Unqualified => "EVALUATION_GRADE_UNQUALIFIED",
        }
    }
}

/// A condition the registry checks before it accepts a registration application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationPrecondition {
    /// The resource catalogue has been compiled (目录编制).
    CatalogueCompiled,
    /// State-asset management rules are implemented (落实国有资产管理规定).
    StateAssetRules,
}

/// When in the year an operator's annual report is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnualReportDue {
    /// Within the first quarter (每年第一季度).
    FirstQuarter,
    /// At the start of the year, with no date stated (每年年初).
    StartOfYear,
}

/// A day of the year written `MM-DD`, such as the 31 March due date of annual reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MonthDay {
    month: u32,
    day: u32,
}

impl MonthDay {
    /// Returns the day in `year`; 29 February falls back to 28 February outside leap years.
    pub fn in_year(self, year: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, self.day - 1))
    }

    /// Returns the month (1–12).
    pub fn month(self) -> u32 {
        self.month
    }

    /// Returns the day of the month (1–31).
    pub fn day(self) -> u32 {
        self.day
    }
}

impl TryFrom<String> for MonthDay {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let invalid = || format!("invalid month-day {text:?}: expected MM-DD, e.g. \"03-31\"");
        let (month, day) = text.split_once('-').ok_or_else(invalid)?;
        if month.len() != 2 || day.len() != 2 {
            return Err(invalid());
        }
        let month: u32 = month.parse().map_err(|_| invalid())?;
        let day: u32 = day.parse().map_err(|_| invalid())?;
        // 2000 is a leap year, so 02-29 is accepted as a day that exists in some years.
        NaiveDate::from_ymd_opt(2000, month, day).ok_or_else(invalid)?;
        Ok(Self { month, day })
    }
}

impl From<MonthDay> for String {
    fn from(month_day: MonthDay) -> Self {
        month_day.to_string()
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:02}-{:02}", self.month, self.day)
    }
}

/// A non-negative decimal kept as text, such as the markup ceiling "0.06".
///
/// Profiles keep decimals as strings so no precision is lost; services parse them into
/// `rust_decimal::Decimal`. Only the shape is checked here (digits with an optional fraction).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DecimalString(String);

impl DecimalString {
    /// Returns the decimal as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DecimalString {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
        let valid = match text.split_once('.') {
            Some((whole, fraction)) => all_digits(whole) && all_digits(fraction),
            None => all_digits(&text),
        };
        if valid {
            Ok(Self(text))
        } else {
            Err(format!(
                "invalid decimal {text:?}: expected digits with an optional fraction, e.g. \"0.06\""
            ))
        }
    }
}

impl From<DecimalString> for String {
    fn from(decimal: DecimalString) -> Self {
        decimal.0
    }
}

impl fmt::Display for DecimalString {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_day_parses_and_falls_back_outside_leap_years() {
        let march_end = MonthDay::try_from("03-31".to_owned()).expect("valid");
        assert_eq!(march_end.in_year(2026), NaiveDate::from_ymd_opt(2026, 3, 31));
        let leap_day = MonthDay::try_from("02-29".to_owned()).expect("valid");
        assert_eq!(leap_day.in_year(2027), NaiveDate::from_ymd_opt(2027, 2, 28));
        assert_eq!(leap_day.to_string(), "02-29");
        for bad in ["3-31", "03-32", "13-01", "0331", "03-3a"] {
            assert!(MonthDay::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimal_string_accepts_plain_decimals_only() {
        for good in ["0.06", "0.10", "6", "12.5"] {
            assert_eq!(
                DecimalString::try_from(good.to_owned()).expect(good).as_str(),
                good
            );
        }
        for bad in ["", ".06", "0.", "-0.06", "6%", "1e-2", "0,06"] {
            assert!(DecimalString::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }
}

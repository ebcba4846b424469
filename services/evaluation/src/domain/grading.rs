//! Grading schemes (R-EV-07): which grades a scheme has, whether it matches the profile's `evaluation.grades`,
//! and how grades compare (a veto is never overridden to a better grade).

use pdop_proto::evaluation::v1::{EvaluationGrade as Grade, GradingScheme, GradingSchemeKind as Kind};
use pdop_rules::profiles::EvaluationGrade as ProfileGrade;

/// The grades of a scheme, best first.
pub fn grades(kind: Kind) -> &'static [Grade] {
    match kind {
        Kind::PassFailRectify => &[Grade::Pass, Grade::Rectify, Grade::Fail],
        Kind::PassFail => &[Grade::Pass, Grade::Fail],
        Kind::FourLevel => &[
            Grade::Excellent,
            Grade::Good,
            Grade::Qualified,
            Grade::Unqualified,
        ],
        Kind::Unspecified => &[],
    }
}

pub fn kind_of(s: &GradingScheme) -> Kind {
    Kind::try_from(s.kind).unwrap_or_default()
}

pub fn grade(value: i32) -> Grade {
    Grade::try_from(value).unwrap_or_default()
}

fn profile_grade(g: ProfileGrade) -> Grade {
    match g {
        ProfileGrade::Pass => Grade::Pass,
        ProfileGrade::Fail => Grade::Fail,
        ProfileGrade::Rectify => Grade::Rectify,
        ProfileGrade::Excellent => Grade::Excellent,
        ProfileGrade::Good => Grade::Good,
        ProfileGrade::Qualified => Grade::Qualified,
        ProfileGrade::Unqualified => Grade::Unqualified,
    }
}

/// Whether a scheme gives exactly the grades the profile allows.
pub fn matches_profile(kind: Kind, profile: &[ProfileGrade]) -> bool {
    let mut mine: Vec<i32> = grades(kind).iter().map(|g| *g as i32).collect();
    let mut theirs: Vec<i32> = profile.iter().map(|g| profile_grade(*g) as i32).collect();
    mine.sort_unstable();
    theirs.sort_unstable();
    !mine.is_empty() && mine == theirs
}

/// The grade's position in its scheme, 0 the best; grades outside the scheme rank last.
pub fn rank(kind: Kind, g: Grade) -> usize {
    grades(kind).iter().position(|x| *x == g).unwrap_or(usize::MAX)
}

/// How the sources word a grade.
pub fn label(g: Grade) -> &'static str {
    match g {
        Grade::Pass => "通过",
        Grade::Fail => "未通过",
        Grade::Rectify => "限期整改",
        Grade::Excellent => "优秀",
        Grade::Good => "良好",
        Grade::Qualified => "合格",
        Grade::Unqualified => "不合格",
        Grade::Unspecified => "未评定",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_match_only_the_profile_grades_they_give() {
        // R-EV-07: Yunnan pass/fail/rectify (S-YN Art.26); pass/fail elsewhere (inferred).
        let yunnan = [ProfileGrade::Pass, ProfileGrade::Fail, ProfileGrade::Rectify];
        assert!(matches_profile(Kind::PassFailRectify, &yunnan));
        assert!(!matches_profile(Kind::PassFail, &yunnan));
        assert!(!matches_profile(Kind::FourLevel, &yunnan));
        let inferred = [ProfileGrade::Pass, ProfileGrade::Fail];
        assert!(matches_profile(Kind::PassFail, &inferred));
        assert!(!matches_profile(Kind::PassFailRectify, &inferred));
        assert!(!matches_profile(Kind::Unspecified, &[]));
    }

    #[test]
    fn rectify_ranks_between_pass_and_fail() {
        let k = Kind::PassFailRectify;
        assert!(rank(k, Grade::Pass) < rank(k, Grade::Rectify));
        assert!(rank(k, Grade::Rectify) < rank(k, Grade::Fail));
        assert_eq!(rank(k, Grade::Good), usize::MAX);
    }
}

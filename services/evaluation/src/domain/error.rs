//! The evaluation service's one error type and its published list of `ErrorInfo.reason` values.

macro_rules! reasons {
    ($($(#[$meta:meta])* $variant:ident = $text:literal,)+) => {
        /// Every `ErrorInfo.reason` the evaluation service returns.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorReason {
            $($(#[$meta])* $variant,)+
        }

        impl pdop_kit::service_error::Reason for ErrorReason {
            const SERVICE: &'static str = "evaluation";

            fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }
    };
}

reasons! {
    JurisdictionNotFound = "JURISDICTION_NOT_FOUND",
    OrganizationNotFound = "ORGANIZATION_NOT_FOUND",
    AgreementNotFound = "AGREEMENT_NOT_FOUND",
    WrongState = "WRONG_STATE",
    /// R-EV-01: the caller's organization is not a party to the resource.
    NotAParty = "NOT_A_PARTY",
    /// R-EV-02: nobody evaluates, scores or verifies their own organization.
    OwnOrganization = "OWN_ORGANIZATION",
    // Indicator systems (§3.2).
    IndicatorSystemNotFound = "INDICATOR_SYSTEM_NOT_FOUND",
    /// The profile does not evaluate this kind of organization, or not by the caller's kind (§3.3).
    SubjectKindNotEvaluated = "SUBJECT_KIND_NOT_EVALUATED",
    /// R-EV-07: the grading scheme does not match the profile's grades.
    GradingScheme = "GRADING_SCHEME",
    /// §3.2: weights must sum to exactly 1.
    Weights = "WEIGHTS",
    /// §3.2: bands must be contiguous, thresholds strictly decreasing to 0.
    Scale = "SCALE",
    /// §3.2: a dimension the profile names for the subject kind is missing.
    DimensionMissing = "DIMENSION_MISSING",
    // Campaigns (§3.3).
    CampaignNotFound = "CAMPAIGN_NOT_FOUND",
    /// A campaign needs a PUBLISHED system of its subject kind and jurisdiction.
    SystemNotPublished = "SYSTEM_NOT_PUBLISHED",
    /// One annual campaign per year; periodic campaigns must not overlap (inferred).
    CampaignExists = "CAMPAIGN_EXISTS",
    NoSubjects = "NO_SUBJECTS",
    /// §3.3: a listed subject is not of the campaign's kind, jurisdiction and covered period.
    SubjectOutOfScope = "SUBJECT_OUT_OF_SCOPE",
    /// R-EV-02: an evaluator that is also a subject blocks the start.
    EvaluatorIsSubject = "EVALUATOR_IS_SUBJECT",
    /// §3.3: the campaign closes once every evaluation has a result.
    ResultsPending = "RESULTS_PENDING",
    // Evaluations (§3.4).
    EvaluationNotFound = "EVALUATION_NOT_FOUND",
    NotAnEvaluator = "NOT_AN_EVALUATOR",
    EvaluatorRecused = "EVALUATOR_RECUSED",
    /// §3.4: every indicator scored and every veto item found before the result.
    Unscored = "UNSCORED",
    /// §3.4: a triggered veto is never overridden to a better grade (inferred).
    VetoOverride = "VETO_OVERRIDE",
    // Evidence (§3.5).
    EvidenceRecordNotFound = "EVIDENCE_RECORD_NOT_FOUND",
    // Rectification orders (§3.6).
    RectificationOrderNotFound = "RECTIFICATION_ORDER_NOT_FOUND",
    /// §3.6: evaluation orders are final at their first verification; others once the deadline passed.
    OrderFinal = "ORDER_FINAL",
    // Operator reports (§3.7).
    OperatorReportNotFound = "OPERATOR_REPORT_NOT_FOUND",
    /// §3.7: a content item the profile requires is missing.
    ContentMissing = "CONTENT_MISSING",
    NotARecipient = "NOT_A_RECIPIENT",
    ReportExists = "REPORT_EXISTS",
    /// §3.7: the registry has announced no organization for a recipient the profile names.
    NoRecipient = "NO_RECIPIENT",
}

pub type Error = pdop_kit::service_error::Error<ErrorReason>;

/// `FAILED_PRECONDITION` (WRONG_STATE) naming the state `name` is in and the states `action` needs.
pub fn require_state<S: PartialEq + Copy + std::fmt::Debug>(
    name: &str,
    state: S,
    allowed: &[S],
    action: &str,
) -> Result<(), Error> {
    pdop_kit::service_error::require_state(ErrorReason::WrongState, name, state, allowed, action)
}

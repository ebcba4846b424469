//! The review service's one error type and its published list of `ErrorInfo.reason` values.

/// Every `ErrorInfo.reason` the review service returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReason {
    ScenarioApplicationNotFound,
    ReviewerNotFound,
    AgreementNotFound,
    ResourceNotFound,
    OrganizationNotFound,
    JurisdictionNotFound,
    WrongState,
    /// §2.2: the profile's `review.scenario_flow` has no such step.
    ScenarioFlow,
    AgreementNotActive,
    /// R-RV-14.
    AgreementSuspended,
    /// A resource outside the agreement's authorized scope.
    OutOfScope,
    /// R-RV-16, S-YN Art.15.
    NegativeListed,
    /// CORE data is never authorized (N2 Art.5, inferred).
    CoreData,
    PeriodOutsideTerm,
    /// Something a submission needs is missing (construction plan, demands, security measures, delivery method).
    Incomplete,
    NotTheApplicant,
    NotAParty,
    /// R-RV-03: only the LEAD decides.
    NotTheLead,
    /// R-RV-02: nobody reviews their own organization's application.
    OwnApplication,
    /// R-RV-03: a binding seat has not agreed in the current round, or an assigned seat is missing.
    BindingSeatPending,
    /// R-RV-08: a criterion of the profile has not been assessed in the current round.
    CriterionNotAssessed,
    /// §2.13: a panel seat could not be resolved to exactly one organization.
    PanelUnresolved,
    SeatRecused,
    LeadExists,
    NotIndustryRegulator,
    NotYourSeat,
    DataUseApplicationNotFound,
    /// A data-use item outside the scenario's data demand (two-step profiles).
    NotDemanded,
    /// Only the providers of an application's items confirm them.
    NotAProvider,
    AlreadyConfirmed,
    /// §2.4: the lead decides after every provider confirmed.
    ConfirmationsPending,
    /// Nothing was approved, so nothing can be granted (CF-2, §2.4).
    NothingApproved,
    /// §2.4: a panel without a LEAD (Hubei) is decided by the last provider confirmation.
    NoLead,
    DataQualityCheckNotFound,
    /// §2.5: the profile does not let this role raise data checks.
    NotARequester,
    /// §2.5: only the party the profile names answers a check.
    NotResponsible,
    /// An operator's check needs an agreement covering the resource; a developer's an ACTIVE developer agreement.
    NoCoveringAgreement,
    ProductReviewNotFound,
    ProductNotFound,
    /// A checklist result for an item the profile's checklist does not have.
    NotOnChecklist,
    /// Approval needs every applicable checklist item PASSED.
    ChecklistOpen,
    /// S-HN Art.15, S-LY §三(三)4(3): products only for approved scenarios; S-HB §四(三): data use too.
    ScenarioNotApproved,
    /// M-1: while under review only the materials change.
    NotEditableUnderReview,
    AppealNotFound,
    /// §2.6: the profile has no release review of re-developed products.
    NoRedevelopmentReview,
    /// §1.2, R-RV-18 (N2 Art.6): nobody develops or re-develops its own products.
    OwnProducts,
    /// §2.8: the profile has no appeal procedure, or none for this kind.
    AppealsNotEnabled,
    AppellantNotAllowed,
    /// A product review superseded by a newer review of the same product.
    Superseded,
    /// One open appeal per subject.
    AppealOpen,
    NotHandling,
    /// The official who took the decision appealed never handles the appeal.
    OwnDecision,
    DeveloperAdmissionNotFound,
    ObjectionNotFound,
    /// §2.7: the profile has no developer admission procedure (S-ZZ Art.18, 22).
    AdmissionNotUsed,
    /// §2.7: the requested products must be LISTED.
    ProductNotListed,
    /// §2.7: one open admission per developer and operator.
    AdmissionOpen,
    /// §2.7, S-YN Art.13(一): a material the profile requires is missing.
    MaterialsMissing,
    /// R-RV-17: an active SUSPEND, DISQUALIFY or BAR entry, or a serious dishonesty listing.
    Blacklisted,
    /// §2.7: the public notice has not ended yet.
    NoticeOpen,
    /// §2.7, S-YN Art.13(四): an objection is undecided or was upheld.
    ObjectionOpen,
    /// §2.7: a developer exits only voluntarily.
    VoluntaryOnly,
}

impl pdop_kit::service_error::Reason for ErrorReason {
    const SERVICE: &'static str = "review";

    fn as_str(self) -> &'static str {
        match self {
            Self::ScenarioApplicationNotFound => "SCENARIO_APPLICATION_NOT_FOUND",
            Self::ReviewerNotFound => "REVIEWER_NOT_FOUND",
            Self::AgreementNotFound => "AGREEMENT_NOT_FOUND",
            Self::ResourceNotFound => "RESOURCE_NOT_FOUND",
            Self::OrganizationNotFound => "ORGANIZATION_NOT_FOUND",
            Self::JurisdictionNotFound => "JURISDICTION_NOT_FOUND",
            Self::WrongState => "WRONG_STATE",
            Self::ScenarioFlow => "SCENARIO_FLOW",
            Self::AgreementNotActive => "AGREEMENT_NOT_ACTIVE",
            Self::AgreementSuspended => "AGREEMENT_SUSPENDED",
            Self::OutOfScope => "OUT_OF_SCOPE",
            Self::NegativeListed => "NEGATIVE_LISTED",
            Self::CoreData => "CORE_DATA",
            Self::PeriodOutsideTerm => "PERIOD_OUTSIDE_TERM",
            Self::Incomplete => "INCOMPLETE",
            Self::NotTheApplicant => "NOT_THE_APPLICANT",
            Self::NotAParty => "NOT_A_PARTY",
            Self::NotTheLead => "NOT_THE_LEAD",
            Self::OwnApplication => "OWN_APPLICATION",
            Self::BindingSeatPending => "BINDING_SEAT_PENDING",
            Self::CriterionNotAssessed => "CRITERION_NOT_ASSESSED",
            Self::PanelUnresolved => "PANEL_UNRESOLVED",
            Self::SeatRecused => "SEAT_RECUSED",
            Self::LeadExists => "LEAD_EXISTS",
            Self::NotIndustryRegulator => "NOT_INDUSTRY_REGULATOR",
            Self::NotYourSeat => "NOT_YOUR_SEAT",
            Self::DataUseApplicationNotFound => "DATA_USE_APPLICATION_NOT_FOUND",
            Self::NotDemanded => "NOT_DEMANDED",
            Self::NotAProvider => "NOT_A_PROVIDER",
            Self::AlreadyConfirmed => "ALREADY_CONFIRMED",
            Self::ConfirmationsPending => "CONFIRMATIONS_PENDING",
            Self::NothingApproved => "NOTHING_APPROVED",
            Self::NoLead => "NO_LEAD",
            Self::DataQualityCheckNotFound => "DATA_QUALITY_CHECK_NOT_FOUND",
            Self::NotARequester => "NOT_A_REQUESTER",
            Self::NotResponsible => "NOT_RESPONSIBLE",
            Self::NoCoveringAgreement => "NO_COVERING_AGREEMENT",
            Self::ProductReviewNotFound => "PRODUCT_REVIEW_NOT_FOUND",
            Self::ProductNotFound => "PRODUCT_NOT_FOUND",
            Self::NotOnChecklist => "NOT_ON_CHECKLIST",
            Self::ChecklistOpen => "CHECKLIST_OPEN",
            Self::ScenarioNotApproved => "SCENARIO_NOT_APPROVED",
            Self::NotEditableUnderReview => "NOT_EDITABLE_UNDER_REVIEW",
            Self::AppealNotFound => "APPEAL_NOT_FOUND",
            Self::NoRedevelopmentReview => "NO_REDEVELOPMENT_REVIEW",
            Self::OwnProducts => "OWN_PRODUCTS",
            Self::AppealsNotEnabled => "APPEALS_NOT_ENABLED",
            Self::AppellantNotAllowed => "APPELLANT_NOT_ALLOWED",
            Self::Superseded => "SUPERSEDED",
            Self::AppealOpen => "APPEAL_OPEN",
            Self::NotHandling => "NOT_HANDLING",
            Self::OwnDecision => "OWN_DECISION",
            Self::DeveloperAdmissionNotFound => "DEVELOPER_ADMISSION_NOT_FOUND",
            Self::ObjectionNotFound => "OBJECTION_NOT_FOUND",
            Self::AdmissionNotUsed => "ADMISSION_NOT_USED",
            Self::ProductNotListed => "PRODUCT_NOT_LISTED",
            Self::AdmissionOpen => "ADMISSION_OPEN",
            Self::MaterialsMissing => "MATERIALS_MISSING",
            Self::Blacklisted => "BLACKLISTED",
            Self::NoticeOpen => "NOTICE_OPEN",
            Self::ObjectionOpen => "OBJECTION_OPEN",
            Self::VoluntaryOnly => "VOLUNTARY_ONLY",
        }
    }
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

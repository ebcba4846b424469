//! One province's walk through the lifecycle: its parties (fixed per province, so a second run finds them) and
//! what the steps have made so far (named per run).

/// A province and what the steps made in it.
#[derive(Debug, Clone, Default)]
pub struct Province {
    /// Jurisdiction id, also its profile (`yunnan`, `hubei`).
    pub id: String,
    pub display_name: String,
    /// Index of the province, so its organizations' credit codes differ from the other's.
    pub number: u32,
    /// Whether the resource's public notice receives an objection (dismissed before the code is issued).
    pub objection: bool,
    pub resource: String,
    pub registration: String,
    /// The objection filed against the registration's notice, where there is one.
    pub objection_filed: String,
    pub plan: String,
    pub agreement: String,
    /// The scenario application (一场景一审核), where the profile reviews scenarios.
    pub scenario: String,
    pub data_use: String,
    pub product: String,
    pub product_review: String,
    pub product_registration: String,
    pub pricing_case: String,
    pub cost_survey: String,
    pub calculation: String,
    pub cap_price: String,
    pub specific_price: String,
    pub annual_check: String,
    pub evaluation: String,
    /// The evaluation's rectification order, where its grade asks for one.
    pub rectification_order: String,
    /// Its entries in the disclosure log, oldest first.
    pub entries: Vec<pdop_proto::disclosure::v1::Entry>,
}

/// The parties of a province, as `(id suffix, roles)`.
/// One data authority each: a profile naming the data authority as reviewer needs exactly one in the province.
pub const PARTIES: [(&str, pdop_proto::common::OrganizationRole); 5] = {
    use pdop_proto::common::OrganizationRole as R;
    [
        ("data", R::DataAuthority),
        ("agency", R::ImplementingAgency),
        ("stats", R::DataProvider),
        ("operator", R::Operator),
        ("drc", R::PricingAuthority),
    ]
};

impl Province {
    pub fn new(id: &str, display_name: &str, number: u32, objection: bool) -> Self {
        Self {
            id: id.to_owned(),
            display_name: display_name.to_owned(),
            number,
            objection,
            ..Self::default()
        }
    }

    pub fn name(&self) -> String {
        format!("jurisdictions/{}", self.id)
    }

    /// The organization id of one of its parties (`yunnan-data`).
    pub fn org_id(&self, party: &str) -> String {
        format!("{}-{party}", self.id)
    }

    /// The organization name of one of its parties (`organizations/yunnan-data`).
    pub fn org(&self, party: &str) -> String {
        format!("organizations/{}", self.org_id(party))
    }

    /// The lead data authority (数据主管部门).
    pub fn data(&self) -> String {
        self.org("data")
    }

    /// The bureau plans and agreements are filed with: the data authority.
    pub fn bureau(&self) -> String {
        self.data()
    }

    pub fn agency(&self) -> String {
        self.org("agency")
    }

    pub fn provider(&self) -> String {
        self.org("stats")
    }

    pub fn operator(&self) -> String {
        self.org("operator")
    }

    /// The pricing authority (发展改革部门).
    pub fn drc(&self) -> String {
        self.org("drc")
    }

    /// The token role of one of its parties, by organization name.
    pub fn role_of(&self, organization: &str) -> Option<pdop_kit::auth::Role> {
        use pdop_kit::auth::Role;
        use pdop_proto::common::OrganizationRole as R;
        let (_, role) = PARTIES
            .iter()
            .find(|(party, _)| self.org(party) == organization)?;
        Some(match role {
            R::DataAuthority => Role::DataAuthority,
            R::ImplementingAgency => Role::ImplementingAgency,
            R::DataProvider => Role::DataProvider,
            R::Operator => Role::Operator,
            R::PricingAuthority => Role::PricingAuthority,
            _ => return None,
        })
    }

    /// A valid unified social credit code for its party number `party` (both check characters found by trying).
    pub fn credit_code(&self, party: u32) -> anyhow::Result<String> {
        const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
        let base = format!("91530100{:08}", 17_000_000 + self.number * 100 + party);
        for org_check in "0123456789X".chars() {
            for check in ALPHABET.chars() {
                let code = format!("{base}{org_check}{check}");
                if pdop_rules::UnifiedSocialCreditCode::parse(&code).is_ok() {
                    return Ok(code);
                }
            }
        }
        anyhow::bail!("no valid credit code for {base}")
    }
}

//! R-RV-15: when an operator agreement ends (TERMINATED or EXPIRED), every APPROVED or PROVISIONED data use and
//! every APPROVED scenario under it is revoked, and every ADMITTED developer admission exits (S-LY §三(三)5
//! "同步撤销运营机构的公共数据资源调用权限"; inferred elsewhere), in the transaction that applies the registry's
//! event. A redelivered event finds nothing APPROVED left and changes nothing.
use pdop_kit::uow::{Call, RecordedChange};
use pdop_proto::registry::events::v1::AgreementSummary;
use pdop_proto::registry::v1::AgreementState;
use pdop_proto::review::v1::DataUseApplicationState as DataUseState;

use crate::domain::scenario::{self, Decision, Parties};
use crate::domain::{Error, facts};
use crate::grpc::data_uses::revoke_all;
use crate::storage::{Tx, data_uses, facts as read, scenarios};

pub async fn ended(
    tx: &mut Tx,
    call: &Call,
    agreement: &AgreementSummary,
) -> Result<Vec<RecordedChange>, Error> {
    let state = facts::agreement_state(agreement);
    if !matches!(state, AgreementState::Terminated | AgreementState::Expired) {
        return Ok(Vec::new());
    }
    let id = pdop_kit::names::parse(&agreement.name, "agreements").unwrap_or_default();
    let mut changes = Vec::new();
    // The granted data uses lose their access (S-LY §三(三)5); open ones are refused at their next action.
    let granted = [DataUseState::Approved, DataUseState::Provisioned];
    let uses = data_uses::under_agreement(tx, &agreement.name, &granted).await?;
    let grounds = Decision {
        reasons: format!("运营协议终止/到期 {}", agreement.name),
        basis: "R-RV-15; S-LY §三(三)5".to_owned(),
        ..Default::default()
    };
    for change in revoke_all(tx, call, uses, &grounds, "").await? {
        changes.push(change.recorded());
    }
    for name in scenarios::approved_under(tx, id).await? {
        let mut a = scenarios::lock(tx, &name, "", "name").await?;
        let parties = Parties {
            operator: read::organization(tx, &a.operator).await?,
            jurisdiction: read::jurisdiction(tx, &a.jurisdiction).await?,
        };
        let grounds = Decision {
            reasons: format!("运营协议终止/到期 {}", agreement.name),
            basis: "R-RV-15; S-LY §三(三)5".to_owned(),
            ..Default::default()
        };
        let change = scenario::revoke(&mut a, call, grounds, &[], &parties)?;
        scenarios::save(tx, &a, call.now).await?;
        changes.push(change.recorded());
    }
    // §2.7: admitted developers under the agreement exit (OPERATOR_AGREEMENT_ENDED).
    changes.extend(crate::events::admissions::operator_agreement_ended(tx, call, &agreement.name).await?);
    Ok(changes)
}

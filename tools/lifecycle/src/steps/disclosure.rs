//! Disclosure steps: an objection to a public notice, every public fact of a province in the log, the log
//! verified by `pdop-verify`, and the annual report generated from it.

use std::path::PathBuf;

use chrono::Datelike;
use pdop_kit::auth::Role;
use pdop_proto::common::{DocumentRef, PartyKind, RealNameParty};
use pdop_proto::disclosure::v1::*;
use tonic::Code;

use crate::{Platform, Province, until, until_within};

/// Waits until the disclosure service has opened the public notice of `subject`, and files a real-name objection
/// to it with evidence (N3 Art.12); anyone may, without a token.
pub async fn object_to_notice(p: &mut Platform, subject: &str) -> anyhow::Result<String> {
    let list = ListNoticesRequest {
        subject: subject.into(),
        ..Default::default()
    };
    let client = p.disclosure.clone();
    until("the disclosure service opened the notice", || {
        let mut client = client.clone();
        let list = list.clone();
        async move { Ok(!client.list_notices(list).await?.into_inner().notices.is_empty()) }
    })
    .await?;
    let notice = p
        .disclosure
        .list_notices(list)
        .await?
        .into_inner()
        .notices
        .remove(0);
    let objection = CreateObjectionRequest {
        objection: Some(Objection {
            notice: notice.name.clone(),
            objector: Some(RealNameParty {
                party_kind: PartyKind::Person as i32,
                display_name: "李四".into(),
                identity_number: "530102199001011234".into(),
                contact: "13800000000".into(),
                ..Default::default()
            }),
            grounds: "该数据资源的来源证明材料不完整，请予复核。".into(),
            evidence: vec![DocumentRef {
                uri: "https://docs.example/evidence.pdf".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let filed = p
        .disclosure
        .create_objection(objection)
        .await?
        .into_inner()
        .objection
        .unwrap_or_default();
    p.note(format!("filed {} against {}", filed.name, notice.name));
    Ok(filed.name)
}

/// The kinds of public fact every province's walk puts in the log.
fn expected(j: &Province) -> Vec<EntryKind> {
    let mut kinds = vec![
        EntryKind::RegistrationNotice,
        EntryKind::RegistrationResult,
        EntryKind::ImplementationPlan,
        EntryKind::AgreementSigned,
        EntryKind::ProductListed,
        EntryKind::CapPrice,
        EntryKind::SpecificPrice,
    ];
    if j.objection {
        kinds.push(EntryKind::ObjectionOutcome);
    }
    kinds
}

/// Whether an entry's `subject` is `name` or below it (an objection's outcome names
/// `registrations/…/objections/…`).
fn names(name: &str, subject: &str) -> bool {
    !name.is_empty()
        && subject
            .strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The province's entries made by this run (subjects this run named), oldest first.
async fn entries_of(p: &Platform, j: &Province) -> anyhow::Result<Vec<Entry>> {
    let subjects = [
        &j.resource,
        &j.registration,
        &j.objection_filed,
        &j.plan,
        &j.agreement,
        &j.product,
        &j.product_registration,
        &j.cap_price,
        &j.specific_price,
    ];
    let mut found = Vec::new();
    let mut page_token = String::new();
    loop {
        let list = ListEntriesRequest {
            jurisdiction: j.name(),
            page_size: 1000,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = p.disclosure.clone().list_entries(list).await?.into_inner();
        found.extend(
            page.entries
                .into_iter()
                .filter(|e| subjects.iter().any(|s| names(s, &e.subject))),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok(found)
}

/// Waits until every public fact of the province is in the log, and notes each entry with its public page.
pub async fn disclosure_log(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let wanted = expected(j);
    let platform = &*p;
    let province = &*j;
    let result = until(&format!("the log holds every public fact of {}", j.id), || {
        let wanted = wanted.clone();
        async move {
            let entries = entries_of(platform, province).await?;
            Ok(wanted.iter().all(|k| entries.iter().any(|e| e.kind == *k as i32)))
        }
    })
    .await;
    let entries = entries_of(p, j).await?;
    if let Err(err) = result {
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|k| !entries.iter().any(|e| e.kind == **k as i32))
            .map(|k| k.as_str_name())
            .collect();
        return Err(err.context(format!("missing from the log: {missing:?}")));
    }
    for entry in &entries {
        let kind = EntryKind::try_from(entry.kind).map_or("?", |k| k.as_str_name());
        let line = format!(
            "{}: entry {} {kind} {} — {}",
            j.id,
            entry.sequence,
            entry.subject,
            p.entry_page(entry.sequence)
        );
        p.note(line);
    }
    j.entries = entries.iter().map(|e| e.sequence).collect();
    Ok(())
}

/// Waits until a signed tree head covers the province's entries, then runs `pdop-verify` on the log: head
/// signature, consistency with the head it trusted before (when there is one), and inclusion of each entry.
pub async fn verified(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let last = j.entries.iter().copied().max().unwrap_or(0);
    let client = p.disclosure.clone();
    // `make run`'s disclosure service signs a head a minute (disclosure.signing_interval).
    let within = std::time::Duration::from_secs(150);
    until_within("a signed tree head covers the entries", within, || {
        let mut client = client.clone();
        async move {
            let head = client
                .get_signed_tree_head(GetSignedTreeHeadRequest { tree_size: 0 })
                .await;
            match head {
                Ok(head) => Ok(head.into_inner().tree_head.is_some_and(|h| h.tree_size > last)),
                Err(status) if status.code() == Code::NotFound => Ok(false),
                Err(status) => Err(status.into()),
            }
        }
    })
    .await?;
    let binary = p.bin_dir.join("pdop-verify");
    let mut command = tokio::process::Command::new(&binary);
    command
        .arg("--url")
        .arg(&p.endpoints.public)
        .arg("--state")
        .arg(&p.verify_state);
    for sequence in &j.entries {
        command.arg("--entry").arg(sequence.to_string());
    }
    let output = command
        .output()
        .await
        .map_err(|err| anyhow::anyhow!("running {}: {err}", binary.display()))?;
    let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    anyhow::ensure!(
        output.status.success(),
        "pdop-verify failed ({}): {said}",
        output.status
    );
    p.note(format!(
        "{}: pdop-verify checked {} entries: {}",
        j.id,
        j.entries.len(),
        said.lines().take(2).collect::<Vec<_>>().join("; ")
    ));
    Ok(())
}

/// The agency's annual disclosure of last year (N4), then the annual report the log generates for it this year.
pub async fn annual_report(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let year = p.today().await?.year();
    let section = |key: &str, heading: &str| ReportSection {
        key: key.into(),
        heading: heading.into(),
        fields: vec![EntryField {
            key: "summary".into(),
            label: "概况".into(),
            value: format!("{heading}概况"),
            value_type: FieldValueType::Text as i32,
        }],
        text: String::new(),
    };
    let report = DisclosureReport {
        kind: DisclosureReportKind::Annual as i32,
        discloser_role: DiscloserRole::ImplementingAgency as i32,
        jurisdiction: j.name(),
        year: year - 1,
        title: format!("{}{}年度公共数据资源授权运营情况披露", j.display_name, year - 1),
        sections: vec![
            section("agency_info", "实施机构信息"),
            section("authorization_info", "公共数据资源授权信息"),
            section("cap_prices", "上限收费标准"),
        ],
        ..Default::default()
    };
    let publish = PublishDisclosureReportRequest {
        report: Some(report),
        request_id: String::new(),
    };
    let request = p.acting(&j.agency(), &[Role::ImplementingAgency], publish)?;
    match p.disclosure.publish_disclosure_report(request).await {
        Ok(published) => {
            let entry = published.into_inner().entry.unwrap_or_default();
            let line = format!(
                "{}: published the {} annual disclosure as entry {} — {}",
                j.id,
                year - 1,
                entry.sequence,
                p.entry_page(entry.sequence)
            );
            p.note(line);
        }
        // One per organization and year: a second demo run finds it published.
        Err(status) if status.code() == Code::AlreadyExists => {
            p.note(format!(
                "{}: the {} annual disclosure was already published",
                j.id,
                year - 1
            ));
        }
        Err(status) => return Err(status.into()),
    }
    let url = format!(
        "{}/reports/{}/{year}.json",
        p.endpoints.public,
        j.org_id("agency")
    );
    let http = p.http.clone();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let seen = count.clone();
    until("the annual report lists the year's entries", || {
        let (http, url, seen) = (http.clone(), url.clone(), seen.clone());
        async move {
            let response = http.get(&url).send().await?;
            if !response.status().is_success() {
                return Ok(false);
            }
            let report: serde_json::Value = response.json().await?;
            let entries = report["entryCount"].as_i64().unwrap_or(0);
            seen.store(entries, std::sync::atomic::Ordering::Relaxed);
            Ok(entries > 0 && report["treeHead"]["treeSize"].is_string())
        }
    })
    .await?;
    let entries = count.load(std::sync::atomic::Ordering::Relaxed);
    p.note(format!(
        "{}: annual report of {year}: {entries} entries — {url}",
        j.id
    ));
    Ok(())
}

/// Where `pdop-verify` keeps the head it trusts: one file per run.
pub fn verify_state_file(run: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pdop-verify-{run}.json"))
}

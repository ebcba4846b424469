//! Disclosure steps: an objection to a public notice, every public fact of a province in the log, the log
//! verified by `pdop-verify`, and the annual report generated from it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Datelike;
use pdop_kit::auth::Role;
use pdop_kit::clock::china_date;
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
                identity_number: "530102199001011231".into(),
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

/// The public facts every province's walk puts in the log: how many entries of each kind.
fn expected(j: &Province) -> Vec<(EntryKind, usize)> {
    let mut kinds = vec![
        // The resource's registration and the product's.
        (EntryKind::RegistrationNotice, 2),
        (EntryKind::RegistrationResult, 2),
        (EntryKind::ImplementationPlan, 1),
        (EntryKind::AgreementSigned, 1),
        (EntryKind::ProductListed, 1),
        // Each published, then ended: their 2025 period is over on the services' clocks.
        (EntryKind::CapPrice, 2),
        (EntryKind::SpecificPrice, 2),
        // The result, and after a rectification the re-evaluation (R-EV-08: the rectification outcome).
        (
            EntryKind::EvaluationResult,
            if j.rectification_order.is_empty() { 1 } else { 2 },
        ),
    ];
    if j.objection {
        kinds.push((EntryKind::ObjectionOutcome, 1));
    }
    kinds
}

fn count(entries: &[Entry], kind: EntryKind) -> usize {
    entries.iter().filter(|e| e.kind == kind as i32).count()
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
        &j.evaluation,
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

/// Waits until every public fact of the province is in the log, checks there is no more of each than the walk
/// made and that evaluation results publish no score, and notes each entry with its public page.
pub async fn disclosure_log(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let wanted = expected(j);
    let platform = &*p;
    let province = &*j;
    let result = until(&format!("the log holds every public fact of {}", j.id), || {
        let wanted = wanted.clone();
        async move {
            let entries = entries_of(platform, province).await?;
            Ok(wanted.iter().all(|(k, n)| count(&entries, *k) >= *n))
        }
    })
    .await;
    let entries = entries_of(p, j).await?;
    let found: Vec<(&str, usize, usize)> = wanted
        .iter()
        .map(|(k, n)| (k.as_str_name(), *n, count(&entries, *k)))
        .filter(|(_, n, c)| n != c)
        .collect();
    if let Err(err) = result {
        return Err(err.context(format!("(kind, wanted, found): {found:?}")));
    }
    anyhow::ensure!(
        found.is_empty(),
        "more entries than public facts (kind, wanted, found): {found:?}"
    );
    for entry in entries
        .iter()
        .filter(|e| e.kind == EntryKind::EvaluationResult as i32)
    {
        let keys: Vec<&str> = entry
            .body
            .iter()
            .flat_map(|b| &b.fields)
            .map(|f| f.key.as_str())
            .collect();
        // R-EV-08: subject, year, grade and the rectification outcome; never the score.
        anyhow::ensure!(
            keys.iter().any(|k| k.ends_with("grade")) && !keys.iter().any(|k| k.contains("score")),
            "entry {} of {} shows {keys:?}",
            entry.sequence,
            entry.subject
        );
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
    j.entries = entries;
    Ok(())
}

/// Waits until a signed tree head covers the province's entries, then runs `pdop-verify` on the log: head
/// signature, consistency with the head it trusted before (when there is one), and inclusion of each entry.
pub async fn verified(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let last = j.entries.iter().map(|e| e.sequence).max().unwrap_or(0);
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
    for entry in &j.entries {
        command.arg("--entry").arg(entry.sequence.to_string());
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

/// The agency's annual disclosure of last year (N4), then the annual reports the log generates for the agency:
/// for each year holding entries of the walk it disclosed (plan, agreement, cap price, and where it evaluates, the
/// evaluation results), and for this year with the disclosure just published, the report must list each of
/// them under its kind.
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
    let mut listed: Vec<Entry> = agency_entries(j)?;
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
            listed.push(entry);
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
    let mut years: BTreeMap<i32, Vec<Entry>> = BTreeMap::new();
    for entry in listed {
        years.entry(published_year(&entry)?).or_default().push(entry);
    }
    for (year, entries) in years {
        report_lists(p, j, year, &entries).await?;
    }
    Ok(())
}

/// The province's entries the implementing agency disclosed; the walk gives it its plan, agreement and cap price.
fn agency_entries(j: &Province) -> anyhow::Result<Vec<Entry>> {
    let agency = j.agency();
    let entries: Vec<Entry> = j
        .entries
        .iter()
        .filter(|e| e.discloser.as_ref().is_some_and(|d| d.name == agency))
        .cloned()
        .collect();
    for kind in [
        EntryKind::ImplementationPlan,
        EntryKind::AgreementSigned,
        EntryKind::CapPrice,
    ] {
        anyhow::ensure!(
            entries.iter().any(|e| e.kind == kind as i32),
            "{agency} disclosed no {} entry of the walk",
            kind.as_str_name()
        );
    }
    Ok(entries)
}

/// The year in China an entry was published, which files it in that year's annual report.
fn published_year(entry: &Entry) -> anyhow::Result<i32> {
    let at = entry
        .publish_time
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .ok_or_else(|| anyhow::anyhow!("entry {} has no publish time", entry.sequence))?;
    Ok(china_date(at).year())
}

/// Waits until the agency's annual report of `year` lists each of `entries` under its kind (the report covers
/// what a signed tree head covers), and notes its counts.
async fn report_lists(p: &mut Platform, j: &Province, year: i32, entries: &[Entry]) -> anyhow::Result<()> {
    let url = format!(
        "{}/reports/{}/{year}.json",
        p.endpoints.public,
        j.org_id("agency")
    );
    let http = p.http.clone();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(serde_json::Value::Null));
    let last = seen.clone();
    // `make run`'s disclosure service signs a head a minute.
    let within = std::time::Duration::from_secs(150);
    let what = format!("the {year} annual report lists the agency's entries");
    let result = until_within(&what, within, || {
        let (http, url, last) = (http.clone(), url.clone(), last.clone());
        async move {
            let response = http.get(&url).send().await?;
            if !response.status().is_success() {
                return Ok(false);
            }
            let report: serde_json::Value = response.json().await?;
            let all = entries.iter().all(|e| lists(&report, e));
            *last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = report;
            Ok(all)
        }
    })
    .await;
    let report = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Err(err) = result {
        let missing: Vec<i64> = entries
            .iter()
            .filter(|e| !lists(&report, e))
            .map(|e| e.sequence)
            .collect();
        return Err(err.context(format!("{url} lacks entries {missing:?}")));
    }
    let kinds: Vec<String> = report["entriesByKind"]
        .as_object()
        .map(|by| {
            by.iter()
                .map(|(kind, list)| {
                    let n = list.as_array().map_or(0, Vec::len);
                    format!("{} {n}", kind.trim_start_matches("ENTRY_KIND_"))
                })
                .collect()
        })
        .unwrap_or_default();
    p.note(format!(
        "{}: annual report of {year}: {} entries ({}), the walk's {} among them — {url}",
        j.id,
        report["entryCount"].as_i64().unwrap_or(0),
        kinds.join(", "),
        entries.len()
    ));
    Ok(())
}

/// Whether a generated report lists `entry` under its kind.
fn lists(report: &serde_json::Value, entry: &Entry) -> bool {
    let kind = EntryKind::try_from(entry.kind).map_or("?", |k| k.as_str_name());
    report["entriesByKind"][kind]
        .as_array()
        .is_some_and(|listed| listed.iter().any(|l| l["entry"] == entry.name.as_str()))
}

/// Where `pdop-verify` keeps the head it trusts: one file per run.
pub fn verify_state_file(run: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pdop-verify-{run}.json"))
}

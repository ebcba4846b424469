//! Turns an event payload into the public parts of an entry: its structured fields, jurisdiction, discloser and
//! title. Payloads are read through their descriptors, so a new field of an event is published without code
//! changes; fields that may carry personal information (actors, identity numbers, contacts) are never published.
//! A route with a field allowlist publishes only the fields it lists (routes.rs).

use chrono::{DateTime, Utc};
use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::disclosure::v1::{EntryField, FieldValueType};
use prost_reflect::{DynamicMessage, Kind, ReflectMessage, Value};

/// Field names never published: the person acting is in the audit log only, and objectors and data subjects
/// are never disclosed (entry.proto `body`).
const PRIVATE: &[&str] = &[
    "actor",
    "identity",
    "id_number",
    "phone",
    "email",
    "contact",
    "objector",
];

/// Summary and snapshot messages whose fields read as the event's own (no key prefix).
fn is_wrapper(full_name: &str) -> bool {
    full_name.ends_with("Summary") || full_name.ends_with("Snapshot")
}

/// Labels of fields whose key alone is ambiguous, by their path of proto field names.
const PATH_LABELS: &[(&str, &str)] = &[
    ("evaluation.subject", "评价对象"),
    ("evaluation.subject.display_name", "评价对象名称"),
    ("evaluation.year", "评价年度"),
];

/// Flags published as words instead of `true` (REVIEW-EVALUATION §3.11: the rectification outcome).
const FLAGS: &[(&str, &str)] = &[
    ("rectification_pending", "整改中"),
    ("re_evaluation", "整改后再次评估"),
];

/// Enum values shown in Chinese in an entry's text and page; the field value stays the contract's value name
/// (entry.proto FIELD_VALUE_TYPE_ENUM). Grades: evaluation_enums.proto, S-YN Art.26.
const ENUM_TEXTS: &[(&str, &str)] = &[
    ("EVALUATION_GRADE_EXCELLENT", "优秀"),
    ("EVALUATION_GRADE_GOOD", "良好"),
    ("EVALUATION_GRADE_QUALIFIED", "合格"),
    ("EVALUATION_GRADE_UNQUALIFIED", "不合格"),
    ("EVALUATION_GRADE_PASS", "通过"),
    ("EVALUATION_GRADE_FAIL", "未通过"),
    ("EVALUATION_GRADE_RECTIFY", "限期整改"),
];

fn find<'a>(table: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// A field's value as the public reads it: an enum value in Chinese where known, else the value itself.
pub fn shown(field: &EntryField) -> &str {
    if field.value_type == FieldValueType::Enum as i32 {
        find(ENUM_TEXTS, &field.value).unwrap_or(&field.value)
    } else {
        &field.value
    }
}

fn label(path: &str, key: &str) -> String {
    if let Some(label) = find(PATH_LABELS, path) {
        return label.to_owned();
    }
    let known = [
        ("name", "资源名称"),
        ("display_name", "名称"),
        ("title", "标题"),
        ("jurisdiction", "辖区"),
        ("operator", "运营机构"),
        ("implementing_agency", "实施机构"),
        ("authorizing_entity", "授权主体"),
        ("registrant", "登记主体"),
        ("developer", "开发主体"),
        ("organization", "主体"),
        ("content_summary", "内容摘要"),
        ("notice_period", "公示期"),
        ("term", "期限"),
        ("validity", "有效期"),
        ("registration_code", "登记编号"),
        ("cap_amount", "上限收费标准"),
        ("amount", "收费标准"),
        ("unit_label", "计费单位"),
        ("billing_unit", "计费方式"),
        ("effective_period", "执行期"),
        ("use_class", "产品类别"),
        ("reason", "理由"),
        ("state", "状态"),
        ("grade", "评价结果"),
        ("rectification_pending", "整改情况"),
        ("re_evaluation", "整改情况"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| key.to_owned(), |(_, l)| (*l).to_owned())
}

#[derive(Default)]
pub struct Rendered {
    pub fields: Vec<EntryField>,
    pub jurisdiction: Option<JurisdictionRef>,
    pub display: Option<String>,
    /// The route's allowlist of field paths; `None`: every field but the private ones.
    allowed: Option<&'static [&'static str]>,
}

fn string_of(m: &DynamicMessage, field: &str) -> String {
    m.get_field_by_name(field)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn date_of(m: &DynamicMessage) -> String {
    let part = |f: &str| {
        m.get_field_by_name(f)
            .and_then(|v| v.as_i32())
            .unwrap_or_default()
    };
    format!("{:04}-{:02}-{:02}", part("year"), part("month"), part("day"))
}

/// A common value type as (text, type); `None` for messages to descend into.
fn common_value(m: &DynamicMessage) -> Option<(String, FieldValueType)> {
    let sub = |f: &str| {
        m.get_field_by_name(f)
            .and_then(|v| v.as_message().map(date_of))
            .unwrap_or_default()
    };
    Some(match m.descriptor().full_name() {
        "pdop.common.v1.Money" => (string_of(m, "amount"), FieldValueType::Money),
        "pdop.common.v1.Rate" => (string_of(m, "value"), FieldValueType::Rate),
        "pdop.common.v1.Decimal" => (string_of(m, "value"), FieldValueType::Decimal),
        "pdop.common.v1.Date" => (date_of(m), FieldValueType::Date),
        "pdop.common.v1.DateRange" => (
            format!("{}/{}", sub("start_date"), sub("end_date")),
            FieldValueType::DateRange,
        ),
        "pdop.common.v1.Deadline" => (sub("due_date"), FieldValueType::Date),
        "pdop.common.v1.DocumentRef" => (string_of(m, "uri"), FieldValueType::Url),
        "pdop.common.v1.OrganizationRef" | "pdop.common.v1.JurisdictionRef" => {
            (string_of(m, "name"), FieldValueType::ResourceName)
        }
        "google.protobuf.Timestamp" => {
            let secs = m
                .get_field_by_name("seconds")
                .and_then(|v| v.as_i64())
                .unwrap_or_default();
            let time = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
            (time.to_rfc3339(), FieldValueType::Text)
        }
        _ => return None,
    })
}

fn scalar(value: &Value, kind: &Kind) -> Option<(String, FieldValueType)> {
    Some(match value {
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
            (s.clone(), FieldValueType::Url)
        }
        Value::String(s) if looks_like_name(s) => (s.clone(), FieldValueType::ResourceName),
        Value::String(s) => (s.clone(), FieldValueType::Text),
        Value::Bool(b) => (b.to_string(), FieldValueType::Text),
        Value::I32(n) => (n.to_string(), FieldValueType::Decimal),
        Value::I64(n) => (n.to_string(), FieldValueType::Decimal),
        Value::U32(n) => (n.to_string(), FieldValueType::Decimal),
        Value::U64(n) => (n.to_string(), FieldValueType::Decimal),
        Value::EnumNumber(n) => {
            let name = match kind {
                Kind::Enum(e) => e.get_value(*n).map(|v| v.name().to_owned()),
                _ => None,
            };
            (name.unwrap_or_else(|| n.to_string()), FieldValueType::Enum)
        }
        _ => return None,
    })
}

/// `collection/id` with a lowerCamelCase collection, as pdop names resources.
fn looks_like_name(s: &str) -> bool {
    s.split_once('/').is_some_and(|(collection, id)| {
        !id.is_empty()
            && !collection.is_empty()
            && collection.chars().all(|c| c.is_ascii_alphabetic())
            && collection.starts_with(|c: char| c.is_ascii_lowercase())
    })
}

impl Rendered {
    /// Whether the field at `path` (proto field names joined by `.`) is published: it, or a message holding
    /// it, is on the allowlist. Messages on the way to an allowed field are walked but not published.
    fn allows(&self, path: &str) -> bool {
        self.allowed.is_none_or(|allowed| {
            allowed.iter().any(|a| {
                path.strip_prefix(a)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
        })
    }

    fn push(&mut self, path: &str, key: String, value: String, value_type: FieldValueType) {
        if value.is_empty() || !self.allows(path) || self.fields.iter().any(|f| f.key == key) {
            return;
        }
        self.fields.push(EntryField {
            label: label(path, &key),
            key,
            value,
            value_type: value_type as i32,
        });
    }

    /// Walks `m`; `prefix` begins the keys of its fields, `at` their paths.
    fn walk(&mut self, m: &DynamicMessage, prefix: &str, at: &str, depth: usize) {
        for (field, value) in m.fields() {
            let name = field.name();
            if PRIVATE.iter().any(|p| name.contains(p)) {
                continue;
            }
            let key = format!("{prefix}{name}");
            let path = format!("{at}{name}");
            if let (Value::Bool(true), Some(text)) = (value, find(FLAGS, name)) {
                self.push(&path, key, text.to_owned(), FieldValueType::Text);
                continue;
            }
            match value {
                Value::Message(inner) => self.message(&key, &path, inner, depth),
                Value::List(items) => {
                    let texts: Vec<String> = items
                        .iter()
                        .filter_map(|item| match item {
                            Value::Message(inner) => common_value(inner).map(|(t, _)| t),
                            other => scalar(other, &field.kind()).map(|(t, _)| t),
                        })
                        .collect();
                    self.push(&path, key, texts.join("、"), FieldValueType::Text);
                }
                other => {
                    if let Some((text, value_type)) = scalar(other, &field.kind()) {
                        if self.display.is_none()
                            && (name.ends_with("display_name") || name == "title")
                            && self.allows(&path)
                        {
                            self.display = Some(text.clone());
                        }
                        self.push(&path, key, text, value_type);
                    }
                }
            }
        }
    }

    fn message(&mut self, key: &str, path: &str, inner: &DynamicMessage, depth: usize) {
        let full_name = inner.descriptor().full_name().to_owned();
        // The entry's jurisdiction is where it is filed and whose authority may correct it, allowlisted or not.
        if full_name == "pdop.common.v1.JurisdictionRef" && self.jurisdiction.is_none() {
            self.jurisdiction = inner.transcode_to::<JurisdictionRef>().ok();
        }
        if let Some((text, value_type)) = common_value(inner) {
            self.push(path, key.to_owned(), text, value_type);
            let display = string_of(inner, "display_name");
            if !display.is_empty() {
                self.push(
                    &format!("{path}.display_name"),
                    format!("{key}_display_name"),
                    display,
                    FieldValueType::Text,
                );
            }
        } else if depth < 3 {
            let prefix = if depth == 0 && is_wrapper(&full_name) {
                String::new()
            } else {
                format!("{key}_")
            };
            self.walk(inner, &prefix, &format!("{path}."), depth + 1);
        }
    }
}

/// The public fields of a payload (only those at `allowed` paths when given), its jurisdiction and a display
/// name for the title.
pub fn render(payload: &DynamicMessage, allowed: Option<&'static [&'static str]>) -> Rendered {
    let mut rendered = Rendered {
        allowed,
        ..Rendered::default()
    };
    rendered.walk(payload, "", "", 0);
    rendered
}

/// The first organization found under one of `names` (depth-first), as a reference.
pub fn organization(payload: &DynamicMessage, names: &[&str]) -> Option<OrganizationRef> {
    names.iter().find_map(|name| find_org(payload, name, 0))
}

fn find_org(m: &DynamicMessage, wanted: &str, depth: usize) -> Option<OrganizationRef> {
    if depth > 3 {
        return None;
    }
    for (field, value) in m.fields() {
        match value {
            Value::Message(inner) if field.name() == wanted => {
                if let Ok(org) = inner.transcode_to::<OrganizationRef>() {
                    return Some(org);
                }
            }
            Value::String(s) if field.name() == wanted && s.starts_with("organizations/") => {
                return Some(OrganizationRef {
                    name: s.clone(),
                    ..Default::default()
                });
            }
            _ => {}
        }
    }
    m.fields().find_map(|(_, value)| match value {
        Value::Message(inner) => find_org(inner, wanted, depth + 1),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdop_proto::common::{Actor, Money};
    use pdop_proto::pricing::events::v1::{CapPricePublished, CapPriceSnapshot};
    use prost::Message;

    fn dynamic(message: &impl Message, full_name: &str) -> DynamicMessage {
        let descriptor = crate::leaf::pool()
            .get_message_by_name(full_name)
            .unwrap_or_else(|| panic!("{full_name}"));
        DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_cap_price_renders_its_public_fields_and_never_the_actor() {
        let event = CapPricePublished {
            cap_price: Some(CapPriceSnapshot {
                name: "capPrices/c1".into(),
                product_display_name: "企业信用画像接口".into(),
                cap_amount: Some(Money {
                    amount: "1.50".into(),
                    currency: "CNY".into(),
                }),
                authorizing_entity: Some(OrganizationRef {
                    name: "organizations/agency".into(),
                    display_name: "某市数据局".into(),
                    ..Default::default()
                }),
                jurisdiction: Some(JurisdictionRef {
                    name: "jurisdictions/yunnan".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            actor: Some(Actor {
                subject: "staff-42".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let payload = dynamic(&event, "pdop.pricing.events.v1.CapPricePublished");
        let rendered = render(&payload, None);
        let field = |key: &str| {
            rendered
                .fields
                .iter()
                .find(|f| f.key == key)
                .map(|f| f.value.clone())
        };
        assert_eq!(field("name").as_deref(), Some("capPrices/c1"));
        assert_eq!(field("cap_amount").as_deref(), Some("1.50"));
        assert_eq!(
            field("authorizing_entity_display_name").as_deref(),
            Some("某市数据局")
        );
        assert!(rendered.fields.iter().all(|f| !f.value.contains("staff-42")));
        assert_eq!(
            rendered.jurisdiction.map(|j| j.name).as_deref(),
            Some("jurisdictions/yunnan")
        );
        assert_eq!(
            organization(&payload, &["authorizing_entity"])
                .map(|o| o.name)
                .as_deref(),
            Some("organizations/agency")
        );
    }

    // evaluation_enums.proto, S-YN Art.26: every grade is shown in Chinese (通过 / 未通过 / 限期整改, and the
    // four-level 优秀 / 良好 / 合格 / 不合格), so no grade reaches the public as a contract name.
    #[test]
    fn every_evaluation_grade_is_shown_in_chinese() {
        let grades = crate::leaf::pool()
            .get_enum_by_name("pdop.evaluation.v1.EvaluationGrade")
            .expect("EvaluationGrade");
        for value in grades.values().filter(|v| v.number() != 0) {
            let field = EntryField {
                value: value.name().to_owned(),
                value_type: FieldValueType::Enum as i32,
                ..Default::default()
            };
            assert!(
                shown(&field).chars().all(|c| !c.is_ascii()),
                "{} is shown as {}",
                value.name(),
                shown(&field)
            );
        }
    }
}

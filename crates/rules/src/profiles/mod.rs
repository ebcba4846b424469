//! Jurisdiction rule profiles: term caps, filing and review deadlines, retention periods,
//! evaluation grades and pricing parameters, each with the provision it comes from.
//!
//! Profiles are data (`profiles/*.toml`), embedded in the crate and also loadable from a
//! directory, so operators can correct or add a jurisdiction without a release. A profile names
//! its parent with `extends` and lists only what it changes; settings are replaced whole, so a
//! list in a child replaces the parent's list rather than appending to it. A child restates a
//! parent's value when its own text states the rule, so the citation points at the binding text;
//! lists that a seed copies word for word from the national text are inherited instead.

mod evaluation;
mod model;
mod review;
#[cfg(test)]
mod tests;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use self::evaluation::{
    DimensionRule, EvaluationRules, ReportContent, ReportRules, SubjectKind, SubjectRule, SuspensionGround,
};
pub use self::model::{
    AgreementRules, DataRules, DeveloperRules, DisclosureRules, PlanRules, PricingRules, Profile,
    RegistrationRules, RetentionRules,
};
pub use self::review::{
    AdmissionMaterialKind, AdmissionRules, AppealRules, AppealSubjectKind, CallerRole, ComplianceCheckKind,
    DataCheckRules, DataUseReviewRules, OrgRole, PanelSeat, ProductReviewRules, ReviewCriterion, ReviewRules,
    ReviewerRole, ScenarioFlow, ScenarioReviewRules, SeatSource,
};
pub use self::values::{
    AnnualReportDue, Cadence, DecimalString, EvaluationGrade, ListItem, MonthDay, RegistrationPrecondition,
    Sourced, TaxModel,
};

/// The profiles shipped with the crate, as (file name, content).
const BUILTIN_PROFILES: [(&str, &str); 6] = [
    ("national.toml", include_str!("../../profiles/national.toml")),
    ("henan.toml", include_str!("../../profiles/henan.toml")),
    ("hubei.toml", include_str!("../../profiles/hubei.toml")),
    ("yunnan.toml", include_str!("../../profiles/yunnan.toml")),
    ("laiyuan.toml", include_str!("../../profiles/laiyuan.toml")),
    ("zhengzhou.toml", include_str!("../../profiles/zhengzhou.toml")),
];

/// The error returned when profiles cannot be read, parsed or resolved.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// Path of the file or directory.
        path: PathBuf,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A directory holds no `.toml` files.
    #[error("no profile files (*.toml) in {}", path.display())]
    NoProfiles {
        /// Path of the directory.
        path: PathBuf,
    },
    /// A file is not a valid profile: bad TOML, an unknown key, a wrong type or a missing source.
    #[error("profile file {file}: {error}")]
    Parse {
        /// File name.
        file: String,
        /// What the TOML parser reported, including the line and the key.
        error: toml::de::Error,
    },
    /// A file name is not `<id>.toml` for the id inside it.
    #[error("profile file {file}: id {id:?} does not match the file name")]
    IdMismatch {
        /// File name.
        file: String,
        /// The id inside the file.
        id: String,
    },
    /// Two files declare the same id.
    #[error("profile {id:?} is defined twice")]
    Duplicate {
        /// The repeated id.
        id: String,
    },
    /// A profile extends one that does not exist.
    #[error("profile file {file}: extends unknown profile {extends:?}")]
    UnknownParent {
        /// File name.
        file: String,
        /// The missing parent id.
        extends: String,
    },
    /// Profiles extend each other in a loop.
    #[error("profiles extend each other in a cycle: {}", chain.join(" -> "))]
    Cycle {
        /// The ids along the loop, ending with the repeated one.
        chain: Vec<String>,
    },
    /// The merged settings of a profile and its ancestors do not form a valid profile.
    #[error("profile {id:?} after inheritance: {error}")]
    Resolve {
        /// Profile id.
        id: String,
        /// What the deserializer reported.
        error: toml::de::Error,
    },
}

/// A set of resolved profiles, keyed by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Profiles {
    // Shared: handlers hold a profile for a request without copying its tables.
    by_id: BTreeMap<String, std::sync::Arc<Profile>>,
}

/// One profile file as written, before inheritance.
struct Layer {
    file: String,
    extends: Option<String>,
    table: toml::Table,
}

// === impl Profiles ===

impl Profiles {
    /// Returns the profiles embedded in the crate: national, henan, hubei, yunnan, laiyuan and
    /// zhengzhou.
    pub fn builtin() -> Self {
        // The embedded files are fixed at compile time and `builtin_profiles_load` checks them, so
        // a failure here is a build defect rather than a runtime condition.
        Self::from_files(BUILTIN_PROFILES).expect("the embedded profiles are valid")
    }

    /// Loads every `*.toml` file of `dir` as a profile; other files are ignored.
    /// The profiles of `dir` when one is configured, else the built-in ones.
    pub fn configured(dir: Option<&Path>) -> Result<Self, ProfileError> {
        dir.map_or_else(|| Ok(Self::builtin()), Self::load_dir)
    }

    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, ProfileError> {
        let dir = dir.as_ref();
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| ProfileError::Io { path, source }
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
            let path = entry.map_err(io_error(dir))?.path();
            if path.extension().is_some_and(|extension| extension == "toml") {
                paths.push(path);
            }
        }
        if paths.is_empty() {
            return Err(ProfileError::NoProfiles { path: dir.to_owned() });
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, text));
        }
        Self::from_files(files.iter().map(|(name, text)| (name.as_str(), text.as_str())))
    }

    /// Parses profiles from `(file name, TOML text)` pairs and resolves their inheritance. Each
    /// file name must be `<id>.toml`.
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ProfileError> {
        let mut layers = BTreeMap::new();
        for (file, text) in files {
            let (id, layer) = parse_layer(file, text)?;
            if layers.insert(id.clone(), layer).is_some() {
                return Err(ProfileError::Duplicate { id });
            }
        }
        let mut by_id = BTreeMap::new();
        for (id, layer) in &layers {
            let merged = merged_table(id, layer, &layers, &mut Vec::new())?;
            let profile = toml::Value::Table(merged)
                .try_into::<Profile>()
                .map_err(|error| ProfileError::Resolve {
                    id: id.clone(),
                    error,
                })?;
            by_id.insert(id.clone(), std::sync::Arc::new(profile));
        }
        Ok(Self { by_id })
    }

    /// Returns the resolved profile with `id`.
    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.by_id.get(id).map(|p| &**p)
    }

    /// The profile `id`, shared (a reference count, not a copy).
    pub fn shared(&self, id: &str) -> Option<std::sync::Arc<Profile>> {
        self.by_id.get(id).cloned()
    }

    /// Returns the profile ids in alphabetical order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }

    /// Returns the resolved profiles in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.by_id.values().map(|p| &**p)
    }
}

/// Parses one file on its own, so errors name the file and the line, and returns its id.
fn parse_layer(file: &str, text: &str) -> Result<(String, Layer), ProfileError> {
    let parse_error = |error| ProfileError::Parse {
        file: file.to_owned(),
        error,
    };
    // The typed parse checks keys, types and sources of this file alone; inheritance is merged on
    // the untyped table afterwards.
    let profile: Profile = toml::from_str(text).map_err(parse_error)?;
    let table: toml::Table = toml::from_str(text).map_err(parse_error)?;
    if file.strip_suffix(".toml") != Some(profile.id.as_str()) {
        return Err(ProfileError::IdMismatch {
            file: file.to_owned(),
            id: profile.id,
        });
    }
    let layer = Layer {
        file: file.to_owned(),
        extends: profile.extends,
        table,
    };
    Ok((profile.id, layer))
}

/// Returns the table of `layer` (with id `id`) written over the merged tables of its ancestors.
fn merged_table(
    id: &str,
    layer: &Layer,
    layers: &BTreeMap<String, Layer>,
    visiting: &mut Vec<String>,
) -> Result<toml::Table, ProfileError> {
    let Some(parent_id) = &layer.extends else {
        return Ok(layer.table.clone());
    };
    let Some(parent) = layers.get(parent_id) else {
        return Err(ProfileError::UnknownParent {
            file: layer.file.clone(),
            extends: parent_id.clone(),
        });
    };
    visiting.push(id.to_owned());
    if visiting.contains(parent_id) {
        let mut chain = std::mem::take(visiting);
        chain.push(parent_id.clone());
        return Err(ProfileError::Cycle { chain });
    }
    let mut merged = merged_table(parent_id, parent, layers, visiting)?;
    visiting.pop();
    overlay(&mut merged, layer.table.clone());
    Ok(merged)
}

/// Writes `top` over `base`: sections merge key by key, settings and scalars replace whole.
fn overlay(base: &mut toml::Table, top: toml::Table) {
    for (key, top_value) in top {
        match (base.get_mut(&key), top_value) {
            (Some(toml::Value::Table(base_section)), toml::Value::Table(top_section))
                if !is_setting(&top_section) =>
            {
                overlay(base_section, top_section);
            }
            (_, top_value) => {
                base.insert(key, top_value);
            }
        }
    }
}

/// Returns whether a table is a setting (`{ value, source }` or `{ source }`) rather than a section.
fn is_setting(table: &toml::Table) -> bool {
    table.contains_key("source")
}
